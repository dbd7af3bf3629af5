"""Spans: what a detector found, as offsets into the text, never the text itself.

A :class:`Span` says *where* an entity is (``start``/``end``, end exclusive, in code points of the
analysed string), *what* it is (``type``, Presidio-style names such as ``EMAIL_ADDRESS``), *how
sure* the detector is (``score`` in [0, 1]) and *who* said so (``detector``, a registered name),
with an optional human-readable ``explanation``. Keeping the text out of spans means results can be
logged, counted and compared without copying personal data around.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

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


class _SpanFields(NamedTuple):
    start: int
    end: int
    type: str
    score: float
    detector: str
    explanation: str | None = None


class Span(_SpanFields):
    """One detected entity: ``text[start:end]`` is a ``type`` according to ``detector``.

    Validated on construction: offsets must be a non-empty, non-negative range and the score must
    lie in [0, 1], so a buggy detector fails loudly instead of corrupting redaction.

    An immutable named tuple (ordered by start, end, type, score, detector): a batch of posts
    makes tens of thousands of spans, and a tuple is built three times faster than a frozen
    dataclass.
    """

    __slots__ = ()

    def __new__(
        cls,
        start: int,
        end: int,
        type: str,
        score: float,
        detector: str,
        explanation: str | None = None,
    ) -> Span:
        if not 0 <= start < end:
            raise ValueError(f"span [{start}, {end}) is empty or negative")
        if not 0.0 <= score <= 1.0:
            raise ValueError(f"span score {score} is outside [0, 1]")
        return tuple.__new__(cls, (start, end, type, score, detector, explanation))

    def shifted(self, offset: int) -> Span:
        """The same span moved by ``offset`` code points (used to map joined-batch offsets)."""
        return tuple.__new__(Span, (self[0] + offset, self[1] + offset, *self[2:]))

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


def resolve_overlaps(
    spans: Iterable[Span], priority: dict[str, int] | None = None, text: str | None = None
) -> list[Span]:
    """Non-overlapping spans, in text order, that leave in clear nothing a detector found.

    Where spans overlap, the best keeps its whole extent and each other one keeps only what lies
    outside the better ones (one or two pieces, or none), never less: a street address whose
    street name a person detector scored higher is not dropped with its number left in clear
    ("31 Rue " + PERSON), its number stays an address. With ``text``, a piece is trimmed of
    the white space at its ends and dropped when no letter or digit is left in it (so that
    redaction does not eat the space between two replacements).

    Best = higher score, then higher type priority (e.g. a validated IBAN beats a phone read inside
    it), then longer, then earlier, then detector name: a total order, so the result never depends
    on the order detectors ran in.
    """
    spans = list(spans)
    if len(spans) < 2:
        return spans
    by_start = sorted(spans)
    end = -1
    for span in by_start:
        if span[0] < end:
            break
        end = span[1]
    else:
        return by_start  # nothing overlaps: the common case
    prio = priority or {}
    ranked = sorted(
        spans,
        key=lambda s: (-s[3], -prio.get(s[2], 0), s[0] - s[1], s[0], s[2], s[4]),
    )
    kept: list[Span] = []
    for span in ranked:
        pieces = [(span[0], span[1])]
        for k in kept:
            pieces = [
                piece
                for a, b in pieces
                for piece in (
                    ((a, min(b, k[0])), (max(a, k[1]), b)) if a < k[1] and k[0] < b else ((a, b),)
                )
                if piece[0] < piece[1]
            ]
            if not pieces:
                break
        for a, b in pieces:
            if (a, b) == (span[0], span[1]):
                kept.append(span)
                continue
            if text is not None:
                while a < b and text[a].isspace():
                    a += 1
                while a < b and text[b - 1].isspace():
                    b -= 1
                if not any(c.isalnum() for c in text[a:b]):
                    continue
            kept.append(Span(a, b, *span[2:]))
    kept.sort()
    return kept
