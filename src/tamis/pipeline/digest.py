"""An engine-independent digest of a snapshot's content.

Engines split and order data files differently (file names, row groups, row order), so per-file
hashes differ between the embedded engine and Spark. The content digest does not: it is a
multiset hash of the records.

Each record is written in a canonical text form: its columns ``record_id, member_ref, kind,
category, created_at, lang, text`` in that order, joined by U+001F, a null as U+0000, and
``created_at`` as the decimal number of microseconds since 1970-01-01T00:00:00Z. Of the MD5 of
that text (UTF-8), the first 8 bytes and the last 8 bytes are read as little-endian unsigned
integers (DuckDB's ``md5_number_upper`` and ``md5_number_lower``); the sums of those two numbers
over all records, exact, and the number of records make the digest::

    sha256("tamis.content.v1" NUL count NUL sum_upper NUL sum_lower)  (decimal, UTF-8)

The sums are order-independent, so any engine can compute them in one aggregation without a
sort. This digest is for comparing snapshots built by different engines; the integrity of a
snapshot's files is checked with their SHA-256 in the manifest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa

COLUMNS = ("record_id", "member_ref", "kind", "category", "created_at", "lang", "text")


def canonical_sql() -> str:
    """DuckDB SQL for a record's canonical text (see the module docstring)."""
    parts = [
        "CAST(epoch_us(created_at) AS VARCHAR)" if c == "created_at" else f"coalesce({c}, chr(0))"
        for c in COLUMNS
    ]
    return f"concat_ws(chr(31), {', '.join(parts)})"


# One MD5 per record: DuckDB's md5_number is the whole hash as an unsigned 128-bit integer whose
# low 64 bits are md5_number_upper and high 64 bits md5_number_lower (calling those two would
# hash every record twice).
_SUMS = (
    "SELECT count(*), "
    "COALESCE(sum(CAST(CAST(h & 18446744073709551615::UHUGEINT AS UBIGINT) AS HUGEINT)), 0), "
    "COALESCE(sum(CAST(CAST(h >> 64 AS UBIGINT) AS HUGEINT)), 0) "
    "FROM (SELECT md5_number({canonical}) AS h FROM {source})"
)


class ContentDigest:
    """Accumulates the content digest over record batches, in any order."""

    def __init__(self, con: duckdb.DuckDBPyConnection | None = None) -> None:
        self.con = con or duckdb.connect()
        self.count = 0
        self.upper = 0
        self.lower = 0

    def add(self, batch: pa.RecordBatch) -> None:
        self.con.register("digest_batch", batch)
        try:
            count, upper, lower = self.con.sql(
                _SUMS.format(canonical=canonical_sql(), source="digest_batch")
            ).fetchall()[0]
        finally:
            self.con.unregister("digest_batch")
        self.count += int(count)
        self.upper += int(upper)
        self.lower += int(lower)

    def add_table(self, table: pa.Table, sign: int = 1) -> None:
        """Add (``sign=1``) or take out (``sign=-1``) the records of ``table``."""
        before = (self.count, self.upper, self.lower)
        self.count = self.upper = self.lower = 0
        for batch in table.to_batches():
            self.add(batch)
        self.count = before[0] + sign * self.count
        self.upper = before[1] + sign * self.upper
        self.lower = before[2] + sign * self.lower

    def hexdigest(self) -> str:
        text = f"tamis.content.v1\x00{self.count}\x00{self.upper}\x00{self.lower}"
        return hashlib.sha256(text.encode()).hexdigest()


def content_digest(files: Sequence[Path]) -> str:
    """The content digest of the records in ``files`` (Parquet, the snapshot record schema)."""
    digest = ContentDigest()
    if files:
        paths = ", ".join("'" + str(p).replace("'", "''") + "'" for p in files)
        count, upper, lower = digest.con.sql(
            _SUMS.format(canonical=canonical_sql(), source=f"read_parquet([{paths}])")
        ).fetchall()[0]
        digest.count, digest.upper, digest.lower = int(count), int(upper), int(lower)
    return digest.hexdigest()
