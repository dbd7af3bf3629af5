"""The embedded engine's Arrow classifier gives the answers of the semantics SQL (which the Spark
engine runs): random members, birthdays around the minimum age (29 February included), records
around the cutoff, unknown authors, kinds and visibilities."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import duckdb
import hypothesis.strategies as st
import pyarrow as pa
from hypothesis import given, settings

from tamis.pipeline import semantics
from tamis.pipeline.classify import (
    MemberVerdicts,
    RecordRules,
    adult_on,
    adult_on_dates,
    classify,
)
from tamis.policy import load_policy
from tamis.sources.schema import CONTENT_KINDS, VISIBILITIES
from tamis.timefmt import ARROW_TS

CUTOFF = datetime(2026, 1, 1, tzinfo=UTC)
POLICIES = {name: load_policy(name).policy for name in ("linkedin-2025", "minimal")}
CON = duckdb.connect()
CON.execute("SET TimeZone = 'UTC'")
CON.execute("SET threads = 1")

births = st.one_of(
    st.none(),
    st.dates(date(1990, 1, 1), date(2012, 12, 31)),
    st.sampled_from([date(2008, 2, 29), date(2004, 2, 29), date(2007, 12, 31), date(2008, 1, 1)]),
)
members = st.lists(
    st.tuples(
        births,
        st.sampled_from([None, "objected", "minor", "region_unknown"]),
        st.sampled_from([16, 18]),
    ),
    min_size=1,
    max_size=12,
)
instants = st.one_of(
    st.datetimes(datetime(2020, 1, 1), datetime(2027, 1, 1), timezones=st.just(UTC)),
    st.sampled_from(
        [
            CUTOFF,
            CUTOFF + timedelta(microseconds=1),
            datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC),
            datetime(2026, 3, 1, tzinfo=UTC),
            datetime(2025, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        ]
    ),
)
kinds = st.sampled_from([*CONTENT_KINDS, "profile_name", "profile_skills", "unheard_of"])
visibilities = st.sampled_from([*VISIBILITIES, semantics.PROFILE_VISIBILITY, "secret"])


def test_adult_on_29_february() -> None:
    assert adult_on(date(2008, 2, 29), 18) == date(2026, 3, 1)
    assert adult_on(date(2008, 2, 29), 16) == date(2024, 2, 29)
    assert adult_on(date(2008, 3, 1), 18) == date(2026, 3, 1)
    assert adult_on(date(9990, 1, 1), 18) == date.max


@settings(max_examples=300, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(
            st.one_of(st.none(), st.dates(), st.sampled_from([date(2008, 2, 29), date(1, 1, 1)])),
            st.one_of(st.none(), st.integers(0, 200)),
        ),
        max_size=30,
    )
)
def test_vectorised_adult_on_is_adult_on(pairs: list[tuple[date | None, int | None]]) -> None:
    births = pa.array([b for b, _ in pairs], pa.date32())
    ages = pa.array([a for _, a in pairs], pa.int32())
    expected = [None if b is None or a is None else adult_on(b, a) for b, a in pairs]
    assert adult_on_dates(births, ages).to_pylist() == expected


@settings(max_examples=200, deadline=None)
@given(
    policy=st.sampled_from(sorted(POLICIES)),
    people=members,
    records=st.lists(
        st.tuples(st.integers(0, 14), kinds, visibilities, st.one_of(st.none(), instants)),
        min_size=1,
        max_size=40,
    ),
)
def test_arrow_classifier_matches_the_sql(
    policy: str,
    people: list[tuple[date | None, str | None, int]],
    records: list[tuple[int, str, str, datetime | None]],
) -> None:
    ids = [f"m{i}" for i in range(len(people))]
    eligibility = pa.table(
        {
            "member_id": pa.array(ids, pa.string()),
            "birth_date": pa.array([p[0] for p in people], pa.date32()),
            "min_age": pa.array([p[2] for p in people], pa.int32()),
            "reason": pa.array([p[1] for p in people], pa.string()),
            "member_ref": pa.array([f"ref{i}" for i in range(len(people))], pa.string()),
        }
    )
    chunk = pa.table(
        {
            "member_id": pa.array([f"m{r[0]}" for r in records], pa.string()),
            "kind": pa.array([r[1] for r in records], pa.string()),
            "visibility": pa.array([r[2] for r in records], pa.string()),
            "created_at": pa.array([r[3] for r in records], ARROW_TS),
            "_seq": pa.array(range(len(records)), pa.int64()),
        }
    )
    purpose = next(iter(POLICIES[policy].purposes))
    rules = semantics.rule_tables(POLICIES[policy], purpose)["record_rules"]

    con = CON
    con.register("eligibility", eligibility)
    con.register("record_rules", rules)
    con.register("chunk", chunk)
    expected = con.sql(
        semantics.record_classification_sql(
            "chunk", "eligibility", "record_rules", "$cutoff", carry=("_seq",)
        )
        + " ORDER BY _seq",
        params={"cutoff": CUTOFF},
    ).to_arrow_table()

    member_ref, category, reason = classify(
        chunk, MemberVerdicts.from_table(eligibility), RecordRules.from_table(rules), CUTOFF
    )
    assert member_ref.to_pylist() == expected.column("member_ref").to_pylist()
    assert category.to_pylist() == expected.column("category").to_pylist()
    assert reason.to_pylist() == expected.column("reason").to_pylist()
