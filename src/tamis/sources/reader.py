"""Read export tables (JSONL, Parquet file, Parquet folder) as validated Arrow batches.

Every row either comes out valid, typed as the table's Arrow schema (plus ``_file`` and ``_line``
locating it; ``_line`` is the 1-based line of a JSONL file or the 1-based row of a Parquet file),
or is rejected with the file, line, field and reason. Nothing is dropped silently. Only a file
that cannot be read at all (one that cannot be opened, a Parquet file that is corrupt, holds text
that is not UTF-8 or a column of the wrong type) raises :class:`~tamis.errors.InputError`; in
JSONL each line stands alone, and a line that is not a UTF-8 JSON object is rejected.

JSONL is parsed by Arrow's multi-threaded JSON reader a block at a time; a block that Arrow
rejects (a malformed line, a value of the wrong JSON type, a key given twice) is re-read line by
line to find and reject exactly the bad lines, so one bad line costs one block's slow path, not
the whole file. Every row that comes out was parsed by Arrow: the slow path only tells the bad
lines apart, then hands the others back to Arrow.
"""

from __future__ import annotations

import codecs
import functools
import glob
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson
import pyarrow.parquet as pq

from tamis.errors import InputError
from tamis.sources.schema import Column, Table
from tamis.timefmt import parse_instants, to_microseconds

BLOCK_BYTES = 8 << 20
PARQUET_BATCH_ROWS = 65_536
_DATE = r"^\d{4}-\d{2}-\d{2}$"
_RAW_STRING = rb'"\s*:\s*"((?:[^"\\]|\\.){1,400})"'  # after a key: its string value

# How each column kind is read before validation (timestamps and dates as text).
_RAW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "timestamp": pa.string(),
    "date": pa.string(),
    "bool": pa.bool_(),
    "number": pa.float64(),
    "string_list": pa.list_(pa.string()),
}


@dataclass
class ReadChunk:
    """Valid rows of one block (``_file``/``_line`` appended) and the rows rejected from it.

    A reject is a dict: ``file``, ``line``, ``field`` (or None when the whole line is bad),
    ``reason``, ``key`` (the row's id when it could be read) and ``member_id`` (idem).
    """

    valid: pa.RecordBatch
    rejects: list[dict[str, Any]] = field(default_factory=list)


def _hidden(part: str) -> bool:
    """Spark's and Hadoop's rule for the parts of a table folder: a name starting with ``.`` is
    skipped, and one starting with ``_`` unless it is a partition folder (``_source=form``)."""
    return part.startswith(".") or (part.startswith("_") and "=" not in part)


def table_files(export_dir: Path, name: str) -> list[Path]:
    """The files holding a table: ``name.jsonl``, ``name.parquet``, or the Parquet parts of a
    folder ``name/`` or ``name.parquet/`` (as Spark writes a table), read recursively.

    In a folder, a path with a hidden part (:func:`_hidden`) is skipped, as Spark, Hadoop and
    Arrow datasets skip it (``_SUCCESS``, ``.crc`` files, an aborted job's ``_temporary/``
    copies). A file that looks like the table but is not read (``name.ndjson``,
    ``name.jsonl.gz``, ``name/part-0.json``) stops the build rather than being passed over:
    for consent events, passing it over would lose its objections."""
    files = [export_dir / f"{name}.jsonl", export_dir / f"{name}.parquet"]
    folders = [export_dir / name, export_dir / f"{name}.parquet"]
    found = [p for p in files if p.is_file()]
    unread = sorted(
        p.name + ("/" if p.is_dir() else "")
        for p in export_dir.glob(f"{glob.escape(name)}.*")
        if not ((p in files and p.is_file()) or (p in folders and p.is_dir()))
    )
    parts: dict[Path, list[Path]] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        read, passed_over = folder_parts(folder)
        unread += [f"{folder.name}/{p}" for p in passed_over]
        if read:
            parts[folder] = read
            found.append(folder)
    if unread:
        raise InputError(
            f"table {name}: {', '.join(unread[:5])} {'is' if len(unread) == 1 else 'are'} not "
            f"read (a table is {name}.jsonl, {name}.parquet or a folder of Parquet parts): "
            "convert, rename or move it, so that none of its rows is passed over",
            file=str(export_dir),
        )
    if len(found) > 1:
        raise InputError(
            f"table {name} is given more than once ({', '.join(p.name for p in found)}); keep one",
            file=str(export_dir),
        )
    if not found:
        return []
    return parts.get(found[0], found)


