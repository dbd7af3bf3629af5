"""Spans: what a detector found, as offsets into the text, never the text itself.

A :class:`Span` says *where* an entity is (``start``/``end``, end exclusive, in code points of the
analysed string), *what* it is (``type``, Presidio-style names such as ``EMAIL_ADDRESS``), *how
sure* the detector is (``score`` in [0, 1]) and *who* said so (``detector``, a registered name),
with an optional human-readable ``explanation``. Keeping the text out of spans means results can be
logged, counted and compared without copying personal data around.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

# Entity types (Presidio spelling where Presidio has one, so results compare 1:1).
EMAIL = "EMAIL_ADDRESS"
PHONE = "PHONE_NUMBER"
IBAN = "IBAN_CODE"
CARD = "CREDIT_CARD"
FR_NIR = "FR_NIR"
US_SSN = "US_SSN"
IP = "IP_ADDRESS"
URL = "URL"
HANDLE = "PROFILE_HANDLE"
ADDRESS = "STREET_ADDRESS"
DOB = "DATE_OF_BIRTH"
PERSON = "PERSON"

ENTITY_TYPES: tuple[str, ...] = (
    EMAIL,
    PHONE,
    IBAN,
    CARD,
    FR_NIR,
    US_SSN,
    IP,
    URL,
    HANDLE,
    ADDRESS,
    DOB,
    PERSON,
)


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """One detected entity: ``text[start:end]`` is a ``type`` according to ``detector``.

    Validated on construction: offsets must be a non-empty, non-negative range and the score must
    lie in [0, 1], so a buggy detector fails loudly instead of corrupting redaction.
    """

    start: int
    end: int
    type: str
    score: float
    detector: str
    explanation: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError(f"span [{self.start}, {self.end}) is empty or negative")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"span score {self.score} is outside [0, 1]")

    def shifted(self, offset: int) -> Span:
        """The same span moved by ``offset`` code points (used to map joined-batch offsets)."""
        return Span(
            self.start + offset,
            self.end + offset,
            self.type,
            self.score,
            self.detector,
            self.explanation,
        )

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "type": self.type,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 4),
            "detector": self.detector,
        }
        if self.explanation:
            out["explanation"] = self.explanation
        return out


def resolve_overlaps(spans: Iterable[Span], priority: dict[str, int] | None = None) -> list[Span]:
    """Keep a non-overlapping subset of ``spans``, best first, returned in text order.

    Best = higher score, then higher type priority (e.g. a validated IBAN beats a phone read inside
    it), then longer, then earlier, then detector name: a total order, so the result never depends
    on the order detectors ran in.
    """
    spans = list(spans)
    if len(spans) < 2:
        return spans
    by_start = sorted(spans)
    if all(a.end <= b.start for a, b in pairwise(by_start)):
        return by_start  # nothing overlaps: the common case
    prio = priority or {}
    ranked = sorted(
        spans,
        key=lambda s: (
            -s.score,
            -prio.get(s.type, 0),
            -(s.end - s.start),
            s.start,
            s.type,
            s.detector,
        ),
    )
    kept: list[Span] = []
    for span in ranked:
        if not any(span.overlaps(k) for k in kept):
            kept.append(span)
    kept.sort()
    return kept
