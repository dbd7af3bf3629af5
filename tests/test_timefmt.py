"""Timestamps finer than a microsecond: refused where people type them, rounded up for consent
events, down for records, the same way on text and on typed Parquet columns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tamis.errors import TimestampError
from tamis.timefmt import ARROW_TS, parse_instant, parse_instants, to_microseconds

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Instants the nanosecond type holds (1677-09-22 to 2262-04-11), as integers of nanoseconds.
NANOSECONDS = st.integers(-(2**63) + 1, 2**63 - 1)
OFFSETS = st.sampled_from(["Z", "+00:00", "+01:00", "-05:30", "+14:00", "-12:00"])


def rfc3339(ns: int, offset: str) -> str:
    """``ns`` nanoseconds after 1970 as RFC 3339 text with nine fractional digits."""
    seconds, nanos = divmod(ns, 1_000_000_000)  # floor: nanos is the positive remainder
    shift = timedelta() if offset in ("Z", "+00:00") else _shift(offset)
    local = EPOCH + timedelta(seconds=seconds) + shift
    return f"{local:%Y-%m-%dT%H:%M:%S}.{nanos:09d}{offset}"


def _shift(offset: str) -> timedelta:
    sign = 1 if offset[0] == "+" else -1
    return sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))


def microseconds(instant: datetime) -> int:
    return (instant - EPOCH) // timedelta(microseconds=1)


def test_an_instant_people_type_may_not_be_finer_than_a_microsecond() -> None:
    with pytest.raises(TimestampError, match="more precise than a microsecond"):
        parse_instant("2026-01-01T00:00:00.0000005Z", what="cutoff")
    # zeros beyond the sixth digit say nothing finer
    assert parse_instant("2026-01-01T00:00:00.123456000Z") == datetime(
        2026, 1, 1, 0, 0, 0, 123456, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("text", "floor", "ceil"),
    [
        ("2026-01-01T00:00:00.0000005Z", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000001Z"),
        (
            "2025-12-31T23:59:59.9999995Z",
            "2025-12-31T23:59:59.999999Z",
            "2026-01-01T00:00:00Z",
        ),
        ("1969-12-31T23:59:59.9999995Z", "1969-12-31T23:59:59.999999Z", "1970-01-01T00:00:00Z"),
        (
            "2026-01-01T01:00:00.0000001+01:00",
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00.000001Z",
        ),
    ],
)
def test_rounding_down_and_up(text: str, floor: str, ceil: str) -> None:
    for mode, expected in (("floor", floor), ("ceil", ceil)):
        want = parse_instant(expected)
        assert parse_instant(text, sub_microsecond=mode) == want  # type: ignore[arg-type]
        instants, ok = parse_instants(pa.array([text]), sub_microsecond=mode)  # type: ignore[arg-type]
        assert ok.to_pylist() == [True] and instants.to_pylist() == [want]


def test_rounding_up_past_the_last_instant_is_out_of_range() -> None:
    text = "9999-12-31T23:59:59.9999999Z"
    with pytest.raises(TimestampError, match="out of range"):
        parse_instant(text, sub_microsecond="ceil")
    instants, ok = parse_instants(pa.array([text]), sub_microsecond="ceil")
    assert ok.to_pylist() == [False] and instants.to_pylist() == [None]
    assert parse_instant(text, sub_microsecond="floor").year == 9999


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(NANOSECONDS, OFFSETS), min_size=1, max_size=8))
def test_text_and_typed_nanoseconds_round_alike(values: list[tuple[int, str]]) -> None:
    texts = [rfc3339(ns, offset) for ns, offset in values]
    typed = pa.array([ns for ns, _ in values], pa.timestamp("ns", "UTC"))
    for mode in ("floor", "ceil"):
        from_text, ok = parse_instants(pa.array(texts), sub_microsecond=mode)  # type: ignore[arg-type]
        assert all(ok.to_pylist())
        from_typed = to_microseconds(typed, mode)  # type: ignore[arg-type]
        assert from_text.equals(from_typed), (mode, texts)
        scalar = [parse_instant(t, sub_microsecond=mode) for t in texts]  # type: ignore[arg-type]
        assert from_text.to_pylist() == scalar
        for (ns, _), got in zip(values, from_text.to_pylist(), strict=True):
            us = microseconds(got)
            assert (
                (us * 1000 <= ns < us * 1000 + 1000)
                if mode == "floor"
                else (us * 1000 - 1000 < ns <= us * 1000)
            )


@settings(max_examples=300, deadline=None)
@given(NANOSECONDS, st.integers(-(2**62), 2**62))
def test_a_rounded_up_event_is_at_or_before_a_cutoff_exactly_when_it_was(
    ns: int, cutoff_us: int
) -> None:
    # a cutoff is a whole microsecond (a finer one is refused), so rounding up keeps ts <= cutoff
    cutoff_us = max(min(cutoff_us, 2**63 // 1000), -(2**63) // 1000)
    rounded = to_microseconds(pa.array([ns], pa.timestamp("ns", "UTC")), "ceil")
    assert (rounded.cast(pa.int64())[0].as_py() <= cutoff_us) == (ns <= cutoff_us * 1000)


def test_typed_instants_in_other_zones_and_units() -> None:
    paris = pa.array([1_711_846_800_000_000_001], pa.timestamp("ns", "Europe/Paris"))  # DST day
    assert to_microseconds(paris, "ceil").cast(pa.int64()).to_pylist() == [1_711_846_800_000_001]
    seconds = pa.array([1_767_225_600], pa.timestamp("s", "UTC"))
    assert to_microseconds(seconds).to_pylist() == [datetime(2026, 1, 1, tzinfo=UTC)]
    assert to_microseconds(seconds).type == ARROW_TS
    with pytest.raises(pa.ArrowInvalid):
        to_microseconds(pa.array([2**62], pa.timestamp("s", "UTC")))


@pytest.mark.parametrize("offset", ["+00:60", "+00:99", "-01:75", "+24:00", "+99:00"])
def test_an_offset_out_of_range_is_refused_not_read_as_hours_and_minutes(offset: str) -> None:
    # Arrow's cast and fromisoformat read +00:99 as 1h39: an objection's allow could move
    # across the cutoff; RFC 3339 offsets have hours 00-23 and minutes 00-59
    text = f"2025-12-02T00:00:00{offset}"
    with pytest.raises(TimestampError):
        parse_instant(text)
    instants, ok = parse_instants(pa.array([text, "2025-12-02T00:00:00+23:59"]))
    assert ok.to_pylist() == [False, True]
    assert instants[0].as_py() is None