def folder_parts(folder: Path) -> tuple[list[Path], list[str]]:
    """The Parquet parts of a table folder, read recursively in name order, skipping paths with
    a hidden part (:func:`_hidden`); and the other files it holds (relative paths), which are
    not read and must not be passed over silently."""
    parts: list[Path] = []
    unread: list[str] = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).parts
        if any(_hidden(part) for part in relative) or path.is_dir():
            continue
        if path.suffix == ".parquet":
            parts.append(path)
        else:
            unread.append("/".join(relative))
    return parts, unread


def read_table(path: Path, table: Table, *, display: str | None = None) -> Iterator[ReadChunk]:
    """Stream one file of a table as validated chunks."""
    name = display or str(path)
    if path.suffix == ".jsonl":
        yield from _read_jsonl(path, table, name)
    elif path.suffix == ".parquet":
        yield from _read_parquet(path, table, name)
    else:
        raise InputError("unsupported file type (expected .jsonl or .parquet)", file=name)


# --- JSONL -------------------------------------------------------------------------------------


def _raw_schema(table: Table) -> pa.Schema:
    return pa.schema([pa.field(c.name, _RAW_TYPES[c.kind]) for c in table.columns])


def _read_jsonl(path: Path, table: Table, name: str) -> Iterator[ReadChunk]:
    schema = _raw_schema(table)
    options = pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    first_line = 1
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror}", file=name) from None
    with handle:
        # A byte order mark opening the file (Windows tools write one) is not data: skipped, as
        # DuckDB and Python's utf-8-sig do; anywhere else it stays part of its line.
        carry = handle.read(len(codecs.BOM_UTF8)).removeprefix(codecs.BOM_UTF8)
        while True:
            data = handle.read(BLOCK_BYTES)
            block = carry + data
            if not data:
                if block.strip():
                    block += b"\n"
                else:
                    break
                carry = b""
            else:
                cut = block.rfind(b"\n")
                if cut < 0:
                    carry = block
                    continue
                block, carry = block[: cut + 1], block[cut + 1 :]
            n_lines = block.count(b"\n")
            raw: pa.Table | None = None
            rejects: list[dict[str, Any]] = []
            # Arrow's reader only when every line starts with '{': it skips blank lines (with a
            # line holding two objects, numbering would drift) and pyarrow 26 crashes (SIGSEGV)
            # on a row that is not an object, e.g. a line `null`.
            if block.startswith(b"{") and block.count(b"\n{") == n_lines - 1 and _is_utf8(block):
                try:
                    raw = pajson.read_json(io.BytesIO(block), parse_options=options)
                    if raw.num_rows != n_lines:  # a line with two objects
                        raw = None
                    else:
                        # Arrow's JSON reader does not check that strings are UTF-8 (a text
                        # written in Latin-1): such lines are not JSON, and go the slow way
                        raw.validate(full=True)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    raw = None
            if raw is not None:
                line_numbers = _numbers(first_line, n_lines)
            else:
                raw, line_numbers, rejects = _slow_parse(block, table, schema, first_line, name)
            yield _validate(raw, line_numbers, table, name, rejects)
            first_line += n_lines
            if not data:
                break


