"""How many copies of each detected PII string remain in a snapshot (the repetition report).

Duplication drives memorisation (Kandpal et al. 2022): a string a model saw ten times is far more
likely to come back out than one it saw once. After redaction and deduplication, this report says
how often the personal data that is still detectable repeats. It never contains the strings:
values are normalised per type and only their counts are kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import pyarrow as pa

from tamis.pii.anonymizers import normalise
from tamis.pii.spans import Span


class SpanFinder(Protocol):
    """What :func:`pii_copies` needs from a detector: a :class:`~tamis.pii.PiiEngine` fits."""

    def analyze_many(
        self, texts: Sequence[str | None], langs: Sequence[str | None] | None = None
    ) -> list[list[Span]]: ...


def _bucket(copies: int) -> str:
    """Power-of-two buckets: 1, 2, 3-4, 5-8, 9-16, ..."""
    if copies <= 2:
        return str(copies)
    hi = 1 << (copies - 1).bit_length()
    return f"{hi // 2 + 1}-{hi}"


def pii_values(
    texts: Sequence[str | None],
    detector: SpanFinder,
    langs: Sequence[str | None] | None = None,
) -> list[tuple[str, str]]:
    """``(type, normalised value)`` of every PII string detected in ``texts``, in text order."""
    out: list[tuple[str, str]] = []
    for text, spans in zip(texts, detector.analyze_many(texts, langs), strict=True):
        for span in spans:
            value = (text or "")[span.start : span.end]
            out.append((span.type, normalise(span.type, value)))
    return out


def copies_report(strings_by_copies: Iterable[tuple[str, int, int]]) -> dict[str, Any]:
    """The report of :func:`pii_copies` from ``(type, copies, strings)`` rows: how many distinct
    strings of each type occur exactly ``copies`` times (a row may repeat a key: it adds up).
    The Spark engine counts these rows with a shuffle and calls this on the driver."""
    strings: Counter[tuple[str, int]] = Counter()
    for typ, copies, n in strings_by_copies:
        strings[(typ, int(copies))] += int(n)
    distribution: Counter[str] = Counter()
    by_type: dict[str, dict[str, int]] = {}
    for (typ, copies), n in strings.items():
        distribution[_bucket(copies)] += n
        entry = by_type.setdefault(typ, {"strings": 0, "max_copies": 0})
        entry["strings"] += n
        entry["max_copies"] = max(entry["max_copies"], copies)

    def order(key: str) -> int:
        return int(key.split("-")[0])

    return {
        "strings": sum(strings.values()),
        "occurrences": sum(copies * n for (_t, copies), n in strings.items()),
        "max_copies": max((copies for _t, copies in strings), default=0),
        "distribution": {k: distribution[k] for k in sorted(distribution, key=order)},
        "by_type": dict(sorted(by_type.items())),
    }


def pii_copies(batches: Iterable[pa.RecordBatch], detector: SpanFinder) -> dict[str, Any]:
    """Copies of every distinct detected PII string, summarised (never the strings).

    Returns ``{"strings": distinct values, "occurrences": total, "max_copies": m,
    "distribution": {"1": n1, "2": n2, "3-4": ..., ...},
    "by_type": {TYPE: {"strings", "max_copies"}}}``
    where a value's copies are the number of times it occurs in the snapshot's texts.
    """
    counts: Counter[tuple[str, str]] = Counter()
    for batch in batches:
        texts = batch.column(batch.schema.get_field_index("text")).to_pylist()
        li = batch.schema.get_field_index("lang")
        langs = batch.column(li).to_pylist() if li >= 0 else None
        counts.update(pii_values(texts, detector, langs))
    per_copies = Counter((typ, c) for (typ, _value), c in counts.items())
    return copies_report((typ, c, n) for (typ, c), n in per_copies.items())
