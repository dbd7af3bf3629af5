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
    return value.astimezone(UTC)


def format_instant(value: datetime) -> str:
    """Canonical text form: UTC, microseconds only when present, 'Z' suffix."""
    value = value.astimezone(UTC)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


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
    ok = pc.and_kleene(shaped, pc.is_valid(instants))
    ok = pc.if_else(pc.is_null(values), pa.scalar(None, pa.bool_()), ok)
    return instants, ok