def _is_utf8(block: bytes) -> bool:
    """Whether the whole block is UTF-8. JSONL is UTF-8: a line with other bytes anywhere, even
    in a key the table does not read, goes the slow way and is rejected there (orjson refuses
    it), so that whether it is read does not depend on the keys it holds nor on the other lines
    of its block, and the duplicate-id scan (which skips it too) sees what the reader sees."""
    try:
        block.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _slow_parse(
    block: bytes, table: Table, schema: pa.Schema, first_line: int, name: str
) -> tuple[pa.Table, pa.Array, list[dict[str, Any]]]:
    """A block that Arrow's reader refused, line by line: orjson finds the lines that are not
    JSON objects or hold a value of the wrong JSON type; the others are parsed by Arrow again,
    so that every row that comes out was read by the same parser as a fast block's."""
    good: list[_Line] = []
    rejects: list[dict[str, Any]] = []
    for offset, line in enumerate(block.split(b"\n")[:-1]):
        number = first_line + offset
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            # Fail closed: a broken line that still names members puts each of them out.
            named: list[str | None] = [*_members_named(line)]
            for member in named or [None]:
                rejects.append(
                    _reject(name, number, None, f"not valid JSON ({exc.msg})", None, member)
                )
            continue
        if not isinstance(obj, dict):
            rejects.append(_reject(name, number, None, "a line must be a JSON object", None))
            continue
        key = obj.get(table.key) if table.key else None
        member = obj.get("member_id")
        parsed = _Line(
            line,
            number,
            key if isinstance(key, str) else None,
            member if isinstance(member, str) else None,
        )
        problem = next(
            (
                (c.name, msg)
                for c in table.columns
                if (msg := _type_problem(c, obj.get(c.name))) is not None
            ),
            None,
        )
        if problem is not None:
            rejects.append(_reject(name, number, *problem, parsed.key, parsed.member_id))
            continue
        good.append(parsed)
    pieces = list(_arrow_parse(good, schema, name, rejects))
    raw = pa.concat_tables([t for t, _ in pieces]) if pieces else schema.empty_table()
    numbers = pa.array([line.number for _, held in pieces for line in held], pa.int64())
    return raw, numbers, rejects


@dataclass
class _Line:
    """A line of a slow block that orjson read as an object with values of the right types."""

    text: bytes
    number: int
    key: str | None
    member_id: str | None


_REPEATED_KEY = re.compile(r"Column\(/(.+?)\) was specified twice")


def _arrow_parse(
    lines: list[_Line], schema: pa.Schema, name: str, rejects: list[dict[str, Any]]
) -> Iterator[tuple[pa.Table, list[_Line]]]:
    """Arrow's reading of ``lines``, as (table, the lines it holds) pieces in line order; a line
    Arrow refuses (a key given twice, whose value would depend on the parser) is rejected. The
    lines are read all at once, and a refused group is halved until the culprits are found."""
    if not lines:
        return
    options = pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    try:
        parsed = pajson.read_json(
            io.BytesIO(b"\n".join(line.text for line in lines) + b"\n"), parse_options=options
        )
        if parsed.num_rows == len(lines):
            yield parsed, lines
            return
        error = f"{parsed.num_rows} rows for {len(lines)} lines"
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        error = str(exc)
    if len(lines) > 1:
        half = len(lines) // 2
        yield from _arrow_parse(lines[:half], schema, name, rejects)
        yield from _arrow_parse(lines[half:], schema, name, rejects)
        return
    (line,) = lines
    repeated = _REPEATED_KEY.search(error)
    if repeated:
        field, reason = (
            repeated.group(1),
            f"key '{repeated.group(1)}' appears more than once in the object: which of its values "
            "counts would depend on the JSON parser",
        )
    else:
        field, reason = (
            None,
            f"refused by the JSON reader ({error.removeprefix('JSON parse error: ')})",
        )
    # {"member_id": "a", ..., "member_id": "b"}: both members are out, one reject each (and a
    # value that does not decode, None, names no member: the caller fails closed on it)
    own = [line.member_id] if line.member_id is not None else []
    named: list[str | None] = list(dict.fromkeys([*_members_named(line.text), *own]))
    for member in named or [None]:
        rejects.append(_reject(name, line.number, field, reason, line.key, member))


def _members_named(line: bytes) -> list[str | None]:
    """The member ids a raw line names (``"member_id": "..."``), first first (see
    :func:`raw_string_values`). A value that does not decode gives None: a member named but
    unknown, which a caller must treat as a line naming no member (fail closed)."""
    return list(dict.fromkeys(raw_string_values(line, "member_id")))


