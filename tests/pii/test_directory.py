"""The member directory built on Arrow columns finds what one pattern per member would find."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tamis.errors import InputError
from tamis.pii.directory import (
    DIRECTORY_COLUMNS,
    FIRST,
    FULL,
    LAST,
    MemberDirectory,
    _read_members_jsonl_arrow,
    fold_keys,
    phone_key,
    read_members,
)
from tamis.pii.fold import fold, fold_key

NAMES = [
    "Jean",
    "Jean-Pierre",
    "JEAN PIERRE",
    "Pierre",
    "Anne",
    "Marie",
    "Anne Marie",
    "Anne-Marie",
    "Lefèvre",
    "LEFEVRE",
    "Martin",
    "J",
    "Ø",
    "Élodie",
    "o'Neil",
    "Straße",
    "İlker",
    "Ægir",
    "Zoë",
    " - ",
    "",
    None,
]
FILLER = ["et", "merci", "Rose", "à", "le", "—", "👏", "o", "neil", "van"]
SEPARATORS = [" ", " ", " ", "  ", "-", ", ", "'", ".", " (", "\n", "", "s"]


def reference_matches(
    first: list[str | None], last: list[str | None], text: str
) -> list[tuple[int, int, int]]:
    """What one pattern per member (full names both ways, lone names) finds, by brute force."""
    keys: dict[str, int] = {}
    for f_raw, la_raw in zip(first, last, strict=True):
        f, la = fold_key(f_raw or ""), fold_key(la_raw or "")
        if f and la:
            for key in (f"{f} {la}", f"{la} {f}"):
                keys[key] = keys.get(key, 0) | FULL
        for key, kind in ((f, FIRST), (la, LAST)):
            if len(key) >= 2:
                keys[key] = keys.get(key, 0) | kind
    folded, n = fold(text), len(text)
    out = []
    for key, kinds in keys.items():
        for m in re.finditer(f"(?=({re.escape(key)}))", folded):
            start, end = m.start(1), m.end(1)
            if (start == 0 or folded[start - 1] == " ") and (end == n or folded[end] == " "):
                out.append((start, end, kinds))
    return sorted(out, key=lambda t: (t[1], t[0]))


def found(directory: MemberDirectory, text: str) -> list[tuple[int, int, int]]:
    return [(m.start, m.end, m.kinds) for m in directory.matches(text)]


members_st = st.lists(st.tuples(st.sampled_from(NAMES), st.sampled_from(NAMES)), max_size=12)
text_st = st.lists(
    st.tuples(st.sampled_from([*NAMES[:-1], *FILLER]), st.sampled_from(SEPARATORS)), max_size=14
).map(lambda parts: "".join(word + sep for word, sep in parts))


@settings(max_examples=300, deadline=None)
@given(members=members_st, text=text_st)
def test_matches_equal_one_pattern_per_member(
    members: list[tuple[str | None, str | None]], text: str
) -> None:
    first = [f for f, _ in members]
    last = [la for _, la in members]
    directory = MemberDirectory(first, last)
    assert found(directory, text) == reference_matches(first, last, text)


def test_full_names_in_either_order_and_any_spelling() -> None:
    directory = MemberDirectory(["Jean-Pierre", "Anne"], ["Lefèvre", "Marie"])
    text = "LEFÈVRE Jean-Pierre et anne marie, pas Jean Marie ni Marie Lefèvre."
    full = {text[s:e] for s, e, k in found(directory, text) if k & FULL}
    assert full == {"LEFÈVRE Jean-Pierre", "anne marie"}


def test_the_automaton_holds_distinct_names_not_members() -> None:
    first = ["Jean", "jean", "JEAN", "Anne"] * 1000
    last = [f"Martin{i % 7}" for i in range(4000)]
    directory = MemberDirectory(first, last)
    assert len(directory) == 4000
    assert directory.distinct_names == 2 + 7  # jean, anne, martin0..martin6
    assert directory.full_names == 2 * 2 * 7  # both orders of the 14 distinct pairs
    assert len(directory.automaton) == 9


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=12), st.sampled_from(NAMES[:-1]))))
def test_fold_keys_is_fold_key_of_each(values: list[str | None]) -> None:
    got = fold_keys(pa.array(values, pa.string())).to_pylist()
    assert got == [fold_key(v or "") for v in values]


@pytest.mark.parametrize(
    "spelling",
    [
        "06 12 34 56 78",
        "+33 6 12 34 56 78",
        "+33 (0)6 12 34 56 78",
        "0033612345678",
        "06.12.34.56.78",
    ],
)
def test_a_members_phone_in_any_spelling_is_known(spelling: str) -> None:
    directory = MemberDirectory(["A"], ["B"], phones=["+33612345678"])
    assert directory.is_member_phone(spelling)
    assert not directory.is_member_phone("06 12 34 56 79")
    assert not directory.is_member_phone("12 34")  # too short to be a phone: no key


def test_national_and_international_spellings_of_a_foreign_number_meet() -> None:
    directory = MemberDirectory(["A", "C"], ["B", "D"], phones=["0470 12 34 56", "(212) 555-0199"])
    assert directory.is_member_phone("+32 470 12 34 56")
    assert directory.is_member_phone("+1 212-555-0199")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="0123456789 +-.()x٣", max_size=16))))
def test_vectorised_phone_keys_are_the_scalar_ones(phones: list[str | None]) -> None:
    directory = MemberDirectory([None] * len(phones), [None] * len(phones), phones=phones)
    assert directory.phones == tuple(sorted({phone_key(p) for p in phones if p} - {""}))
    for p in phones:
        if p:
            assert directory.is_member_phone(p) == (phone_key(p) != "")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=12), st.sampled_from(["A@B.fr", " x@y "]))))
def test_vectorised_email_keys_are_strip_lower(emails: list[str | None]) -> None:
    directory = MemberDirectory([None] * len(emails), [None] * len(emails), emails=emails)
    assert directory.emails == tuple(sorted({e.strip().lower() for e in emails if e} - {""}))


def test_columns_as_chunked_large_or_dictionary_arrays() -> None:
    first = pa.chunked_array([["Jean-Pierre"], ["Élodie", None]], pa.large_string())
    last = pa.array(["Lefèvre", "Rose", "Rose"]).dictionary_encode()
    table = pa.table({"first_name": first, "last_name": last, "email": [None, None, "E@x.fr"]})
    directory = MemberDirectory.from_arrow(table)
    assert len(directory) == 3
    assert directory.is_member_email("e@x.fr")
    text = "Merci à Élodie Rose"
    assert (8, 19, FULL) in found(directory, text)


def test_a_column_that_is_not_text_is_a_clear_error() -> None:
    table = pa.table({"first_name": ["A"], "last_name": ["B"], "phone": pa.array([612345678])})
    with pytest.raises(InputError, match="phone is int64, not text"):
        MemberDirectory.from_arrow(table)


def test_pickle_carries_no_automaton_and_matches_alike() -> None:
    directory = MemberDirectory(["Zoltan", "Anne"], ["Kovacs-Brandt", "Marie"], ["z@k.com"])
    text = "zoltan kovacs brandt et Anne-Marie"
    before = found(directory, text)
    assert directory._automaton is not None
    data = pickle.dumps(directory)
    assert b"ahocorasick" not in data
    clone = pickle.loads(data)
    assert clone._automaton is None
    assert found(clone, text) == before
    assert clone.is_member_email("Z@K.com") and len(clone) == 2


def test_quarantined_lines_stop_nothing_and_broken_ones_still_name(tmp_path: Path) -> None:
    """The build's reader quarantines a line that is not a JSON object, or not JSON, and goes
    on; the directory stopped the whole build over it."""
    row = {"member_id": "m1", "first_name": "Zoltan", "last_name": "Kovacs"}
    # a broken line's names still count: posts mention that member too
    broken = '{"member_id": "m2", "first_name": "Zeb\\u00fclon", "last_name": "Quixhaber",'
    (tmp_path / "members.jsonl").write_text(json.dumps(row) + "\n[1, 2]\n" + broken + "\n")
    directory = MemberDirectory.from_export(tmp_path)
    assert found(directory, "merci Zoltan Kovacs") != [] and len(directory) == 2
    assert found(directory, "merci a zebülon quixhaber") != []


def test_a_parquet_members_table_without_a_name_column_is_read(tmp_path: Path) -> None:
    """The spec's name columns are optional: a JSONL table without last_name gave nulls, a
    Parquet one stopped the build."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(
        pa.table({"member_id": ["m1"], "first_name": ["Zoltan"]}), tmp_path / "members.parquet"
    )
    assert len(MemberDirectory.from_export(tmp_path)) == 1


