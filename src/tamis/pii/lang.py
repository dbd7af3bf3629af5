"""A cheap French/English guess from stop-word counts, for records without a ``lang``."""

from __future__ import annotations

import re

_FR = frozenset(
    [
        "le",
        "la",
        "les",
        "des",
        "du",
        "de",
        "un",
        "une",
        "et",
        "est",
        "pour",
        "pas",
        "que",
        "qui",
        "dans",
        "sur",
        "avec",
        "au",
        "aux",
        "ce",
        "cette",
        "nous",
        "vous",
        "je",
        "il",
        "elle",
        "ils",
        "sont",
        "mais",
        "ou",
        "où",
        "très",
        "à",
        "été",
        "être",
        "merci",
    ]
)
_EN = frozenset(
    [
        "the",
        "and",
        "is",
        "are",
        "for",
        "not",
        "that",
        "who",
        "in",
        "on",
        "with",
        "to",
        "of",
        "this",
        "we",
        "you",
        "i",
        "he",
        "she",
        "they",
        "it",
        "was",
        "be",
        "but",
        "or",
        "very",
        "at",
        "been",
        "thanks",
        "my",
        "our",
        "your",
    ]
)
_WORD = re.compile(r"[a-zà-ÿ]+")


def guess_lang(text: str, default: str = "en") -> str:
    """``fr`` or ``en`` by majority of stop words in the first 2,000 characters."""
    fr = en = 0
    for word in _WORD.findall(text[:2000].lower()):
        if word in _FR:
            fr += 1
        elif word in _EN:
            en += 1
    if fr == en:
        return default
    return "fr" if fr > en else "en"