@functools.cache
def _raw_value_pattern(key: str) -> re.Pattern[bytes]:
    return re.compile(b'"' + re.escape(key.encode()) + _RAW_STRING)


def raw_string_values(line: bytes, key: str) -> list[str | None]:
    """The string values given to ``key`` in a raw line that may not be JSON (a truncated
    line), first first, JSON escapes decoded (``"m\\u00e91"`` is ``mé1``, as a writer with
    ``ensure_ascii`` spells it); None for a value that does not decode."""
    found: list[str | None] = []
    for raw in _raw_value_pattern(key).findall(line):
        try:
            value = orjson.loads(b'"' + raw + b'"')
        except orjson.JSONDecodeError:
            value = None
        found.append(value if isinstance(value, str) else None)
    return found


def _type_problem(column: Column, value: Any) -> str | None:
    if value is None:
        return None  # missing values are checked by the vectorised validation
    kind = column.kind
    if kind in ("string", "timestamp", "date"):
        ok = isinstance(value, str)
        expected = "a string"
    elif kind == "bool":
        ok = isinstance(value, bool)
        expected = "true or false"
    elif kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        expected = "a number"
    else:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        expected = "a list of strings"
    if ok:
        return None
    return f"expected {expected}, got {type(value).__name__} {orjson.dumps(value).decode()[:40]}"


def _reject(
    file: str,
    line: int,
    field_name: str | None,
    reason: str,
    key: str | None,
    member_id: str | None = None,
) -> dict[str, Any]:
    return {
        "file": file,
        "line": line,
        "field": field_name,
        "reason": reason,
        "key": key,
        "member_id": member_id,
    }


# --- Parquet -----------------------------------------------------------------------------------


def _read_parquet(path: Path, table: Table, name: str) -> Iterator[ReadChunk]:
    try:
        # pre_buffer=False: Arrow's read-ahead cache keeps every column chunk it fetched until
        # the file is closed (430 MB for a 10M-record content file); batches are read in order
        pf = pq.ParquetFile(path, pre_buffer=False)
        present = set(pf.schema_arrow.names)
    except (OSError, UnicodeDecodeError, pa.ArrowException) as exc:  # corrupt footer or names
        raise InputError(f"not a readable Parquet file ({exc})", file=name) from None
    missing = [c.name for c in table.columns if c.required and c.name not in present]
    if missing:
        raise InputError(f"required column(s) missing: {', '.join(missing)}", file=name)
    names = pf.schema_arrow.names
    repeated = [c.name for c in table.columns if names.count(c.name) > 1]
    if repeated:
        raise InputError(
            f"column {repeated[0]} appears {names.count(repeated[0])} times: which one holds "
            "its values is ambiguous",
            file=name,
            field=repeated[0],
        )
    columns = [c.name for c in table.columns if c.name in present]
    schema = _raw_schema(table)
    first = 1
    for batch in _batches(pf, columns, name):
        arrays = []
        for c in table.columns:
            if c.name in present:
                arrays.append(_parquet_column(batch.column(c.name), c, name))
            else:
                arrays.append(pa.nulls(batch.num_rows, schema.field(c.name).type))
        raw = pa.Table.from_arrays(arrays, names=schema.names)
        numbers = _numbers(first, batch.num_rows)
        first += batch.num_rows
        yield _validate(raw, numbers, table, name, [])


def _batches(pf: pq.ParquetFile, columns: list[str], name: str) -> Iterator[pa.RecordBatch]:
    """The file's batches; a corrupt page or footer is an InputError, not a crash."""
    # one thread: the build reads, classifies and writes on threads of its own, and Arrow's
    # decoding threads cost more CPU than they save wall time at this batch size
    batches = pf.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=columns, use_threads=False)
    while True:
        try:
            batch = next(batches, None)
        except (OSError, UnicodeDecodeError, pa.ArrowException) as exc:
            raise InputError(f"not a readable Parquet file ({exc})", file=name) from None
        if batch is None:
            return
        yield batch


