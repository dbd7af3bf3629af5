"""The detector contract and the detector registry.

A detector is a small object with an ``id`` (its registered name), the entity ``types`` it can
produce, an optional ``prefilter`` (a regular expression that any text containing one of its
entities must match, used to skip whole rows cheaply) and one method, :meth:`Detector.detect`.

Detectors are registered by versioned name in :data:`detectors`; a factory takes keyword options
(e.g. the member directory) and returns a detector. ``detectors.get("nope.v1")`` raises an error
that lists the available names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from tamis.pii.spans import Span
from tamis.registry import Registry


@runtime_checkable
class Detector(Protocol):
    """Finds entities in a text; returns spans, never the matched text."""

    id: str
    types: tuple[str, ...]
    prefilter: str | None

    def detect(self, text: str, lang: str | None = None) -> list[Span]: ...


class DetectorFactory(Protocol):
    def __call__(self, **options: object) -> Detector: ...


detectors: Registry[DetectorFactory] = Registry("PII detector")

Validator = Callable[[str], float | None]
"""Returns a score for a candidate's text (or ``None`` to reject it)."""


@dataclass
class PatternDetector:
    """A detector that is mostly data: one compiled pattern plus a validator.

    ``pattern`` is compiled on construction (a bad pattern fails at import, not mid-build). The
    validator receives the candidate string and returns the score, or ``None`` to reject it;
    ``group`` names the regex group that holds the entity when the pattern also matches context.
    Context words near the candidate (``context``, within ``context_window`` characters before it)
    raise a weak candidate's score by ``context_boost``.
    """

    id: str
    type: str
    pattern: str
    validator: Validator | None = None
    score: float = 0.8
    prefilter: str | None = None
    flags: int = 0
    group: int | str = 0
    context: tuple[str, ...] = ()
    context_window: int = 40
    context_boost: float = 0.0
    min_score: float = 0.0
    explanation: str | None = None
    types: tuple[str, ...] = field(init=False)
    _rx: re.Pattern[str] = field(init=False, repr=False)
    _ctx: re.Pattern[str] | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.types = (self.type,)
        self._rx = re.compile(self.pattern, self.flags)
        self._ctx = (
            re.compile(r"(?i)(?<!\w)(?:" + "|".join(self.context) + r")(?!\w)")
            if self.context
            else None
        )

    def detect(self, text: str, lang: str | None = None) -> list[Span]:
        out: list[Span] = []
        for m in self._rx.finditer(text):
            start, end = m.span(self.group)
            if start < 0 or start == end:
                continue
            score = self.score
            if self.validator is not None:
                validated = self.validator(m.group(self.group))
                if validated is None:
                    continue
                score = validated
            window = max(0, start - self.context_window)
            if (
                self._ctx is not None
                and self.context_boost
                and self._ctx.search(text, window, start)
            ):
                score = min(1.0, score + self.context_boost)
            if score < self.min_score:
                continue
            out.append(Span(start, end, self.type, score, self.id, self.explanation))
        return out


def anchored_matches(
    pattern: re.Pattern[str],
    anchor: re.Pattern[str],
    text: str,
    back: frozenset[str],
    max_back: int,
) -> list[re.Match[str]]:
    """The matches ``pattern.finditer(text)`` would give, found from a cheap ``anchor`` instead.

    ``anchor`` finds a literal that every match holds (the dots of an IPv4, the colons of an
    IPv6), so the scan jumps between candidates in C; from each anchor, the match start is
    found by walking back over up to ``max_back`` characters of ``back``, and ``pattern`` (which
    must refuse to start right after such a character) is matched there. Matches do not overlap.
    """
    out: list[re.Match[str]] = []
    last = -1
    match = pattern.match
    for a in anchor.finditer(text):
        pos = a.start()
        if pos < last:
            continue
        start = pos
        floor = max(0, pos - max_back, last)
        while start > floor and text[start - 1] in back:
            start -= 1
        m = match(text, start)
        if m is not None:
            out.append(m)
            last = m.end()
    return out


def register_instance(name: str, build: Callable[[], Detector]) -> None:
    """Register a detector that takes no options (the factory ignores them)."""

    def factory(**options: object) -> Detector:
        return build()

    detectors.add(name, factory)


def spans_in(detectors_: Iterable[Detector], text: str, lang: str | None = None) -> list[Span]:
    """All spans that ``detectors_`` find in ``text`` (overlaps not yet resolved)."""
    out: list[Span] = []
    for det in detectors_:
        out.extend(det.detect(text, lang))
    return out
