"""Profile records' text: a member's values for a field group joined by a space, lists by ', ',
missing values left out; the same rows as the members batch, whatever is missing."""

from __future__ import annotations

import hypothesis.strategies as st
import pyarrow as pa
from hypothesis import given, settings

from tamis.pipeline.build import _profile_text

NAMES = st.one_of(st.none(), st.sampled_from(["", "Camille", "Jean-Marc", "Ngozi  Okafor"]))
SKILLS = st.one_of(st.none(), st.lists(st.sampled_from(["SQL", "Python", ""]), max_size=3))


def reference(row: dict[str, object], fields: tuple[str, ...]) -> str | None:
    values = []
    for name in fields:
        value = row[name]
        if isinstance(value, list):
            value = ", ".join(value) or None
        if value is not None:
            values.append(value)
    if not values:
        return None
    if len(fields) == 1:
        return str(values[0])
    return " ".join(str(v) for v in values) or None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(NAMES, NAMES, SKILLS), min_size=1, max_size=12))
def test_text_keeps_one_row_per_member_whatever_is_missing(
    rows: list[tuple[str | None, str | None, list[str] | None]],
) -> None:
    # pyarrow 26's binary_join_element_wise(null_handling="skip") drops the rows where every
    # value is null: a member without a name made the profile text shorter than the batch
    batch = pa.RecordBatch.from_pydict(
        {
            "first_name": pa.array([r[0] for r in rows], pa.string()),
            "last_name": pa.array([r[1] for r in rows], pa.string()),
            "skills": pa.array([r[2] for r in rows], pa.list_(pa.string())),
        }
    )
    for fields in (("first_name", "last_name"), ("skills",), ("first_name", "skills", "last_name")):
        text = _profile_text(batch, fields)
        assert len(text) == batch.num_rows
        expected = [reference(row, fields) for row in batch.to_pylist()]
        assert text.to_pylist() == expected, fields
