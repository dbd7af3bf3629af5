"""Timestamps as the data contract wants them: RFC 3339 with an offset, compared as instants.

A timestamp without an offset is ambiguous and is an error. Everything inside tamis is UTC with
microsecond precision (``datetime`` with ``tzinfo=UTC``; Arrow ``timestamp("us", "UTC")``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

from tamis.errors import TimestampError

ARROW_TS = pa.timestamp("us", tz="UTC")

# Date, 'T' or space, time with optional fraction, then 'Z' or +HH:MM / -HH:MM (RFC 3339, 5.6).
RFC3339_PATTERN = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
_RFC3339 = re.compile(RFC3339_PATTERN)
_MIN = pa.scalar(datetime.min.replace(tzinfo=UTC), ARROW_TS)
_MAX = pa.scalar(datetime.max.replace(tzinfo=UTC), ARROW_TS)


def parse_instant(text: str, *, what: str = "timestamp") -> datetime:
    """Parse one RFC 3339 timestamp with an offset into an aware UTC ``datetime``.

    >>> parse_instant("2025-11-03T00:00:00+01:00").isoformat()
    '2025-11-02T23:00:00+00:00'
    """
    if not isinstance(text, str) or not _RFC3339.match(text):
        raise TimestampError(
            f"{what} {text!r} is not RFC 3339 with an offset "
            "(write e.g. 2025-11-03T00:00:00Z or 2025-11-03T00:00:00+01:00)"
        )
    normalised = text.replace("z", "Z").replace("t", "T").replace(" ", "T")
    frac = re.search(r"\.(\d+)", normalised)
    if frac and len(frac.group(1)) > 6:  # datetime keeps microseconds; truncate nanoseconds
        normalised = normalised.replace(frac.group(0), "." + frac.group(1)[:6])
    try:
        value = datetime.fromisoformat(normalised)
    except ValueError as exc:
        raise TimestampError(f"{what} {text!r} is not a valid date and time: {exc}") from None
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise TimestampError(f"{what} {text!r} is out of range in UTC") from None


def format_instant(value: datetime) -> str:
    """Canonical text form: UTC, microseconds only when present, 'Z' suffix."""
    value = value.astimezone(UTC)
    text = f"{value.year:04d}-{value:%m-%dT%H:%M:%S}"  # strftime's %Y drops zeros before 1000
    if value.microsecond:
        return f"{text}.{value.microsecond:06d}Z"
    return f"{text}Z"


def parse_instants(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Vectorised parse of a string array.

    Returns ``(instants, ok)``: ``instants`` is ``timestamp[us, UTC]`` (null where the input is null
    or invalid), ``ok`` is a boolean array (null input -> null, invalid -> False).
    """
    if pa.types.is_timestamp(values.type) and values.type.tz is not None:
        instants = values.cast(ARROW_TS)  # already typed with a time zone (Parquet input)
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
                parsed.append(None if text is None else parse_instant(text))
            except TimestampError:
                parsed.append(None)
        instants = pa.array(parsed, type=ARROW_TS)
    # Arrow goes beyond Python's years 1-9999 (e.g. 0001-01-01T00:00:00+01:00): out of range.
    in_range = pc.and_(pc.greater_equal(instants, _MIN), pc.less_equal(instants, _MAX))
    instants = pc.if_else(in_range, instants, pa.scalar(None, ARROW_TS))
    ok = pc.and_kleene(shaped, pc.is_valid(instants))
    ok = pc.if_else(pc.is_null(values), pa.scalar(None, pa.bool_()), ok)
    return instants, ok