def test_an_empty_directory_matches_nothing() -> None:
    directory = MemberDirectory([], [])
    assert len(directory) == 0
    assert found(directory, "Jean Martin") == []
    assert not directory.is_member_email("a@b.c") and not directory.is_member_phone("0612345678")


def test_members_jsonl_read_by_arrow_or_line_by_line_alike(tmp_path: Path) -> None:
    rows: list[dict[str, object]] = [
        {"member_id": "m1", "first_name": "Jean", "last_name": "Lefèvre", "extra": {"a": [1]}},
        {"member_id": "m2", "first_name": "Anne", "last_name": None, "phone": "06 12 34 56 78"},
    ]
    arrow_dir, lines_dir = tmp_path / "a", tmp_path / "b"
    for directory in (arrow_dir, lines_dir):
        directory.mkdir()
    (arrow_dir / "members.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    rows.append({"member_id": "m3", "first_name": "Zoë", "last_name": "X", "phone": 612})
    (lines_dir / "members.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert _read_members_jsonl_arrow(arrow_dir / "members.jsonl") is not None
    assert _read_members_jsonl_arrow(lines_dir / "members.jsonl") is None  # a number as phone
    by_arrow, by_lines = read_members(arrow_dir), read_members(lines_dir)
    assert by_arrow.column_names == by_lines.column_names == list(DIRECTORY_COLUMNS)
    assert by_lines.slice(0, 2).to_pylist() == by_arrow.to_pylist()
    assert by_lines.column("phone").to_pylist() == [None, "06 12 34 56 78", None]
    assert by_arrow.column("first_name").to_pylist() == ["Jean", "Anne"]
