"""Record classification on Arrow batches: the embedded engine's form of
:func:`tamis.pipeline.semantics.record_classification_sql`.

The member-level decisions (jurisdiction, consent, age at the cutoff) stay in SQL, once per
member. What remains per record is a lookup of its author and of its (kind, visibility) rule, two
comparisons and a choice of reason; done in Arrow compute on the batch, it costs a fraction of a
join in DuckDB and keeps the records' order (no sort back). The Spark engine runs the SQL; a
property test (``tests/pipeline/test_classify.py``) holds the two to the same answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tamis.timefmt import ARROW_TS

_NULL_STRING = pa.scalar(None, pa.string())


def adult_on(birth: date, years: int) -> date:
    """The first day on which someone born on ``birth`` is ``years`` old (whole years on UTC
    calendar dates; born on 29 February: 1 March in a non-leap year, failing closed)."""
    year = birth.year + years
    if year > date.max.year:
        return date.max
    try:
        return birth.replace(year=year)
    except ValueError:  # 29 February in a non-leap year
        return date(year, 3, 1)


def adult_on_dates(births: pa.Array, ages: pa.Array) -> pa.Array:
    """:func:`adult_on` of each (birth date, minimum age) pair, vectorised (null where either is).

    NumPy's calendar does the arithmetic: the birthday's month in the year it is reached, plus
    the day of the month less one. For 29 February in a non-leap year that lands on 1 March, as
    :func:`adult_on` says."""
    year = pc.add(pc.year(births), ages.cast(pa.int64()))
    missing = pc.is_null(year).to_numpy(zero_copy_only=False)
    years = pc.fill_null(year, 1970).to_numpy()
    months = pc.fill_null(pc.month(births), 1).to_numpy()
    days = pc.fill_null(pc.day(births), 1).to_numpy()
    beyond = years > date.max.year
    first_of_month = (np.minimum(years, date.max.year) - 1970).astype("datetime64[Y]").astype(
        "datetime64[M]"
    ) + (months - 1).astype("timedelta64[M]")
    reached = first_of_month.astype("datetime64[D]") + (days - 1).astype("timedelta64[D]")
    reached[beyond] = np.datetime64(date.max.isoformat(), "D")
    return pa.array(reached, pa.date32(), mask=missing)


@dataclass(frozen=True)
class MemberVerdicts:
    """One row per member of the export (the ``eligibility`` relation), indexed for lookups."""

    member_id: pa.Array  # string, unique
    member_ref: pa.Array  # string
    reason: pa.Array  # string, null = eligible
    adult_on: pa.Array  # date32: first day of the minimum age; null = no birth date

    @classmethod
    def from_table(cls, eligibility: pa.Table) -> MemberVerdicts:
        """From a table with ``member_id, member_ref, reason, birth_date, min_age``."""
        return cls(
            member_id=eligibility.column("member_id").combine_chunks(),
            member_ref=eligibility.column("member_ref").combine_chunks(),
            reason=eligibility.column("reason").combine_chunks().cast(pa.string()),
            adult_on=adult_on_dates(
                eligibility.column("birth_date").combine_chunks(),
                eligibility.column("min_age").combine_chunks(),
            ),
        )


@dataclass(frozen=True)
class RecordRules:
    """The ``record_rules`` relation: (kind, visibility) -> category, allowed."""

    kinds: pa.Array
    visibilities: pa.Array
    category: pa.Array  # per (kind index * len(visibilities) + visibility index)
    allowed: pa.Array

    @classmethod
    def from_table(cls, rules: pa.Table) -> RecordRules:
        kinds = sorted(set(rules.column("kind").to_pylist()))
        visibilities = sorted(set(rules.column("visibility").to_pylist()))
        size = len(kinds) * len(visibilities)
        category: list[str | None] = [None] * size
        allowed: list[bool | None] = [None] * size
        for kind, vis, cat, ok in zip(
            *(rules.column(c).to_pylist() for c in ("kind", "visibility", "category", "allowed")),
            strict=True,
        ):
            slot = kinds.index(kind) * len(visibilities) + visibilities.index(vis)
            category[slot], allowed[slot] = cat, ok
        return cls(
            kinds=pa.array(kinds, pa.string()),
            visibilities=pa.array(visibilities, pa.string()),
            category=pa.array(category, pa.string()),
            allowed=pa.array(allowed, pa.bool_()),
        )


def classify(
    records: pa.Table | pa.RecordBatch,
    members: MemberVerdicts,
    rules: RecordRules,
    cutoff: datetime,
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """``member_ref``, ``category`` and ``reason`` (null = in) of each record, in order.

    ``records`` needs ``member_id``, ``kind``, ``visibility`` and ``created_at``. The reasons and
    their order are those of :func:`tamis.pipeline.semantics.record_classification_sql`."""
    n = records.num_rows
    if n == 0:
        empty = pa.array([], pa.string())
        return empty, empty, empty
    member_id = _array(records, "member_id")
    created = _array(records, "created_at")
    author = pc.index_in(member_id, value_set=members.member_id)
    known = pc.is_valid(author)
    member_ref = members.member_ref.take(author)
    member_reason = members.reason.take(author)

    kind = pc.index_in(_array(records, "kind"), value_set=rules.kinds)
    visibility = pc.index_in(_array(records, "visibility"), value_set=rules.visibilities)
    slot = pc.add(pc.multiply(kind.cast(pa.int32()), len(rules.visibilities)), visibility)
    category = pc.fill_null(rules.category.take(slot), "unknown")
    allowed = pc.fill_null(rules.allowed.take(slot), False)

    after_cutoff = pc.greater(created, pa.scalar(cutoff, ARROW_TS))
    adult = members.adult_on.take(author)
    minor_then = pc.fill_null(pc.less(created.cast(pa.date32()), adult), False)

    reason = pc.case_when(
        pc.make_struct(
            pc.invert(known),
            pc.is_valid(member_reason),
            pc.fill_null(after_cutoff, False),
            pc.invert(allowed),
            minor_then,
            field_names=["unknown", "member", "after", "excluded", "minor"],
        ),
        pa.scalar("member_unknown"),
        member_reason,
        pa.scalar("after_cutoff"),
        pa.scalar("category_excluded"),
        pa.scalar("minor_at_creation"),
        _NULL_STRING,
    )
    return member_ref, category, reason


def _array(records: pa.Table | pa.RecordBatch, name: str) -> pa.Array:
    column = records.column(name)
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


__all__ = ["MemberVerdicts", "RecordRules", "adult_on", "adult_on_dates", "classify"]
