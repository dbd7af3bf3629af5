"""Residual-PII estimate: the project's PII detectors over a seeded sample of snapshot texts.

The sample is chosen by a query (``ORDER BY md5(record_id || ':' || seed) LIMIT n``), so anyone
can draw the same records again; the detectors are :class:`tamis.pii.PiiEngine` in a given mode.
A span found in a text that the build already redacted is *residual*: either a type the policy
does not redact, or a miss of the redaction stage. Rates carry a 95% Wilson interval.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import duckdb

DEFAULT_SAMPLE = 1000
DEFAULT_SEED = 0
DEFAULT_MODE = "fast"


def sample_sql(n: int, seed: int) -> str:
    """The query that draws the sample from the ``records`` view."""
    return (
        "SELECT record_id, lang, text FROM records "
        f"ORDER BY md5(record_id || ':{int(seed)}'), record_id LIMIT {int(n)}"  # nosec B608  # constant names, quoted literals
    )


@dataclass(frozen=True)
class ResidualEstimate:
    """What the detectors found in the sample."""

    available: bool
    reason: str = ""
    mode: str = DEFAULT_MODE
    sample: int = 0
    seed: int = DEFAULT_SEED
    spans_by_type: dict[str, int] = field(default_factory=dict)
    texts_by_type: dict[str, int] = field(default_factory=dict)
    texts_with_redacted_type: int = 0
    redacted_types: tuple[str, ...] = ()

    @property
    def rate(self) -> float | None:
        """Share of sampled texts with a finding of a type the policy redacts."""
        if not self.sample:
            return None
        return self.texts_with_redacted_type / self.sample

    def wilson(self, z: float = 1.96) -> tuple[float, float] | None:
        """95% Wilson score interval of :attr:`rate`."""
        n = self.sample
        if not n:
            return None
        p = self.texts_with_redacted_type / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
        return max(0.0, centre - half), min(1.0, centre + half)


def _engine(mode: str) -> Any:
    from tamis.pii import PiiEngine

    return PiiEngine.for_mode(mode)


def redacted_types(stages: list[dict[str, Any]]) -> tuple[str, ...]:
    """Entity types the snapshot's redaction stages look for (from the manifest's stages)."""
    out: dict[str, None] = {}
    for stage in stages:
        if str(stage.get("name", "")).startswith("pii.redact"):
            mode = str(stage.get("options", {}).get("mode", "contact"))
            for t in _engine(mode).types:
                out[t] = None
    return tuple(out)


def estimate_residual_pii(
    con: duckdb.DuckDBPyConnection,
    stages: list[dict[str, Any]],
    *,
    sample: int = DEFAULT_SAMPLE,
    seed: int = DEFAULT_SEED,
    mode: str = DEFAULT_MODE,
) -> ResidualEstimate:
    """Run the detectors over the sample drawn by :func:`sample_sql` from ``con``'s ``records``.

    Returns ``available=False`` (with the reason) when the PII engine cannot be imported.
    """
    try:
        engine = _engine(mode)
        redacted = redacted_types(stages)
    except ImportError as exc:
        return ResidualEstimate(False, f"the PII engine is unavailable ({exc})", mode)
    rows = con.sql(sample_sql(sample, seed)).fetchall()
    texts = [r[2] for r in rows]
    langs = [r[1] for r in rows]
    spans_by_type: Counter[str] = Counter()
    texts_by_type: Counter[str] = Counter()
    with_redacted = 0
    for spans in engine.analyze_many(texts, langs):
        types = {s.type for s in spans}
        spans_by_type.update(s.type for s in spans)
        texts_by_type.update(types)
        if types & set(redacted):
            with_redacted += 1
    return ResidualEstimate(
        True,
        "",
        mode,
        len(rows),
        seed,
        dict(sorted(spans_by_type.items())),
        dict(sorted(texts_by_type.items())),
        with_redacted,
        redacted,
    )
