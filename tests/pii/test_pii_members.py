"""Identity-aware names: the member directory automaton."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pyarrow as pa
import pytest

from tamis.pii.directory import MemberDirectory
from tamis.pii.engine import PiiEngine

MEMBERS = pa.table(
    {
        "member_id": ["m1", "m2", "m3"],
        "first_name": ["Jean-Pierre", "Élodie", "Zoltan"],
        "last_name": ["Lefèvre", "Rose", "Kovacs-Brandt"],
        "email": ["jp@exemple.fr", None, "zk@example.com"],
        "phone": ["06 12 34 56 78", None, None],
    }
)


@pytest.fixture(scope="module")
def engine() -> PiiEngine:
    return PiiEngine.for_mode("fast", directory=MemberDirectory.from_arrow(MEMBERS))


def names(engine: PiiEngine, text: str) -> list[str]:
    return [text[s.start : s.end] for s in engine.analyze(text) if s.type == "PERSON"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Merci à Jean-Pierre Lefèvre !", "Jean-Pierre Lefèvre"),
        ("merci à jean pierre lefevre", "jean pierre lefevre"),
        ("LEFÈVRE Jean-Pierre a signé.", "LEFÈVRE Jean-Pierre"),
        ("Bravo à élodie rose pour la démo", "élodie rose"),
        ("Great work by Zoltan Kovacs-Brandt.", "Zoltan Kovacs-Brandt"),
        ("Call with Kovacs-Brandt tomorrow.", "Kovacs-Brandt"),
        ("Ask Zoltan about it.", "Zoltan"),
    ],
)
def test_member_mentions_are_found(engine: PiiEngine, text: str, expected: str) -> None:
    assert expected in names(engine, text)


@pytest.mark.parametrize(
    "text",
    [
        "Une rose rouge sur la table.",  # a member's last name as an everyday word
        "https://exemple.fr/jean-pierre-lefevre est en ligne",
    ],
)
def test_member_names_as_words_or_inside_urls_are_not_persons(engine: PiiEngine, text: str) -> None:
    assert names(engine, text) == []


def test_member_contacts_are_known() -> None:
    directory = MemberDirectory.from_arrow(MEMBERS)
    assert directory.is_member_email("JP@Exemple.fr")
    assert directory.is_member_phone("+33 6 12 34 56 78")
    assert not directory.is_member_email("someone@else.fr")


def test_directory_from_export_jsonl_and_pickle(tmp_path: Path) -> None:
    with (tmp_path / "members.jsonl").open("w") as handle:
        for row in MEMBERS.to_pylist():
            handle.write(json.dumps(row) + "\n")
    directory = MemberDirectory.from_export(tmp_path)
    assert len(directory) == 3
    clone = pickle.loads(pickle.dumps(directory))
    assert [m.kinds for m in clone.matches("zoltan kovacs brandt")] == [
        m.kinds for m in directory.matches("zoltan kovacs brandt")
    ]


def test_export_without_members_is_a_clear_error(tmp_path: Path) -> None:
    from tamis.errors import InputError

    with pytest.raises(InputError, match="no members table"):
        MemberDirectory.from_export(tmp_path)
