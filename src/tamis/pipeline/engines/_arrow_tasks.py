"""Per-partition Arrow work that the Spark engine ships to its Python workers.

Nothing here imports pyspark: every task takes an iterator of :class:`pyarrow.RecordBatch` and
yields record batches (the shape ``DataFrame.mapInArrow`` wants), and calls the very code of the
embedded engine: the export reader and its validation rules (:mod:`tamis.sources.reader`), the
profile-record builder and the text-stage scheduler of :mod:`tamis.pipeline.build`, and the
stage objects themselves. Tasks are module-level functions (bound with :func:`functools.partial`)
so that workers import them by name instead of unpickling code.

Two unified row shapes keep each input a single pass over the data:

* a *read* row (:func:`read_schema`) is either a valid row of the table (the reject columns null)
  or a rejected line (the table's columns null, ``_reason`` set), with its file, line, the file's
  index in the table's file order and the reader's chunk number (so the quarantine keeps the
  embedded engine's order);
* a *processed* row (:data:`PROCESSED_SCHEMA`) is either a training record (``_t`` null) or a
  tally row: ``x`` (excluded records by reason, kind, category), ``i`` (included records by
  kind and category), ``s`` (a stage counter), ``q`` (a quarantine entry). The driver adds
  up the tally rows; Spark writes the records.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tamis.keys import PseudonymKey
from tamis.pipeline import semantics
from tamis.pipeline.build import (
    DUPLICATE_SCAN_MEMORY,
    STAGE_BATCH_ROWS,
    _profile_text,
    raw_ids_sql,
)
from tamis.pipeline.runner import apply_stages
from tamis.pipeline.stages import RECORD_SCHEMA, Stage
from tamis.policy.categories import PROFILE_FIELDS, profile_kind
from tamis.sources import reader
from tamis.sources.schema import MEMBERS, Table
from tamis.timefmt import ARROW_TS

READ_EXTRA = pa.schema(
    [
        pa.field("_file", pa.string()),
        pa.field("_line", pa.int64()),
        pa.field("_fidx", pa.int64()),
        pa.field("_chunk", pa.int64()),
        pa.field("_field", pa.string()),
        pa.field("_reason", pa.string()),
        pa.field("_key", pa.string()),
        pa.field("_member", pa.string()),
    ]
)

RECORD_INPUT_SCHEMA = pa.schema(
    [
        pa.field("record_id", pa.string()),
        pa.field("member_id", pa.string()),
        pa.field("kind", pa.string()),
        pa.field("created_at", ARROW_TS),
        pa.field("lang", pa.string()),
        pa.field("text", pa.string()),
        pa.field("visibility", pa.string()),
        pa.field("_seq", pa.int64()),
        pa.field("_q", pa.string()),
    ]
)

TALLY_FIELDS = [
    pa.field("_t", pa.string()),
    pa.field("_a", pa.string()),
    pa.field("_b", pa.string()),
    pa.field("_c", pa.string()),
    pa.field("_d", pa.string()),
    pa.field("_n", pa.int64()),
    pa.field("_i", pa.int64()),
    pa.field("_j", pa.int64()),
]
PROCESSED_SCHEMA = pa.schema([*RECORD_SCHEMA, *TALLY_FIELDS])


def read_schema(table: Table) -> pa.Schema:
    """The unified row of a table read: its columns, then :data:`READ_EXTRA`."""
    return pa.schema([*table.arrow_schema, *READ_EXTRA])


def local_path(uri: str) -> str:
    """A local path from what Spark reports as a file's path (``file:/a%20b`` -> ``/a b``)."""
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme in ("file", "") else uri


