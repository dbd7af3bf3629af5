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


UNKNOWN_MEMBER = "member_unknown"
RECORD_REASONS = ("after_cutoff", "category_excluded", "minor_at_creation")  # in this order


@dataclass(frozen=True)
class MemberVerdicts:
    """One row per member of the export (the ``eligibility`` relation), indexed for lookups.

    Reasons are also held as codes, positions in ``reason_names``: ``member_unknown``, the
    member-level reasons, then the record-level ones (:data:`RECORD_REASONS`), so that records
    are classified and counted on integers."""

    member_id: pa.Array  # string, unique
    member_ref: pa.Array  # string
    reason: pa.Array  # string, null = eligible
    adult_on: pa.Array  # date32: first day of the minimum age; null = no birth date
    adult_at: pa.Array  # the same as an instant (00:00 UTC that day)
    reason_code: pa.Array  # int32 position of ``reason`` in ``reason_names``, null = eligible
    reason_names: pa.Array  # string

    @classmethod
    def from_table(cls, eligibility: pa.Table) -> MemberVerdicts:
        """From a table with ``member_id, member_ref, reason, birth_date, min_age``."""
        reason = eligibility.column("reason").combine_chunks().cast(pa.string())
        member_reasons = sorted(set(pc.unique(reason.drop_null()).to_pylist()))
        names = pa.array([UNKNOWN_MEMBER, *member_reasons, *RECORD_REASONS], pa.string())
        adult_on = adult_on_dates(
            eligibility.column("birth_date").combine_chunks(),
            eligibility.column("min_age").combine_chunks(),
        )
        return cls(
            member_id=eligibility.column("member_id").combine_chunks(),
            member_ref=eligibility.column("member_ref").combine_chunks(),
            reason=reason,
            adult_on=adult_on,
            adult_at=adult_on.cast(pa.timestamp("s")).cast(ARROW_TS),
            reason_code=pc.index_in(reason, value_set=names),
            reason_names=names,
        )

    def code_of(self, reason: str) -> pa.Scalar:
        """The code of a reason, as an int32 scalar."""
        return pa.scalar(self.reason_names.index(reason).as_py(), pa.int32())


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


@dataclass(frozen=True)
class AuthorVerdicts:
    """The author's part of the classification of some records, one value per record."""

    members: MemberVerdicts
    index: pa.Array  # int32: the author's position in ``members``, null when unknown
    member_reason: pa.Array  # int32: the member's reason code, null = eligible
    after_cutoff: pa.Array  # bool: created after the cutoff
    minor_then: pa.Array  # bool: created before the author reached the minimum age

    @classmethod
    def of(
        cls, member_id: pa.Array, created: pa.Array, members: MemberVerdicts, cutoff: datetime
    ) -> AuthorVerdicts:
        """Of records with these authors and creation instants."""
        author = pc.index_in(member_id, value_set=members.member_id)
        # created before 00:00 UTC of the day the author comes of age: before that day
        return cls(
            members=members,
            index=author,
            member_reason=members.reason_code.take(author),
            after_cutoff=pc.fill_null(pc.greater(created, pa.scalar(cutoff, ARROW_TS)), False),
            minor_then=pc.fill_null(pc.less(created, members.adult_at.take(author)), False),
        )

    def reason_codes(self, allowed: pa.Array) -> pa.Array:
        """Each record's reason code (null = in; a position in ``reason_names``), given whether
        its (kind, visibility) is allowed; in the order of
        :func:`tamis.pipeline.semantics.record_classification_sql`."""
        code = self.members.code_of
        return pc.case_when(
            pc.make_struct(
                pc.is_null(self.index),
                pc.is_valid(self.member_reason),
                self.after_cutoff,
                pc.invert(allowed),
                self.minor_then,
                field_names=["unknown", "member", "after", "excluded", "minor"],
            ),
            code(UNKNOWN_MEMBER),
            self.member_reason,
            code("after_cutoff"),
            code("category_excluded"),
            code("minor_at_creation"),
            pa.scalar(None, pa.int32()),
        )

    def reasons(self, allowed: pa.Array) -> pa.Array:
        """:meth:`reason_codes` as text."""
        return self.members.reason_names.take(self.reason_codes(allowed))


def rule_slots(kind: pa.Array, visibility: pa.Array, rules: RecordRules) -> pa.Array:
    """Each record's (kind, visibility) rule, as a position in ``rules.category`` and
    ``rules.allowed`` (int32; null for a kind or visibility that no rule names)."""
    kind_index = pc.index_in(kind, value_set=rules.kinds)
    visibility_index = pc.index_in(visibility, value_set=rules.visibilities)
    return pc.add(pc.multiply(kind_index, len(rules.visibilities)), visibility_index)


def category_of(slot: pa.Array, rules: RecordRules) -> pa.Array:
    """The category of each rule slot (``unknown`` where no rule names the record)."""
    return pc.fill_null(rules.category.take(slot), "unknown")


def allowed_of(slot: pa.Array, rules: RecordRules) -> pa.Array:
    """Whether each rule slot's (kind, visibility) is allowed (false where no rule names it)."""
    return pc.fill_null(rules.allowed.take(slot), False)


@dataclass(frozen=True)
class Classification:
    """What :func:`classify_records` found, one value per record."""

    reason: pa.Array  # int32 reason code (a position in MemberVerdicts.reason_names), null = in
    author: pa.Array  # int32: the author's position in MemberVerdicts, null when unknown
    slot: pa.Array  # int32: the record's rule in RecordRules, null when no rule names it


def classify_records(
    records: pa.Table | pa.RecordBatch,
    members: MemberVerdicts,
    rules: RecordRules,
    cutoff: datetime,
) -> Classification:
    """The classification of each record, in order.

    ``records`` needs ``member_id``, ``kind``, ``visibility`` and ``created_at``. The reasons and
    their order are those of :func:`tamis.pipeline.semantics.record_classification_sql`."""
    authors = AuthorVerdicts.of(
        _array(records, "member_id"), _array(records, "created_at"), members, cutoff
    )
    slot = rule_slots(_array(records, "kind"), _array(records, "visibility"), rules)
    return Classification(
        reason=authors.reason_codes(allowed_of(slot, rules)), author=authors.index, slot=slot
    )


def classify(
    records: pa.Table | pa.RecordBatch,
    members: MemberVerdicts,
    rules: RecordRules,
    cutoff: datetime,
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """``member_ref``, ``category`` and ``reason`` (null = in) of each record, in order, as text
    (see :func:`classify_records`)."""
    if records.num_rows == 0:
        empty = pa.array([], pa.string())
        return empty, empty, empty
    found = classify_records(records, members, rules, cutoff)
    return (
        members.member_ref.take(found.author),
        category_of(found.slot, rules),
        members.reason_names.take(found.reason),
    )


def _array(records: pa.Table | pa.RecordBatch, name: str) -> pa.Array:
    column = records.column(name)
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


__all__ = [
    "AuthorVerdicts",
    "Classification",
    "MemberVerdicts",
    "RecordRules",
    "adult_on",
    "adult_on_dates",
    "allowed_of",
    "category_of",
    "classify",
    "classify_records",
    "rule_slots",
]
