"""The synthetic platform: a deterministic, consent-aware member-data export with ground truth.

``generate_platform(out, members=..., seed=...)`` writes an export directory in the data contract's
format (``members``, ``content``, ``technical_events``, ``consent_events``) plus ``_truth/``,
what was inserted on purpose, so that benchmarks can measure recall and consent readers can be
checked rule by rule:

- ``_truth/mentions.jsonl``: per content record with member mentions or personal data, the
  spans inserted (``type`` in :data:`MENTION_TYPES`, ``value``, ``start``/``end`` in code points,
  and for member mentions ``member_id`` and ``form``: full, last, first, handle or profile);
- ``_truth/consent_edge_cases.jsonl``: per member with consent events, the rule it exercises
  (``label`` in :data:`CONSENT_EDGE_CASE_LABELS`) and the value a correct reader finds at
  :data:`CONSENT_CUTOFF` (``allow``, ``object``, ``default``, ``invalid``, ``unknown_member``);
- ``_truth/duplicates.jsonl``: deliberate reposts (``exact`` or ``near``) of an earlier post;
- ``_truth/sensitive.jsonl``: records about health, trade unions, religion or politics;
- ``_truth/synth.json``: the parameters, seed and counts.

With ``consent_in_export=False`` the consent events are written to
``_consent/consent_events.jsonl`` instead of the ``consent_events`` table: they stand for what a
consent registry would import. Folders whose name starts with ``_`` are not export tables;
readers ignore them.

Same seed and parameters, same bytes: every batch has its own RNG streams derived from the seed,
whichever process makes it (large runs use worker processes; ``TAMIS_SYNTH_WORKERS=1`` keeps
everything in the calling process).
"""

from tamis.synth._consent import LABELS as _LABELS
from tamis.synth._consent import UNKNOWN_MEMBER_LABEL as _UNKNOWN_MEMBER
from tamis.synth._texts import MENTION_TYPES, SENSITIVE_TOPICS
from tamis.synth._world import CONSENT_CUTOFF, MAIN_START, OTHER_START
from tamis.synth.generator import SynthSummary, generate_platform

CONSENT_EDGE_CASE_LABELS: tuple[str, ...] = (*_LABELS, _UNKNOWN_MEMBER)
"""Every consent rule label (the JSONL-only malformed ones do not occur in Parquet)."""

__all__ = [
    "CONSENT_CUTOFF",
    "CONSENT_EDGE_CASE_LABELS",
    "MAIN_START",
    "MENTION_TYPES",
    "OTHER_START",
    "SENSITIVE_TOPICS",
    "SynthSummary",
    "generate_platform",
]