def _parquet_column(values: pa.Array, column: Column, name: str) -> pa.Array:
    """Bring a Parquet column to its raw type (timestamps and dates as canonical text)."""
    t = values.type
    if column.kind == "timestamp" and pa.types.is_timestamp(t):
        if t.tz is None:
            raise InputError(
                "timestamp column has no time zone: its instants are ambiguous "
                "(write timestamp with tz=UTC)",
                file=name,
                field=column.name,
            )
        # typed: validation keeps it as is; nanoseconds are rounded as in text timestamps
        try:
            return to_microseconds(values, column.sub_microsecond)
        except pa.ArrowInvalid:
            raise InputError(
                f"column has type {t} with instants beyond what microseconds hold "
                "(about 290,000 years either side of 1970)",
                file=name,
                field=column.name,
            ) from None
    if column.kind == "date" and pa.types.is_date(t):
        return values.cast(pa.date32())
    target = _RAW_TYPES[column.kind]
    if not _castable(column.kind, t):
        # Arrow would cast 2 or 0.5 to true and "1e3" to 1000.0: a change of meaning, refused
        # as JSON refuses "false" for a boolean
        raise InputError(f"column has type {t}, expected {target}", file=name, field=column.name)
    if pa.types.is_large_string(t) or pa.types.is_string_view(t) or pa.types.is_dictionary(t):
        values = values.cast(pa.string()) if pa.types.is_string(target) else values
    try:
        cast = values.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise InputError(
            f"column has type {t}, expected {target}", file=name, field=column.name
        ) from None
    try:
        cast.validate(full=True)  # Parquet does not check that its strings are UTF-8
    except pa.ArrowInvalid:
        raise InputError(
            "column holds text that is not UTF-8", file=name, field=column.name
        ) from None
    return cast


def _castable(kind: str, t: pa.DataType) -> bool:
    """Whether a Parquet column of type ``t`` may be read as a column of ``kind``: booleans
    only from booleans, numbers only from numbers; text from text, integers, decimals, booleans
    and binary (integer ids included), but not from floats, instants, dates or times: their
    text has no one spelling (``100.0`` or ``100``, ``...00.000Z`` or ``...00.000000Z``), so an
    id written so would be one id to one reader (or engine) and another to the next, and a
    repeated id or an objection's member could be missed; a column of nulls as anything."""
    if pa.types.is_null(t):
        return True
    if kind == "bool":
        return bool(pa.types.is_boolean(t))
    if kind == "number":
        return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t))
    if kind == "string":
        return not (
            pa.types.is_floating(t)
            or pa.types.is_temporal(t)
            or (pa.types.is_dictionary(t) and not _castable(kind, t.value_type))
        )
    return True


def _numbers(first: int, n: int) -> pa.Array:
    """Line or row numbers ``first .. first + n - 1`` (made by NumPy: a Python range would be
    converted one integer at a time)."""
    return pa.array(np.arange(first, first + n, dtype=np.int64))


# --- validation --------------------------------------------------------------------------------


