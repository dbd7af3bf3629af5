# ruff: noqa: RUF001  (typographic characters are data here)
"""Length-preserving folding: the ASCII fast path gives what folding each character would."""

from __future__ import annotations

import pytest

from tamis.pii.fold import _table, fold, fold_key


@pytest.mark.parametrize(
    "text",
    [
        "Jean-Pierre  LEFÈVRE, tél. 06 12 34 56 78",
        "Œuvre de Ærøskøbing – Straße İstanbul",
        "Bravo 👏 Zoë! Ça marche 💯",
        "Γιώργος Παπαδόπουλος et Jean",
        "plain ascii only, no accents",
        "",
    ],
)
def test_fold_keeps_length_and_matches_the_per_character_table(text: str) -> None:
    folded = fold(text)
    assert len(folded) == len(text)
    table = _table()
    for original, got in zip(text, folded, strict=True):
        if ord(original) in table:
            assert got == chr(table[ord(original)])
        elif original.isalnum():
            assert got == original.lower() or got == original
        else:
            assert got == " "


def test_fold_key_compares_names_whatever_the_spelling() -> None:
    assert (
        fold_key("Jean-Pierre  LEFÈVRE") == fold_key("jean pierre lefevre") == "jean pierre lefevre"
    )
    assert fold_key("Zoë 👏") == "zoe"
