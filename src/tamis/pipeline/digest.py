"""An engine-independent digest of a snapshot's content.

Engines split and order data files differently (file names, row groups, row order), so per-file
hashes differ between the embedded engine and Spark. The content digest does not: it is the
SHA-256 of the sorted per-record SHA-256 digests, each over the record's columns in a canonical
text form (UTF-8, fields joined by U+001F, null as U+0000, timestamps as
microseconds since 1970-01-01T00:00:00Z in decimal). Two snapshots with the same records have
the same digest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

SEPARATOR = "\x1f"
NULL = "\x00"
COLUMNS = ("record_id", "member_ref", "kind", "category", "created_at", "lang", "text")


def row_digest_sql(timestamp_format: str = "strftime(created_at, '%Y-%m-%dT%H:%M:%S.%fZ')") -> str:
    """DuckDB SQL for one record's canonical digest (hex)."""
    parts = [timestamp_format if c == "created_at" else f"coalesce({c}, chr(0))" for c in COLUMNS]
    return f"sha256(concat_ws(chr(31), {', '.join(parts)}))"


def content_digest(files: Sequence[Path]) -> str:
    """The content digest of the records in ``files`` (Parquet, the snapshot record schema)."""
    digest = hashlib.sha256()
    if not files:
        return digest.hexdigest()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    paths = ", ".join("'" + str(p).replace("'", "''") + "'" for p in files)
    reader = con.sql(
        f"SELECT {row_digest_sql()} AS d FROM read_parquet([{paths}]) ORDER BY d"
    ).to_arrow_reader(1 << 16)
    for batch in reader:
        # Hex digests, no nulls: the data buffer holds them back to back.
        column = batch.column(0).cast(pa.string())
        _validity, offsets, data = column.buffers()
        bounds = np.frombuffer(offsets, dtype=np.int32)[
            column.offset : column.offset + len(column) + 1
        ]
        digest.update(memoryview(data)[int(bounds[0]) : int(bounds[-1])])
    return digest.hexdigest()