def _validate(
    raw: pa.Table,
    line_numbers: pa.Array,
    table: Table,
    name: str,
    rejects: list[dict[str, Any]],
) -> ReadChunk:
    """Check required values, allowed values, timestamps and dates; type the valid rows."""
    n = raw.num_rows
    reason = pa.nulls(n, pa.string())
    bad_field = pa.nulls(n, pa.string())
    typed: dict[str, pa.Array] = {}

    def flag(mask: pa.Array, field_name: str, message: Callable[[], pa.Array | str]) -> None:
        nonlocal reason, bad_field
        mask = pc.fill_null(mask, False)
        fresh = pc.and_(mask, pc.is_null(reason))
        if not pc.any(fresh).as_py():
            return
        reason = pc.if_else(fresh, message(), reason)
        bad_field = pc.if_else(fresh, field_name, bad_field)

    def quoted(col: pa.Array, text: str) -> Callable[[], pa.Array]:
        return lambda: pc.binary_join_element_wise(
            "'", pc.fill_null(col.cast(pa.string()), ""), text, ""
        )

    for c in table.columns:
        col = raw.column(c.name).combine_chunks() if n else pa.array([], _RAW_TYPES[c.kind])
        if c.required:
            missing = pc.is_null(col)
            if c.kind == "string" and c.name != "text":
                missing = pc.or_kleene(missing, pc.equal(col, ""))
            flag(missing, c.name, lambda: "required value is missing")
        if c.allowed is not None:
            bad = pc.invert(pc.is_in(col, value_set=pa.array(c.allowed)))
            bad = pc.and_(bad, pc.is_valid(col))
            flag(bad, c.name, quoted(col, f"' is not one of {', '.join(c.allowed)}"))
        if c.kind == "timestamp":
            instants, ok = parse_instants(col, sub_microsecond=c.sub_microsecond)
            flag(
                pc.invert(pc.fill_null(ok, True)),
                c.name,
                quoted(col, "' is not an RFC 3339 timestamp with an offset"),
            )
            typed[c.name] = instants
        elif c.kind == "date":
            dates, ok = _parse_dates(col)
            flag(
                pc.invert(pc.fill_null(ok, True)), c.name, quoted(col, "' is not a YYYY-MM-DD date")
            )
            typed[c.name] = dates
        else:
            typed[c.name] = col
    valid_mask = pc.is_null(reason)
    key_col = raw.column(table.key).combine_chunks() if table.key and n else None
    member_col = (
        raw.column("member_id").combine_chunks() if "member_id" in raw.column_names and n else None
    )
    if n and not pc.all(valid_mask).as_py():
        invalid = pc.invert(valid_mask)
        for line, fld, why, key, member in zip(
            line_numbers.filter(invalid).to_pylist(),
            bad_field.filter(invalid).to_pylist(),
            reason.filter(invalid).to_pylist(),
            (key_col.filter(invalid).to_pylist() if key_col is not None else [None] * n),
            (member_col.filter(invalid).to_pylist() if member_col is not None else [None] * n),
            strict=False,
        ):
            rejects.append(_reject(name, line, fld, why, key, member))
    arrays = [typed[c.name] for c in table.columns]
    arrays += [pa.repeat(pa.scalar(name, pa.string()), n), line_numbers]
    names = [*table.names, "_file", "_line"]
    batch = pa.RecordBatch.from_arrays(arrays, names=names)
    if n and not pc.all(valid_mask).as_py():
        batch = batch.filter(valid_mask)
    rejects.sort(key=lambda r: r["line"])
    return ReadChunk(batch, rejects)


def _parse_dates(col: pa.Array) -> tuple[pa.Array, pa.Array]:
    if pa.types.is_date(col.type):  # typed (Parquet): only the calendar's range to check
        in_range = pc.and_(pc.greater_equal(pc.year(col), 1), pc.less_equal(pc.year(col), 9999))
        ok = pc.if_else(pc.is_null(col), pa.scalar(None, pa.bool_()), in_range)
        return pc.if_else(pc.fill_null(ok, False), col, pa.scalar(None, pa.date32())), ok
    shaped = pc.match_substring_regex(col, _DATE)
    candidates = pc.if_else(shaped, col, pa.scalar(None, pa.string()))
    try:
        dates = candidates.cast(pa.date32())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        parsed: list[date | None] = []
        for text in candidates.to_pylist():
            try:
                parsed.append(None if text is None else date.fromisoformat(text))
            except ValueError:
                parsed.append(None)
        dates = pa.array(parsed, pa.date32())
    # Arrow's calendar has a year 0, Python's (and the contract's ISO 8601 dates) starts at 1.
    in_range = pc.fill_null(pc.greater_equal(pc.year(dates), 1), False)
    ok = pc.and_kleene(pc.and_kleene(shaped, pc.is_valid(dates)), in_range)
    ok = pc.if_else(pc.is_null(col), pa.scalar(None, pa.bool_()), ok)
    return pc.if_else(ok, dates, pa.scalar(None, pa.date32())), ok


__all__ = ["ReadChunk", "folder_parts", "read_table", "table_files"]
