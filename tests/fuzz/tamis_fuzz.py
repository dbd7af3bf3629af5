"""Oracles shared by the fuzz targets: the hypothesis tests (``tests/fuzz``) and the atheris
harnesses (``fuzz/``) feed them inputs; each raises :class:`AssertionError` when a property fails.

Properties:

- an export reader either raises :class:`~tamis.errors.InputError` (the file cannot be read at
  all) or accounts for every line: lines in == valid rows + rejects + blank lines, each line once,
  and every reject carries the file, its line and a reason;
- a valid JSONL row is the row its line holds (no drift between lines and rows);
- the policy loader raises nothing but :class:`~tamis.errors.PolicyError`;
- timestamp parsing raises nothing but :class:`~tamis.errors.TimestampError`, returns an aware UTC
  instant, and the vectorised parser agrees with the scalar one.

The budget of examples per target is ``$TAMIS_FUZZ_EXAMPLES`` (default: a small CI budget).
When ``$TAMIS_FUZZ_TALLY`` is set, each process writes its ``{"target": n}`` counts to
``$TAMIS_FUZZ_TALLY.<pid>``, so that ``fuzz/tally.py`` can print how many examples each target ran.
"""

from __future__ import annotations

import atexit
import codecs
import collections
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from tamis.errors import InputError, PolicyError, TimestampError
from tamis.sources.reader import read_table
from tamis.sources.schema import Table

CI_EXAMPLES = 60
BUDGET_ENV = "TAMIS_FUZZ_EXAMPLES"
TALLY_ENV = "TAMIS_FUZZ_TALLY"

_counts: collections.Counter[str] = collections.Counter()


def budget(scale: float = 1.0) -> int:
    """Examples per target: ``$TAMIS_FUZZ_EXAMPLES`` (default :data:`CI_EXAMPLES`)."""
    return max(1, int(int(os.environ.get(BUDGET_ENV) or CI_EXAMPLES) * scale))


def count(target: str) -> None:
    _counts[target] += 1
    if _counts.total() % 200 == 0:
        write_tally()


@atexit.register
def write_tally() -> None:
    """Each process keeps its counts in ``$TAMIS_FUZZ_TALLY.<pid>`` (rewritten as it goes)."""
    path = os.environ.get(TALLY_ENV)
    if path and _counts:
        Path(f"{path}.{os.getpid()}").write_text(json.dumps(dict(_counts)) + "\n")


# -- readers ------------------------------------------------------------------------------------


def _check_reject(reject: dict[str, Any], display: str, n_lines: int | None) -> None:
    assert reject["file"] == display, reject
    assert isinstance(reject["line"], int) and reject["line"] >= 1, reject
    if n_lines is not None:
        assert reject["line"] <= n_lines, reject
    assert isinstance(reject["reason"], str) and reject["reason"].strip(), reject
    assert reject["field"] is None or isinstance(reject["field"], str), reject


def check_jsonl(data: bytes, table: Table, workdir: Path | None = None) -> tuple[int, int, int]:
    """Read ``data`` as a JSONL file of ``table``; return (valid, rejected, blank) line counts."""
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        path = Path(tmp) / f"{table.name}.jsonl"
        path.write_bytes(data)
        display = path.name
        try:
            chunks = list(read_table(path, table, display=display))
        except InputError as exc:
            assert str(exc).strip()
            return 0, 0, 0
    lines = data.removeprefix(codecs.BOM_UTF8).split(b"\n")  # a leading BOM is not data
    if lines and lines[-1] == b"":
        lines.pop()  # the final newline ends the last line; it does not start one
    n_lines = len(lines)
    blank = {i + 1 for i, line in enumerate(lines) if not line.strip()}
    seen: dict[int, str] = {}
    n_valid = n_rejected = 0
    for chunk in chunks:
        rows = chunk.valid.to_pylist()
        for row in rows:
            line = row["_line"]
            assert row["_file"] == display, row
            assert line not in seen, f"line {line} came out twice ({seen[line]} and valid)"
            seen[line] = "valid"
            n_valid += 1
            assert 1 <= line <= n_lines and line not in blank, f"valid row from line {line}"
            source = orjson.loads(lines[line - 1])  # a valid row's line is valid JSON
            assert isinstance(source, dict)
            if table.key:
                assert row[table.key] == source.get(table.key), (line, row, source)
        for reject in chunk.rejects:
            _check_reject(reject, display, n_lines)
            line = reject["line"]
            if seen.get(line) == "rejected":  # a line naming several members: one reject each
                assert reject["member_id"] is not None, reject
                continue
            assert line not in seen, f"line {line} came out twice ({seen[line]} and rejected)"
            assert line not in blank, f"blank line {line} rejected"
            seen[line] = "rejected"
            n_rejected += 1
    missing = sorted(set(range(1, n_lines + 1)) - set(seen) - blank)
    assert not missing, f"lines silently dropped: {missing[:10]}"
    assert n_valid + n_rejected + len(blank) == n_lines
    return n_valid, n_rejected, len(blank)


