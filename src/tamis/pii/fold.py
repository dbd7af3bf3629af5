# ruff: noqa: RUF001  (typographic apostrophes and dashes are data here)
"""Length-preserving text folding for dictionary matching.

:func:`fold` lower-cases, strips accents and turns every character that is not a letter or a
digit into a space, one code point for one code point, so an offset in the folded text is the
same offset in the original. "Jean-Pierre  Lefèvre" and "jean pierre lefevre" fold alike, which is
what lets one automaton find a name whatever its case, accents or hyphenation.
"""

from __future__ import annotations

import re
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


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_ASCII_RUN = re.compile(r"[\x00-\x7f]+")


def _fold_char(c: str) -> str:
    mapped = _table().get(ord(c))
    if mapped is not None:
        return chr(mapped)
    if c.isalnum():
        low = c.lower()
        return low if len(low) == 1 else c
    return " "


_RUNS: dict[str, str] = {}


def _fold_run(match: re.Match[str]) -> str:
    run = match.group()
    out = _RUNS.get(run)
    if out is None:
        out = "".join([_fold_char(c) for c in run])
        if len(_RUNS) < 50_000:
            _RUNS[run] = out
    return out


def fold(text: str) -> str:
    """Lower-case, accent-free, punctuation-as-space copy of ``text`` with the same length.

    Runs of non-ASCII characters (a few per cent of a French text) are folded first, with a
    memo, so that the rest goes through ``str.translate``'s ASCII fast path: a text with one
    accent or emoji would otherwise be translated character by character.
    """
    if not text.isascii():
        text = _NON_ASCII.sub(_fold_run, text)
        if not text.isascii():  # letters of other scripts stay: fold the ASCII runs between
            return _ASCII_RUN.sub(_fold_ascii_run, text)
    return text.translate(_ascii_table())


@cache
def _ascii_table() -> dict[int, int]:
    return {cp: v for cp, v in _table().items() if cp < 0x80}


def _fold_ascii_run(match: re.Match[str]) -> str:
    return match.group().translate(_ascii_table())


def fold_key(text: str) -> str:
    """A canonical form for comparing and hashing names: folded, single spaces, trimmed."""
    return " ".join(fold(text).split())
