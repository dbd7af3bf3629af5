"""Timestamps as the data contract wants them: RFC 3339 with an offset, compared as instants.

A timestamp without an offset is ambiguous and is an error. Everything inside tamis is UTC with
microsecond precision (``datetime`` with ``tzinfo=UTC``; Arrow ``timestamp("us", "UTC")``).

A timestamp more precise than that (nanoseconds, as Java and Go write them) is brought to the
microsecond in the direction that keeps the comparisons it takes part in exact or failing closed
(``sub_microsecond``):

- ``"ceil"``, for consent events: against a cutoff, which is always a whole microsecond,
  ``ceil(ts) <= cutoff`` exactly when ``ts <= cutoff``, so an allow half a microsecond after the
  cutoff stays after it. Two events in the same microsecond tie, and the objection wins the tie.
- ``"floor"``, for records' ``created_at``: a record created in the last microsecond before its
  author came of age stays ``minor_at_creation``; one created less than a microsecond after the
  cutoff counts as created at it (the member's consent at the cutoff covers it).
- ``"refuse"``, for instants people type (a cutoff, a jurisdiction's start, ``--at``): rounding
  either way could move one across the other, so more than six fractional digits that are not
  zeros are an error.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

from tamis.errors import TimestampError

ARROW_TS = pa.timestamp("us", tz="UTC")

# Date, 'T' or space, time with optional fraction, then 'Z' or +HH:MM / -HH:MM (RFC 3339, 5.6),
# the offset's hours 00-23 and minutes 00-59: Arrow's cast and Python's fromisoformat both read
# +00:99 as an offset of 1h39, which would move an event across the cutoff.
RFC3339_PATTERN = (
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)$"
)
_RFC3339 = re.compile(RFC3339_PATTERN)
_MIN = pa.scalar(datetime.min.replace(tzinfo=UTC), ARROW_TS)
_MAX = pa.scalar(datetime.max.replace(tzinfo=UTC), ARROW_TS)
_ONE_MICROSECOND = pa.scalar(timedelta(microseconds=1), pa.duration("us"))
# A fraction whose digits beyond the sixth are not all zeros: finer than a microsecond.
_FINER_THAN_US = r"\.\d{6}\d*[1-9]"

SubMicrosecond = Literal["refuse", "floor", "ceil"]


def parse_instant(
    text: str, *, what: str = "timestamp", sub_microsecond: SubMicrosecond = "refuse"
) -> datetime:
    """Parse one RFC 3339 timestamp with an offset into an aware UTC ``datetime``.

    A fraction finer than a microsecond is refused, or rounded as ``sub_microsecond`` says (see
    the module docstring).

    >>> parse_instant("2025-11-03T00:00:00+01:00").isoformat()
    '2025-11-02T23:00:00+00:00'
    """
    if not isinstance(text, str) or not _RFC3339.match(text):
        raise TimestampError(
            f"{what} {text!r} is not RFC 3339 with an offset "
            "(write e.g. 2025-11-03T00:00:00Z or 2025-11-03T00:00:00+01:00)"
        )
    normalised = text.replace("z", "Z").replace("t", "T").replace(" ", "T")
    finer = re.search(_FINER_THAN_US, normalised) is not None
    if finer and sub_microsecond == "refuse":
        raise TimestampError(
            f"{what} {text!r} is more precise than a microsecond; tamis keeps instants to the "
            "microsecond (give at most six fractional digits)"
        )
    frac = re.search(r"\.(\d+)", normalised)
    if frac and len(frac.group(1)) > 6:  # datetime keeps microseconds: truncate, then round
        normalised = normalised.replace(frac.group(0), "." + frac.group(1)[:6])
    try:
        value = datetime.fromisoformat(normalised)
    except ValueError as exc:
        raise TimestampError(f"{what} {text!r} is not a valid date and time: {exc}") from None
    try:
        value = value.astimezone(UTC)
        return value + timedelta(microseconds=1) if finer and sub_microsecond == "ceil" else value
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise TimestampError(f"{what} {text!r} is out of range in UTC") from None


def format_instant(value: datetime) -> str:
    """Canonical text form: UTC, microseconds only when present, 'Z' suffix."""
    value = value.astimezone(UTC)
    text = f"{value.year:04d}-{value:%m-%dT%H:%M:%S}"  # strftime's %Y drops zeros before 1000
    if value.microsecond:
        return f"{text}.{value.microsecond:06d}Z"
    return f"{text}Z"


def parse_instants(
    values: pa.Array, *, sub_microsecond: Literal["floor", "ceil"] = "floor"
) -> tuple[pa.Array, pa.Array]:
    """Vectorised parse of a string array (:func:`parse_instant` of each value).

    Returns ``(instants, ok)``: ``instants`` is ``timestamp[us, UTC]`` (null where the input is null
    or invalid), ``ok`` is a boolean array (null input -> null, invalid -> False).
    """
    if pa.types.is_timestamp(values.type) and values.type.tz is not None:
        # already typed with a time zone (Parquet input)
        instants = to_microseconds(values, sub_microsecond)
        return instants, pc.if_else(pc.is_null(values), pa.scalar(None, pa.bool_()), True)
    values = values.cast(pa.string())
    shaped = pc.match_substring_regex(values, RFC3339_PATTERN)
    # Arrow's ISO-8601 cast understands 'Z' and +HH:MM offsets; invalid calendar values fail the
    # whole cast, so cast only the well-shaped strings and fall back row by row if that fails.
    candidates = pc.if_else(shaped, values, pa.scalar(None, pa.string()))
    try:
        instants = pc.cast(
            pc.replace_substring_regex(candidates, r"^(\d{4}-\d{2}-\d{2})[ t]", r"\1T"),
            ARROW_TS,
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        parsed: list[datetime | None] = []
        for text in candidates.to_pylist():
            try:
                parsed.append(
                    None if text is None else parse_instant(text, sub_microsecond=sub_microsecond)
                )
            except TimestampError:
                parsed.append(None)
        instants = pa.array(parsed, type=ARROW_TS)
    else:
        if sub_microsecond == "ceil":  # the cast truncated: one microsecond more where it cut
            finer = pc.fill_null(pc.match_substring_regex(candidates, _FINER_THAN_US), False)
            if pc.any(finer).as_py():
                instants = pc.if_else(finer, pc.add(instants, _ONE_MICROSECOND), instants)
    # Arrow goes beyond Python's years 1-9999 (e.g. 0001-01-01T00:00:00+01:00): out of range.
    in_range = pc.and_(pc.greater_equal(instants, _MIN), pc.less_equal(instants, _MAX))
    instants = pc.if_else(in_range, instants, pa.scalar(None, ARROW_TS))
    ok = pc.and_kleene(shaped, pc.is_valid(instants))
    ok = pc.if_else(pc.is_null(values), pa.scalar(None, pa.bool_()), ok)
    return instants, ok


def to_microseconds(
    values: pa.Array, sub_microsecond: Literal["floor", "ceil"] = "floor"
) -> pa.Array:
    """A typed timestamp array (any unit, with a time zone) as ``timestamp[us, UTC]``.

    Nanoseconds are rounded as ``sub_microsecond`` says (see the module docstring); a plain
    cast would truncate toward 1970, which before 1970 rounds up. Seconds and milliseconds
    convert exactly (an instant beyond the microsecond range raises ``ArrowInvalid``)."""
    if values.type.unit != "ns":
        return values.cast(ARROW_TS)
    # in integers: floor_temporal wraps around at the ends of the nanosecond range
    ns = values.cast(pa.int64())
    us = pc.divide(ns, 1000)  # toward zero
    rest = pc.subtract(ns, pc.multiply(us, 1000))  # same sign as ns
    step = pc.greater(rest, 0) if sub_microsecond == "ceil" else pc.less(rest, 0)
    us = pc.if_else(step, pc.add(us, 1 if sub_microsecond == "ceil" else -1), us)
    return us.cast(ARROW_TS)