def check_parquet_bytes(data: bytes, table: Table, workdir: Path | None = None) -> int:
    """Read arbitrary bytes as a Parquet file of ``table``: InputError, or every row accounted."""
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        path = Path(tmp) / f"{table.name}.parquet"
        path.write_bytes(data)
        return _check_parquet_path(path, table, None)


def check_parquet_table(data: pa.Table, table: Table, workdir: Path | None = None) -> int:
    """Write ``data`` as Parquet and read it back: InputError, or every row accounted."""
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        path = Path(tmp) / f"{table.name}.parquet"
        pq.write_table(data, path, row_group_size=max(1, data.num_rows // 2 or 1))
        return _check_parquet_path(path, table, data.num_rows)


def _check_parquet_path(path: Path, table: Table, n_rows: int | None) -> int:
    display = path.name
    try:
        chunks = list(read_table(path, table, display=display))
    except InputError as exc:
        assert str(exc).strip()
        return -1
    seen: set[int] = set()
    for chunk in chunks:
        for line in chunk.valid.column("_line").to_pylist():
            assert line not in seen, f"row {line} came out twice"
            seen.add(line)
        for reject in chunk.rejects:
            _check_reject(reject, display, n_rows)
            assert reject["line"] not in seen, f"row {reject['line']} came out twice"
            seen.add(reject["line"])
    if n_rows is not None:
        assert seen == set(range(1, n_rows + 1)), "rows silently dropped"
    else:
        assert seen == set(range(1, len(seen) + 1)), "rows silently dropped"
    return len(seen)


# -- policies -----------------------------------------------------------------------------------


def check_policy(data: bytes) -> bool:
    """Parse ``data`` as a policy file: a policy, or a PolicyError with a message."""
    from tamis.policy.loader import parse_policy

    try:
        loaded = parse_policy(data, "fuzz.yaml")
    except PolicyError as exc:
        message = str(exc)
        assert message.strip() and "Traceback" not in message
        assert exc.line is None or (isinstance(exc.line, int) and exc.line >= 1), exc.line
        return False
    assert isinstance(loaded.policy.name, str)  # may be empty: the model allows it (see docs)
    return True


# -- timestamps ---------------------------------------------------------------------------------


def check_timestamp(text: str) -> datetime | None:
    """Scalar and vectorised parsing agree in each rounding, and fail only with TimestampError;
    an instant finer than a microsecond is refused unless a rounding is asked for."""
    from tamis.timefmt import format_instant, parse_instant, parse_instants

    value: datetime | None = None
    for mode in ("floor", "ceil"):
        try:
            value = parse_instant(text, sub_microsecond=mode)  # type: ignore[arg-type]
        except TimestampError as exc:
            assert str(exc).strip()
            value = None
        if value is not None:
            assert value.tzinfo is not None and value.utcoffset() == UTC.utcoffset(None)
            assert parse_instant(format_instant(value)) == value  # canonical form round-trips
        instants, ok = parse_instants(pa.array([text], pa.string()), sub_microsecond=mode)  # type: ignore[arg-type]
        got = instants[0].as_py()
        assert ok[0].as_py() is (value is not None), (text, mode, value, got)
        assert got == value, (text, mode, value, got)
    floor = parse_instants(pa.array([text], pa.string()))[0][0].as_py()
    try:
        refused = parse_instant(text)
    except TimestampError:
        refused = None
    assert refused is None or refused == floor == value, (text, refused, floor, value)
    return refused
