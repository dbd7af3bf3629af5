"""PII and sensitive-data engine for French and English member content.

Detectors return spans (type, offsets, score, detector, explanation), never the text;
anonymizers decide replacements deterministically; both are registered by versioned name::

    from tamis.pii import PiiEngine, anonymizers, apply
    engine = PiiEngine.for_mode("fast", directory=MemberDirectory.from_export(path))
    spans = engine.analyze("Merci à Jeanne Martin, 06 12 34 56 78")
    text = apply(original, spans, anonymizers.get("pseudonym.v1")(key=key))

The pipeline adapter is ``tamis.pipeline.pii_stage`` (stage ``pii.redact.v1``).
"""

from __future__ import annotations

from tamis.pii.anonymizers import Anonymizer, anonymizers, apply, normalise
from tamis.pii.base import Detector, PatternDetector, detectors
from tamis.pii.directory import MemberDirectory
from tamis.pii.engine import MODES, PiiEngine
from tamis.pii.sensitive import CATEGORIES, SensitiveClassifier
from tamis.pii.spans import ENTITY_TYPES, Span, resolve_overlaps

__all__ = [
    "CATEGORIES",
    "ENTITY_TYPES",
    "MODES",
    "Anonymizer",
    "Detector",
    "MemberDirectory",
    "PatternDetector",
    "PiiEngine",
    "SensitiveClassifier",
    "Span",
    "anonymizers",
    "apply",
    "detectors",
    "normalise",
    "resolve_overlaps",
]
