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


def _fold_char(c: str) -> str:
    mapped = _table().get(ord(c))
    if mapped is not None:
        return chr(mapped)
    if c.isalnum():
        low = c.lower()
        return low if len(low) == 1 else c
    return " "


_RUNS: dict[str, str] = {}


def _fold_run(run: str) -> str:
    out = _RUNS.get(run)
    if out is None:
        out = "".join([_fold_char(c) for c in run])
        if len(_RUNS) < 50_000:
            _RUNS[run] = out
    return out


# Characters that a Latin-1 byte table cannot fold: beyond U+00FF, and "µ" (folds to "μ"). The
# class is spelt out before its repeat so that the scan jumps between such characters in C (a
# pattern that starts with a repeat is tried at every position, ten times slower).
_NOT_BYTE_FOLDABLE = re.compile(r"([^\x00-\xb4\xb6-\xff][^\x00-\xb4\xb6-\xff]*)")


def fold(text: str) -> str:
    """Lower-case, accent-free, punctuation-as-space copy of ``text`` with the same length.

    Every character is folded on its own (:func:`_fold_char`). French and English text is
    almost all Latin-1: it goes through ``bytes.translate`` with a 256-entry table (Latin-1 is
    one byte per character, so offsets do not move); the few runs beyond it (typographic
    apostrophes and quotes, "œ", emoji, other scripts) are folded run by run, with a memo.
    """
    if text.isascii():
        return text.translate(_ascii_table())
    table = _byte_table()
    parts = _NOT_BYTE_FOLDABLE.split(text)
    if len(parts) == 1:
        return text.encode("latin-1").translate(table).decode("latin-1")
    out = []
    for k, part in enumerate(parts):
        if k % 2:
            out.append(_fold_run(part))
        elif part:
            out.append(part.encode("latin-1").translate(table).decode("latin-1"))
    return "".join(out)


@cache
def _byte_table() -> bytes:
    """:func:`_fold_char` of each Latin-1 character, as a ``bytes.translate`` table ("µ",
    which folds beyond Latin-1, never reaches it)."""
    out = bytearray(256)
    for b in range(256):
        folded = ord(_fold_char(chr(b)))
        out[b] = folded if folded < 256 else 0x20
    return bytes(out)


@cache
def _ascii_table() -> dict[int, int]:
    return {cp: v for cp, v in _table().items() if cp < 0x80}


def fold_key(text: str) -> str:
    """A canonical form for comparing and hashing names: folded, single spaces, trimmed."""
    return " ".join(fold(text).split())
