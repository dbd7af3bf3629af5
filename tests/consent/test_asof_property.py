"""Property: bulk_state (computed by the database) equals a tiny reference written here.

Random histories over many members, with ties at the same instant (written with different
offsets), re-allows after objections, repeats of events, and cutoffs that often fall exactly on
an event. Each example uses its own setting name in one registry, since nothing can be deleted.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tamis.consent import ConsentRegistry, open_registry

BASE = datetime(2025, 6, 1, tzinfo=UTC)
OFFSETS_MIN = (-600, -30, 0, 60, 330, 845)
_examples = itertools.count()


@dataclass(frozen=True)
class Ev:
    event_id: str
    member_id: str
    value: bool
    ts: datetime  # aware, in some zone


def reference(events: list[Ev], as_of: datetime) -> dict[str, tuple[bool, str, datetime]]:
    """Latest event at or before ``as_of``; an objection wins a tie; then the smallest event id."""
    by_member: dict[str, list[Ev]] = {}
    for event in events:
        if event.ts <= as_of:
            by_member.setdefault(event.member_id, []).append(event)
    out = {}
    for member, evs in by_member.items():
        ranked = sorted(evs, key=lambda e: e.event_id)
        ranked = sorted(ranked, key=lambda e: (e.ts, not e.value), reverse=True)  # stable
        best = ranked[0]
        out[member] = (best.value, best.event_id, best.ts.astimezone(UTC))
    return out


def _zoned(instant: datetime, offset_min: int) -> datetime:
    return instant.astimezone(timezone(timedelta(minutes=offset_min)))


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Ev], datetime, list[int]]:
    n_members = draw(st.integers(1, 30))
    # Few distinct instants, so that ties are frequent; some a microsecond apart.
    instants = draw(
        st.lists(
            st.integers(0, 10_000).map(lambda s: BASE + timedelta(seconds=s)),
            min_size=1,
            max_size=6,
        )
    )
    instants += [t + timedelta(microseconds=1) for t in instants[:2]]
    raw = draw(
        st.lists(
            st.tuples(
                st.text("abc", min_size=1, max_size=3),
                st.integers(0, n_members - 1),
                st.booleans(),
                st.sampled_from(instants),
                st.sampled_from(OFFSETS_MIN),
            ),
            max_size=90,
            unique_by=lambda r: r[0],
        )
    )
    events = [Ev(eid, f"m{m:02d}", value, _zoned(t, off)) for eid, m, value, t, off in raw]
    if events and draw(st.booleans()):
        as_of = draw(st.sampled_from([e.ts for e in events]))  # exactly on an event
    else:
        as_of = BASE + timedelta(seconds=draw(st.integers(-1, 10_001)))
    as_of = _zoned(as_of, draw(st.sampled_from(OFFSETS_MIN)))
    cuts = sorted(draw(st.lists(st.integers(0, len(events)), max_size=2)))
    return events, as_of, cuts


@pytest.fixture(scope="module")
def shared_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsentRegistry]:
    path: Path = tmp_path_factory.mktemp("asof") / "registry.db"
    with open_registry(path) as registry:
        yield registry


def _batches(events: list[Ev], prefix: str, setting: str, cuts: list[int]) -> list[pa.RecordBatch]:
    out = []
    bounds = [0, *cuts, len(events)]
    for start, stop in itertools.pairwise(bounds):
        part = events[start:stop]
        out.append(
            pa.RecordBatch.from_pydict(
                {
                    "event_id": [prefix + e.event_id for e in part],
                    "member_id": [e.member_id for e in part],
                    "setting": [setting] * len(part),
                    "value": pa.array([e.value for e in part], pa.bool_()),
                    # Arrow keeps the instant; the zone is only how it is shown.
                    "ts": pa.array([e.ts.astimezone(UTC) for e in part], pa.timestamp("us", "UTC")),
                    "channel": ["settings_page"] * len(part),
                    "_file": ["prop.jsonl"] * len(part),
                    "_line": pa.array(range(start + 1, stop + 1), pa.int64()),
                }
            )
        )
    return out


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(history=histories(), repeat=st.booleans())
def test_bulk_state_matches_reference(
    shared_registry: ConsentRegistry,
    history: tuple[list[Ev], datetime, list[int]],
    repeat: bool,
) -> None:
    events, as_of, cuts = history
    n = next(_examples)
    setting, prefix = f"p{n}", f"{n:05d}:"
    summary = shared_registry.import_batches(_batches(events, prefix, setting, cuts))
    assert summary.inserted == len(events)
    if repeat:  # the same events again, in another order: no-ops
        again = shared_registry.import_batches(_batches(events[::-1], prefix, setting, []))
        assert (again.inserted, again.duplicates) == (0, len(events))

    expected = {
        member: (value, prefix + event_id, ts)
        for member, (value, event_id, ts) in reference(events, as_of).items()
    }
    table = shared_registry.bulk_state(as_of, setting=setting)
    got = {
        row["member_id"]: (row["value"], row["event_id"], row["ts"]) for row in table.to_pylist()
    }
    assert got == expected
    assert table.column("member_id").to_pylist() == sorted(expected)

    def check(member: str) -> None:
        state = shared_registry.state(member, as_of, setting=setting)
        if member in expected:
            assert state.decided_by is not None
            assert (state.value, state.decided_by.event_id) == expected[member][:2]
        else:
            assert state.value is None and state.decided_by is None

    for member in sorted({e.member_id for e in events})[:3]:
        check(member)