def conform(batch: pa.RecordBatch | pa.Table, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` with exactly ``schema``'s columns and types (Spark may hand over large types)."""
    n = batch.num_rows
    arrays = []
    for f in schema:
        i = batch.schema.get_field_index(f.name)
        col = batch.column(i) if i >= 0 else pa.nulls(n, f.type)
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks() if col.num_chunks else pa.array([], f.type)
        if col.type != f.type:
            col = col.cast(f.type)
        arrays.append(col)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


# --- reading -------------------------------------------------------------------------------------


def _unify(
    chunk: reader.ReadChunk, table: Table, fidx: int, chunk_no: pa.Array | int
) -> pa.RecordBatch:
    """One reader chunk as :func:`read_schema` rows: valid rows first, then the rejects."""
    schema = read_schema(table)
    valid = chunk.valid
    n = valid.num_rows
    columns: dict[str, pa.Array] = {name: valid.column(name) for name in table.names}
    columns["_file"] = valid.column("_file")
    columns["_line"] = valid.column("_line")
    columns["_fidx"] = pa.array([fidx] * n, pa.int64())
    if isinstance(chunk_no, int):
        columns["_chunk"] = pa.array([chunk_no] * n, pa.int64())
    else:
        columns["_chunk"] = chunk_no
    for name in ("_field", "_reason", "_key", "_member"):
        columns[name] = pa.nulls(n, pa.string())
    good = pa.RecordBatch.from_pydict(
        {f.name: columns[f.name] for f in schema},
        schema=schema,
    )
    if not chunk.rejects:
        return good
    r = chunk.rejects
    lines = [x["line"] for x in r]
    rows: dict[str, Any] = {
        name: pa.nulls(len(r), table.arrow_schema.field(name).type) for name in table.names
    }
    rows.update(
        {
            "_file": pa.array([x["file"] for x in r], pa.string()),
            "_line": pa.array(lines, pa.int64()),
            "_fidx": pa.array([fidx] * len(r), pa.int64()),
            "_chunk": pa.array(
                [chunk_no] * len(r)
                if isinstance(chunk_no, int)
                else [(ln - 1) // reader.PARQUET_BATCH_ROWS for ln in lines],
                pa.int64(),
            ),
            "_field": pa.array([x.get("field") for x in r], pa.string()),
            "_reason": pa.array([x["reason"] for x in r], pa.string()),
            "_key": pa.array([x.get("key") for x in r], pa.string()),
            "_member": pa.array([x.get("member_id") for x in r], pa.string()),
        }
    )
    bad = pa.RecordBatch.from_pydict({f.name: rows[f.name] for f in schema}, schema=schema)
    return pa.Table.from_batches([good, bad]).combine_chunks().to_batches()[0]


def read_files(batches: Iterable[pa.RecordBatch], table: Table) -> Iterator[pa.RecordBatch]:
    """Task: read whole files with the embedded engine's reader (JSONL, or Parquet fallback).

    Input rows: ``path`` (local), ``display`` (the name quarantine entries give), ``fidx``.
    """
    for batch in batches:
        for path, display, fidx in zip(
            batch.column("path").to_pylist(),
            batch.column("display").to_pylist(),
            batch.column("fidx").to_pylist(),
            strict=True,
        ):
            for number, chunk in enumerate(reader.read_table(Path(path), table, display=display)):
                yield _unify(chunk, table, fidx, number)


def read_ids(batches: Iterable[pa.RecordBatch], column: str) -> Iterator[pa.RecordBatch]:
    """Task: one column of export files (``path``), as text. JSONL through the embedded
    engine's duplicate-id scan (DuckDB: :func:`~tamis.pipeline.build.raw_ids_sql`), so that both
    engines find the same duplicates (Spark's JSON reader skipped lines that tamis' reader
    accepts, and both copies of their id got in); Parquet that Spark's reader cannot read
    (nanosecond timestamps) through pyarrow."""
    for batch in batches:
        for path in batch.column("path").to_pylist():
            if path.endswith(".parquet"):
                for part in pq.ParquetFile(path).iter_batches(columns=[column]):
                    ids = part.column(0)
                    if not pa.types.is_string(ids.type):
                        ids = ids.cast(pa.string())
                    yield pa.RecordBatch.from_arrays([ids], names=[column])
                continue
            con = duckdb.connect()
            try:
                con.execute("SET threads = 1")  # one task a file: Spark runs them side by side
                con.execute(f"SET memory_limit = '{DUPLICATE_SCAN_MEMORY}'")
                reader = con.sql(raw_ids_sql(Path(path), column)).fetch_record_batch(65_536)
                for part in reader:
                    yield pa.RecordBatch.from_arrays([part.column(0)], names=[column])
            finally:
                con.close()


def validate_parquet(
    batches: Iterable[pa.RecordBatch], table: Table, files: dict[str, tuple[str, int]]
) -> Iterator[pa.RecordBatch]:
    """Task: validate rows that Spark's Parquet reader read, with the reader's own rules.

    Input rows: the table's columns present in the files, ``_path`` (Spark's file path) and
    ``_row`` (0-based row in its file). ``files`` maps a resolved local path (symbolic links
    followed: Spark reports the path it was given) to (display name, index).
    """
    raw_schema = reader._raw_schema(table)
    for batch in batches:
        if not batch.num_rows:
            continue
        paths = batch.column("_path")
        for uri in pc.unique(paths).to_pylist():
            part = batch.filter(pc.equal(paths, uri))
            display, fidx = files[os.path.realpath(local_path(uri))]
            arrays = []
            for c in table.columns:
                i = part.schema.get_field_index(c.name)
                if i < 0:
                    arrays.append(pa.nulls(part.num_rows, raw_schema.field(c.name).type))
                    continue
                col = part.column(i)
                if pa.types.is_large_list(col.type):
                    col = col.cast(pa.list_(pa.large_string()))
                arrays.append(reader._parquet_column(col, c, display))
            raw = pa.Table.from_arrays(arrays, names=raw_schema.names)
            lines = pc.add(part.column("_row"), 1).cast(pa.int64())
            chunk = reader._validate(raw, lines, table, display, [])
            valid_lines = chunk.valid.column("_line")
            chunk_no = pc.divide(pc.subtract(valid_lines, 1), reader.PARQUET_BATCH_ROWS)
            yield _unify(chunk, table, fidx, chunk_no.cast(pa.int64()))


# --- members -------------------------------------------------------------------------------------


def add_member_refs(
    batches: Iterable[pa.RecordBatch], key: PseudonymKey
) -> Iterator[pa.RecordBatch]:
    """Task: append ``member_ref`` (HMAC-SHA256 pseudonym) to rows with a ``member_id``."""
    for batch in batches:
        refs = pa.array(key.member_refs(batch.column("member_id").to_pylist()), pa.string())
        yield pa.RecordBatch.from_arrays(
            [*batch.columns, refs], names=[*batch.schema.names, "member_ref"]
        )


def profile_records(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Task: one text record per member and profile field group with a value (as the embedded
    engine's ``_profile_chunks``). Input: the members table's columns and ``member_ref``."""
    for raw in batches:
        if not raw.num_rows:
            continue
        refs = raw.column("member_ref").cast(pa.string())
        batch = conform(raw, MEMBERS.arrow_schema)
        n = batch.num_rows
        parts = []
        for group, (fields, _category) in PROFILE_FIELDS.items():
            text = _profile_text(batch, fields)
            present = pc.is_valid(text)
            if not pc.any(present).as_py():
                continue
            parts.append(
                pa.RecordBatch.from_arrays(
                    [
                        pc.binary_join_element_wise("profile", refs, group, ":"),
                        batch.column("member_id"),
                        pa.array([profile_kind(group)] * n, pa.string()),
                        batch.column("created_at"),
                        pa.nulls(n, pa.string()),
                        text,
                        pa.array([semantics.PROFILE_VISIBILITY] * n, pa.string()),
                        pa.array([0] * n, pa.int64()),
                        pa.nulls(n, pa.string()),
                    ],
                    schema=RECORD_INPUT_SCHEMA,
                ).filter(present)
            )
        if parts:
            yield from pa.Table.from_batches(parts).combine_chunks().to_batches()


# --- records -------------------------------------------------------------------------------------


def _tally_batch(rows: list[tuple[Any, ...]]) -> pa.RecordBatch:
    """Tally rows (``_t``, ``_a`` .. ``_d``, ``_n``, ``_i``, ``_j``) as a processed batch."""
    n = len(rows)
    cols: list[tuple[Any, ...]] = (
        list(zip(*rows, strict=True)) if rows else [() for _ in TALLY_FIELDS]
    )
    arrays = [pa.nulls(n, f.type) for f in RECORD_SCHEMA]
    arrays += [pa.array(list(col), f.type) for col, f in zip(cols, TALLY_FIELDS, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=PROCESSED_SCHEMA)


def _record_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    n = batch.num_rows
    arrays = [*batch.columns, *(pa.nulls(n, f.type) for f in TALLY_FIELDS)]
    return pa.RecordBatch.from_arrays(arrays, schema=PROCESSED_SCHEMA)


def process_records(
    batches: Iterable[pa.RecordBatch], text_stages: list[Stage]
) -> Iterator[pa.RecordBatch]:
    """Task: count classified records, run the text stages on the included ones.

    Input rows: the classification SQL's output (``reason`` null = in) with the carried column
    ``_q``: a quarantine entry (JSON) for rows the reader rejected or whose id is not unique;
    those become ``q`` tally rows and are neither counted as records nor classified further.
    """
    for raw in batches:
        if not raw.num_rows:
            continue
        tally_rows: list[tuple[Any, ...]] = []
        notes = raw.column("_q")
        carrier = pc.is_valid(notes)
        if pc.any(carrier).as_py():
            for text in notes.filter(carrier).to_pylist():
                q = json.loads(text)
                order = q["chunk"] * 2 + q["dup"]  # the embedded engine's order in a file
                tally_rows.append(  # Spark's to_json leaves null fields out
                    ("q", q["file"], q.get("field"), q["reason"], q.get("key"), q["line"],
                     q["fidx"], order)
                )  # fmt: skip
            raw = raw.filter(pc.invert(carrier))
        reasons = raw.column("reason")
        excluded = pc.is_valid(reasons)
        if pc.any(excluded).as_py():
            counts = Counter(
                zip(
                    reasons.filter(excluded).to_pylist(),
                    raw.column("kind").filter(excluded).to_pylist(),
                    raw.column("category").filter(excluded).to_pylist(),
                    strict=True,
                )
            )
            tally_rows += [("x", r, k, c, None, n, None, None) for (r, k, c), n in counts.items()]
        kept = raw.filter(pc.invert(excluded))
        if kept.num_rows:
            records = conform(kept, RECORD_SCHEMA)
            for offset in range(0, records.num_rows, STAGE_BATCH_ROWS):
                output = apply_stages(text_stages, records.slice(offset, STAGE_BATCH_ROWS))
                if output.batch.num_rows:
                    yield _record_batch(output.batch)
                    included = Counter(
                        zip(
                            output.batch.column("kind").to_pylist(),
                            output.batch.column("category").to_pylist(),
                            strict=True,
                        )
                    )
                    tally_rows += [
                        ("i", k, c, None, None, n, None, None) for (k, c), n in included.items()
                    ]
                tally_rows += [("x", r, k, c, None, n, None, None) for r, k, c, n in output.dropped]
                for stage, counter in output.counts.items():
                    tally_rows.append(("s", stage, None, None, None, 0, None, None))
                    tally_rows += [
                        ("s", stage, name, None, None, n, None, None) for name, n in counter.items()
                    ]
        if tally_rows:
            yield _tally_batch(tally_rows)


# --- deduplication -------------------------------------------------------------------------------

NORMALISED_SCHEMA = pa.schema([pa.field("record_id", pa.string()), pa.field("norm", pa.string())])
SIGNATURE_SCHEMA = pa.schema([pa.field("record_id", pa.string()), pa.field("sig", pa.binary())])
BAND_KEY_SCHEMA = pa.schema(
    [pa.field("record_id", pa.string()), pa.field("keys", pa.list_(pa.int64()))]
)
EDGE_SCHEMA = pa.schema([pa.field("a", pa.string()), pa.field("b", pa.string())])
PII_VALUE_SCHEMA = pa.schema([pa.field("type", pa.string()), pa.field("value", pa.binary())])


def normalise_texts(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Task: ``record_id``, ``text`` -> ``record_id``, ``norm``
    (:func:`tamis.dedup.normalise_text`)."""
    from tamis.dedup import normalise_text

    for batch in batches:
        if batch.num_rows:
            yield pa.RecordBatch.from_arrays(
                [
                    batch.column("record_id").cast(pa.string()),
                    normalise_text(batch.column("text")).cast(pa.string()),
                ],
                schema=NORMALISED_SCHEMA,
            )


def lsh_band_keys(batches: Iterable[pa.RecordBatch], config: Any) -> Iterator[pa.RecordBatch]:
    """Task: ``record_id``, ``norm`` -> ``record_id``, ``keys`` (one LSH key per band of the
    text's MinHash signature): the embedded engine's :func:`~tamis.dedup._minhash.lsh_keys`."""
    from tamis.dedup._minhash import lsh_keys

    for batch in batches:
        if not batch.num_rows:
            continue
        keys = lsh_keys(batch.column("norm"), config)
        offsets = pa.array(range(0, keys.size + 1, config.bands), pa.int32())
        yield pa.RecordBatch.from_arrays(
            [
                batch.column("record_id").cast(pa.string()),
                pa.ListArray.from_arrays(offsets, pa.array(keys.ravel(), pa.int64())),
            ],
            schema=BAND_KEY_SCHEMA,
        )


def minhash_signatures(batches: Iterable[pa.RecordBatch], config: Any) -> Iterator[pa.RecordBatch]:
    """Task: ``record_id``, ``norm`` -> ``record_id``, ``sig`` (the MinHash signature as
    ``num_perm`` little-endian uint32): the embedded engine's
    :func:`~tamis.dedup._minhash.signatures`, for the records of candidate pairs."""
    from tamis.dedup._minhash import signature_column, signatures

    for batch in batches:
        if batch.num_rows:
            yield pa.RecordBatch.from_arrays(
                [
                    batch.column("record_id").cast(pa.string()),
                    signature_column(signatures(batch.column("norm"), config)),
                ],
                schema=SIGNATURE_SCHEMA,
            )


def confirm_pairs(
    batches: Iterable[pa.RecordBatch], threshold: float, num_perm: int
) -> Iterator[pa.RecordBatch]:
    """Task: candidate pairs ``a``, ``b``, ``sig_a``, ``sig_b`` -> the pairs whose estimated
    Jaccard similarity reaches ``threshold`` (:func:`~tamis.dedup._minhash.similar`)."""
    from tamis.dedup._minhash import signature_matrix, similar

    for batch in batches:
        if not batch.num_rows:
            continue
        ok = similar(
            signature_matrix(batch.column("sig_a"), num_perm),
            signature_matrix(batch.column("sig_b"), num_perm),
            threshold,
        )
        if ok.any():
            mask = pa.array(ok)
            yield pa.RecordBatch.from_arrays(
                [batch.column("a").filter(mask), batch.column("b").filter(mask)],
                schema=EDGE_SCHEMA,
            )


def pii_value_digests(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Task: ``text`` -> one ``type``, ``value`` row per detected PII string, where ``value`` is
    a 16-byte BLAKE2b digest of the type and normalised string (never the string itself): the
    repetition report (:func:`tamis.dedup.pii_copies`) counts equal values."""
    import hashlib

    from tamis.dedup._pii import pii_values

    detector = _fast_pii()
    for batch in batches:
        if not batch.num_rows:
            continue
        found = pii_values(batch.column("text").to_pylist(), detector)
        if found:
            yield pa.RecordBatch.from_arrays(
                [
                    pa.array([t for t, _v in found], pa.string()),
                    pa.array(
                        [
                            hashlib.blake2b(f"{t}\x00{v}".encode(), digest_size=16).digest()
                            for t, v in found
                        ],
                        pa.binary(),
                    ),
                ],
                schema=PII_VALUE_SCHEMA,
            )


_PII_ENGINE: list[Any] = []


def _fast_pii() -> Any:
    """The ``fast`` PII engine the embedded engine's report uses, built once per worker."""
    if not _PII_ENGINE:
        from tamis.pii.engine import PiiEngine

        _PII_ENGINE.append(PiiEngine.for_mode("fast"))
    return _PII_ENGINE[0]
