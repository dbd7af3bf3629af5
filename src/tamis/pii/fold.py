# ruff: noqa: RUF001  (typographic apostrophes and dashes are data here)
"""Length-preserving text folding for dictionary matching.

:func:`fold` lower-cases, strips accents and turns every character that is not a letter or a
digit into a space, one code point for one code point, so an offset in the folded text is the
same offset in the original. "Jean-Pierre  Lefèvre" and "jean pierre lefevre" fold alike, which is
what lets one automaton find a name whatever its case, accents or hyphenation.
"""

from __future__ import annotations

import unicodedata
from functools import cache


@cache
def _table() -> dict[int, int]:
    table: dict[int, int] = {}
    for cp in range(0x0000, 0x2070):
        ch = chr(cp)
        if ch.isalnum():
            low = ch.lower()
            base = unicodedata.normalize("NFKD", low)
            base = "".join(c for c in base if not unicodedata.combining(c))
            if len(base) == 1 and base != ch:
                table[cp] = ord(base)
            elif len(low) == 1 and low != ch:
                table[cp] = ord(low)
        else:
            table[cp] = 0x20
    # Letters whose decomposition is not a single base letter.
    for src, dst in {"ß": "s", "æ": "a", "œ": "o", "ø": "o", "đ": "d", "ł": "l", "ı": "i"}.items():
        table[ord(src)] = ord(dst)
        if len(src.upper()) == 1:
            table[ord(src.upper())] = ord(dst)
    table[ord("İ")] = ord("i")
    return table


def fold(text: str) -> str:
    """Lower-case, accent-free, punctuation-as-space copy of ``text`` with the same length."""
    return text.translate(_table())


def fold_key(text: str) -> str:
    """A canonical form for comparing and hashing names: folded, single spaces, trimmed."""
    return " ".join(fold(text).split())
