"""Fuzzing timestamp parsing: scalar and vectorised parsers agree and fail only with
TimestampError (oracle: :func:`tamis_fuzz.check_timestamp`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tamis_fuzz import budget, check_timestamp, count

FUZZ = settings(
    max_examples=budget(),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)

offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))


@st.composite
def rfc3339_like(draw: st.DrawFn) -> str:
    """Mostly well-shaped strings with fields out of range, odd separators and long fractions."""
    two = st.integers(0, 99).map(lambda n: f"{n:02d}")
    year = draw(
        st.sampled_from(["0000", "0001", "1969", "2024", "9999"])
        | st.integers(0, 9999).map(lambda n: f"{n:04d}")
    )
    sep = draw(st.sampled_from(["T", "t", " ", "_", ""]))
    frac = draw(
        st.sampled_from(["", ".", ".1", ".123456", ".1234567", ".123456789", ".1234567890"])
    )
    zone = draw(
        st.sampled_from(["Z", "z", "", "+00:00", "-00:00", "+24:00", "+0100", "+01"])
        | st.builds(lambda s, h, m: f"{s}{h}:{m}", st.sampled_from("+-"), two, two)
    )
    return f"{year}-{draw(two)}-{draw(two)}{sep}{draw(two)}:{draw(two)}:{draw(two)}{frac}{zone}"


@FUZZ
@given(rfc3339_like())
@example("0001-01-01T00:00:00+01:00")  # before year 1 in UTC
@example("9999-12-31T23:59:59-01:00")  # after year 9999 in UTC
@example("2024-02-29T24:00:00Z")
@example("2025-06-01T12:00:60Z")
@example("9999-12-31T23:59:59.9999999Z")  # rounded up: after year 9999
@example("1969-12-31T23:59:59.9999995-00:30")  # before 1970: floor is not toward zero
@example("\u0662\u0660\u0662\u0665-\u0660\u0661-\u0660\u0661T00:00:00Z")  # Arabic-Indic digits
def test_shaped_timestamps(text: str) -> None:
    count("timestamps.shaped")
    check_timestamp(text)


@FUZZ
@given(st.text(max_size=40))
def test_any_text(text: str) -> None:
    count("timestamps.text")
    check_timestamp(text)


@FUZZ
@given(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets)
)
def test_aware_datetimes_round_trip(value: datetime) -> None:
    count("timestamps.roundtrip")
    text = value.isoformat()
    if "+" not in text[10:] and "-" not in text[10:]:
        text += "Z"
    parsed = check_timestamp(text)
    assert parsed == value.astimezone(UTC)
