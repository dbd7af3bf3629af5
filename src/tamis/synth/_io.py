"""Batch writers for the export tables (JSONL, Parquet) and the ground-truth files.

A row is a tuple in the table's column order followed by one extra item, the index of the UTC
offset (in :data:`OFFSETS`) its timestamps are written with in JSONL. Timestamps are integer
microseconds since the epoch (UTC), dates integer days since the epoch. A ``bytes`` row is a raw
JSONL line (used only for the deliberately malformed consent events).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import IO, Any, TypeAlias

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from tamis.sources.schema import Table

Row: TypeAlias = tuple[Any, ...] | bytes

# (suffix, minutes east of UTC). Index 0 is 'Z'; "+00:00" is UTC written another way.
OFFSETS: tuple[tuple[str, int], ...] = (
    ("Z", 0),
    ("+00:00", 0),
    ("+01:00", 60),
    ("+02:00", 120),
    ("-05:00", -300),
    ("-04:00", -240),
    ("+05:30", 330),
    ("+09:00", 540),
)
# Share (%) of timestamps written with each offset: mostly Z, a realistic share of local times.
OFFSET_SHARES = (78, 2, 8, 6, 3, 1, 1, 1)
OFFSET_BY_PERCENT: tuple[int, ...] = tuple(
    i for i, share in enumerate(OFFSET_SHARES) for _ in range(share)
)
"""``OFFSET_BY_PERCENT[int(random() * 100)]`` draws an offset index in O(1)."""
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_US = 1_000_000


_TIMES_OF_DAY: list[str] = []  # "THH:MM:SS" for every second of a day, built on first use
_DAYS: dict[int, str] = {}  # days since the epoch -> "YYYY-MM-DD"


def _times_of_day() -> list[str]:
    if not _TIMES_OF_DAY:
        _TIMES_OF_DAY.extend(
            f"T{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)
        )
    return _TIMES_OF_DAY


def _day(days: int) -> str:
    text = _DAYS.get(days)
    if text is None:
        text = _DAYS[days] = date.fromordinal(_EPOCH_ORDINAL + days).isoformat()
    return text


def format_ts(us: int, offset: int = 0) -> str:
    """RFC 3339 text of an instant, written in the local time of ``OFFSETS[offset]``."""
    suffix, minutes = OFFSETS[offset]
    seconds, frac = divmod(us, _US)
    days, tod = divmod(seconds + minutes * 60, 86400)
    text = (_DAYS.get(days) or _day(days)) + (_TIMES_OF_DAY or _times_of_day())[tod]
    if frac:
        text += f".{frac // 1000:03d}" if frac % 1000 == 0 else f".{frac:06d}"
    return text + suffix


def format_ts_naive(us: int) -> str:
    """The same instant without any offset: an invalid timestamp for the contract."""
    return format_ts(us)[:-1]


Payload: TypeAlias = bytes | pa.RecordBatch


def encode(table: Table, rows: list[Row], fmt: str) -> Payload:
    """Rows as the bytes of JSON lines, or as an Arrow batch with the table's schema."""
    if fmt == "parquet":
        return to_arrow(table, rows)
    return encode_jsonl(table, rows)


def encode_jsonl(table: Table, rows: list[Row]) -> bytes:
    names = table.names
    ts_cols = [(i, c.name) for i, c in enumerate(table.columns) if c.kind == "timestamp"]
    date_cols = [(i, c.name) for i, c in enumerate(table.columns) if c.kind == "date"]
    dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    lines: list[bytes] = []
    for row in rows:
        if isinstance(row, bytes):
            lines.append(row)
            continue
        record = dict(zip(names, row, strict=False))  # the trailing offset is left out
        offset = row[-1]
        for i, name in ts_cols:
            value = row[i]
            if value is not None:
                record[name] = format_ts(value, offset)
        for i, name in date_cols:
            value = row[i]
            if value is not None:
                record[name] = _day(value)
        lines.append(dumps(record, option=newline))
    return b"".join(lines)


def to_arrow(table: Table, rows: list[Row]) -> pa.RecordBatch:
    schema = table.arrow_schema
    if not rows:
        return pa.RecordBatch.from_pylist([], schema=schema)
    if any(isinstance(row, bytes) for row in rows):
        raise TypeError("raw JSONL lines cannot be written to Parquet")
    columns = list(zip(*rows, strict=True))
    arrays = [pa.array(columns[i], type=field.type) for i, field in enumerate(schema)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


class JsonlTableWriter:
    """Appends encoded JSON lines to ``<table>.jsonl``."""

    def __init__(self, path: Path, table: Table) -> None:
        self.path = path
        self.table = table
        self._fh: IO[bytes] = path.open("wb")
        self.rows = 0

    def write(self, payload: Payload, rows: int) -> None:
        assert isinstance(payload, bytes)
        self._fh.write(payload)
        self.rows += rows

    def close(self) -> None:
        self._fh.close()


class ParquetTableWriter:
    """Writes Arrow batches into one Parquet file, a row group per batch."""

    def __init__(self, path: Path, table: Table) -> None:
        self.path = path
        self.table = table
        self._writer = pq.ParquetWriter(path, table.arrow_schema, compression="zstd")
        self.rows = 0

    def write(self, payload: Payload, rows: int) -> None:
        assert isinstance(payload, pa.RecordBatch)
        if payload.num_rows:
            self._writer.write_batch(payload)
        self.rows += rows

    def close(self) -> None:
        self._writer.close()


TableWriter = JsonlTableWriter | ParquetTableWriter


def open_table(directory: Path, table: Table, fmt: str) -> TableWriter:
    if fmt == "parquet":
        return ParquetTableWriter(directory / f"{table.name}.parquet", table)
    return JsonlTableWriter(directory / f"{table.name}.jsonl", table)


def encode_records(records: list[dict[str, Any]]) -> bytes:
    """Plain JSON lines (ground truth)."""
    dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    return b"".join([dumps(r, option=newline) for r in records])


class JsonlWriter:
    """A ground-truth file of JSON lines."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[bytes] = path.open("wb")
        self.rows = 0

    def write(self, payload: bytes, rows: int) -> None:
        self._fh.write(payload)
        self.rows += rows

    def close(self) -> None:
        self._fh.close()
