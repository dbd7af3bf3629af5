"""The PII engine: runs a chosen set of detectors and resolves their overlaps.

Three modes name detector sets (and ``PiiEngine(detectors=[...])`` takes any registered names):

- ``contact``: e-mail and phone only, the cheapest pass;
- ``fast``: every pattern detector, the member directory and the heuristic person detector,
  all compiled regexes and one automaton;
- ``thorough``: ``fast`` plus the spaCy NER person layer (needs the ``pii`` extra).

:meth:`PiiEngine.analyze_many` works per batch, not per text: pattern detectors run once over the
batch's texts joined by a separator (one ``finditer`` per pattern instead of one per row), and
spans are mapped back to their row by bisection; a span that would cross two rows is discarded.
Detectors that need whole documents (NER) implement ``detect_many`` and get the list instead.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

import tamis.pii.builtin  # noqa: F401  (registers the built-in detectors)
from tamis.errors import TamisError
from tamis.pii.base import Detector, detectors
from tamis.pii.spans import PERSON, Span, resolve_overlaps

CONTACT = ("email.v1", "phone.v1")
FAST = (
    "email.v1",
    "phone.v1",
    "iban.v1",
    "credit_card.v1",
    "fr_nir.v1",
    "us_ssn.v1",
    "ip.v1",
    "url.v1",
    "handle.v1",
    "address.v1",
    "dob.v1",
    "person.members.v1",
    "person.heuristic.v1",
)
THOROUGH = (*FAST, "person.ner.v1")
MODES: dict[str, tuple[str, ...]] = {"contact": CONTACT, "fast": FAST, "thorough": THOROUGH}

PRIORITY: dict[str, int] = {
    "EMAIL_ADDRESS": 9,
    "IBAN_CODE": 9,
    "CREDIT_CARD": 8,
    "FR_NIR": 8,
    "US_SSN": 7,
    "URL": 7,
    "IP_ADDRESS": 7,
    "DATE_OF_BIRTH": 6,
    "PHONE_NUMBER": 5,
    "PROFILE_HANDLE": 4,
    "STREET_ADDRESS": 3,
    "PERSON": 2,
}

SEPARATOR = "\n\x00\n"


def mode_detectors(mode: str) -> tuple[str, ...]:
    """The detector names of a mode; an unknown mode lists the known ones."""
    try:
        return MODES[mode]
    except KeyError:
        raise TamisError(
            f"unknown PII mode {mode!r}; available: {', '.join(sorted(MODES))}"
        ) from None


class PiiEngine:
    """Runs detectors over texts and returns resolved, non-overlapping spans per text.

    ``detectors`` are registered names (or ready detector objects); ``options`` are passed to
    every factory (e.g. ``directory=`` for ``person.members.v1``, ``models=`` for NER). Spans
    scoring below ``threshold`` are discarded before overlaps are resolved.
    """

    def __init__(
        self,
        detectors_: Sequence[str | Detector] = CONTACT,
        *,
        threshold: float = 0.5,
        **options: Any,
    ) -> None:
        self.threshold = threshold
        self.detectors: list[Detector] = []
        for item in detectors_:
            if isinstance(item, str):
                self.detectors.append(detectors.get(item)(**options))
            else:
                self.detectors.append(item)

    @classmethod
    def for_mode(cls, mode: str, **options: Any) -> PiiEngine:
        return cls(mode_detectors(mode), **options)

    @property
    def types(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for det in self.detectors:
            for t in det.types:
                seen[t] = None
        return tuple(seen)

    @property
    def prefilter(self) -> str | None:
        """A regex every text with a finding matches, or ``None`` when no text can be skipped."""
        parts = []
        for det in self.detectors:
            if det.prefilter is None:
                return None
            parts.append(f"(?:{det.prefilter})")
        return "|".join(parts) if parts else None

    def analyze(self, text: str, lang: str | None = None) -> list[Span]:
        """Resolved spans of one text, in text order."""
        return self.analyze_many([text], [lang])[0]

    def raw_many(
        self, texts: Sequence[str | None], langs: Sequence[str | None] | None = None
    ) -> list[list[Span]]:
        """Every detector's spans per text, before threshold and overlap resolution."""
        return self._collect(texts, langs, 0.0)

    def _collect(
        self, texts: Sequence[str | None], langs: Sequence[str | None] | None, min_score: float
    ) -> list[list[Span]]:
        n = len(texts)
        clean = [t or "" for t in texts]
        out: list[list[Span]] = [[] for _ in range(n)]
        if not n:
            return out
        langs_ = list(langs) if langs is not None else [None] * n
        joined_needed = [d for d in self.detectors if not hasattr(d, "detect_many")]
        if joined_needed:
            starts: list[int] = []
            pos = 0
            for t in clean:
                starts.append(pos)
                pos += len(t) + len(SEPARATOR)
            starts.append(pos)  # a sentinel: row i spans [starts[i], starts[i + 1])
            joined = SEPARATOR.join(clean)
            # row i's text ends at limits[i]: a span past it would cross into the separator
            limits = [starts[i] + len(t) for i, t in enumerate(clean)]
            new_span = tuple.__new__
            for det in joined_needed:
                i = 0
                for span in det.detect(joined, None):
                    # tuple indexing, not field names: this loop runs for every span of a batch
                    if span[3] < min_score:
                        continue
                    start = span[0]
                    # spans mostly come in text order: look the row up only when it changes
                    if not starts[i] <= start < starts[i + 1]:
                        i = bisect_right(starts, start, 0, n) - 1
                    if span[1] > limits[i]:
                        continue
                    base = starts[i]
                    out[i].append(
                        new_span(
                            Span, (start - base, span[1] - base, span[2], span[3], span[4], span[5])
                        )
                    )
        for det in self.detectors:
            many = getattr(det, "detect_many", None)
            if many is not None:
                for i, spans in enumerate(many(clean, langs_)):
                    out[i].extend(s for s in spans if s.score >= min_score)
        return out

    def analyze_many(
        self, texts: Sequence[str | None], langs: Sequence[str | None] | None = None
    ) -> list[list[Span]]:
        """Resolved spans for each text (same order as ``texts``; ``None`` reads as empty)."""
        raw = self._collect(texts, langs, self.threshold)
        out = []
        for text, spans in zip(texts, raw, strict=True):
            if len(spans) > 1:
                spans = merge_adjacent_names(
                    text or "", resolve_overlaps(spans, PRIORITY, text or "")
                )
            out.append(spans)
        return out


def merge_adjacent_names(text: str, spans: list[Span]) -> list[Span]:
    """Join PERSON spans one space or hyphen apart ("Jean" + "Dupont" -> "Jean Dupont")."""
    if len(spans) < 2:
        return spans
    out: list[Span] = [spans[0]]
    for span in spans[1:]:
        prev = out[-1]
        if (
            prev.type == PERSON
            and span.type == PERSON
            and span.start - prev.end == 1
            and text[prev.end] in " -"
        ):
            out[-1] = Span(
                prev.start,
                span.end,
                PERSON,
                max(prev.score, span.score),
                prev.detector if prev.score >= span.score else span.detector,
                "adjacent names joined",
            )
        else:
            out.append(span)
    return out
