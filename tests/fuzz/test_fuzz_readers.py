"""Fuzzing the export readers (JSONL and Parquet; CSV is not an input format of tamis).

Inputs mix well-formed rows, rows with one field broken (wrong JSON type, missing, bad timestamp,
value not allowed), lines that are not JSON or not objects, blank lines, CR/LF, invalid UTF-8 and
random bytes. Oracle: :func:`tamis_fuzz.check_jsonl` / :func:`tamis_fuzz.check_parquet_table`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tamis_fuzz import budget, check_jsonl, check_parquet_bytes, check_parquet_table, count

from tamis.sources.schema import CONSENT_EVENTS, CONTENT, MEMBERS, Table

FUZZ = settings(
    max_examples=budget(),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

TABLES = {"content": CONTENT, "members": MEMBERS, "consent_events": CONSENT_EVENTS}

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
timestamps = st.one_of(
    st.sampled_from(
        [
            "2025-06-01T12:00:00Z",
            "2025-06-01T12:00:00+02:00",
            "2025-06-01 12:00:00.123456789-05:30",
            "2025-06-01T12:00:00",
            "2025-02-30T00:00:00Z",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00",
            "2025-06-01T24:00:00Z",
            "2025-06-01T12:00:60Z",
            "2025-06-01T12:00:00+24:00",
            "",
        ]
    ),
    st.text(alphabet="0123456789-:TZ+. tz", max_size=30),
)
dates = st.one_of(
    st.sampled_from(["1980-05-05", "2024-02-29", "2023-02-29", "0000-01-01", "1980-5-5", ""]),
    st.text(alphabet="0123456789-", max_size=12),
)


def _value_for(kind: str, allowed: tuple[str, ...] | None) -> st.SearchStrategy[object]:
    if allowed is not None:
        return st.sampled_from(allowed)
    return {
        "string": st.text(max_size=20),
        "timestamp": st.sampled_from(["2025-06-01T12:00:00Z", "2020-01-01T00:00:00+01:00"]),
        "date": st.sampled_from(["1980-05-05", "2001-12-31"]),
        "bool": st.booleans(),
        "number": st.integers(0, 10**6) | st.floats(0, 1e6),
        "string_list": st.lists(st.text(max_size=8), max_size=3),
    }[kind]


def _broken_value(kind: str) -> st.SearchStrategy[object]:
    return st.one_of(
        json_values,
        timestamps if kind == "timestamp" else dates if kind == "date" else st.text(max_size=10),
    )


@st.composite
def rows(draw: st.DrawFn, table: Table) -> dict[str, object]:
    row: dict[str, object] = {}
    for c in table.columns:
        if c.required or draw(st.booleans()):
            row[c.name] = draw(_value_for(c.kind, c.allowed))
    if table.key:
        row[table.key] = draw(st.text(min_size=1, max_size=8))
    for c in draw(st.lists(st.sampled_from(table.columns), max_size=2)):
        action = draw(st.sampled_from(["break", "drop", "null"]))
        if action == "break":
            row[c.name] = draw(_broken_value(c.kind))
        elif action == "drop":
            row.pop(c.name, None)
        else:
            row[c.name] = None
    if draw(st.booleans()):
        row[draw(st.text(max_size=6))] = draw(json_values)  # unexpected field
    return row


@st.composite
def jsonl_lines(draw: st.DrawFn, table: Table) -> bytes:
    kind = draw(
        st.sampled_from(
            ["row", "row", "row", "blank", "garbage", "nonobject", "truncated", "two", "bytes"]
        )
    )
    if kind == "row":
        line = orjson.dumps(draw(rows(table)))
        return line + draw(st.sampled_from([b"", b"\r", b" ", b"\t"]))
    if kind == "blank":
        return draw(st.sampled_from([b"", b" ", b"\r", b"\t \r", b"\x0c", b"\x0b"]))
    if kind == "garbage":
        return draw(st.text(max_size=30)).replace("\n", " ").encode("utf-8", "surrogatepass")
    if kind == "nonobject":
        return orjson.dumps(draw(json_values.filter(lambda v: not isinstance(v, dict))))
    if kind == "truncated":
        whole = orjson.dumps(draw(rows(table)))
        return whole[: draw(st.integers(0, max(0, len(whole) - 1)))]
    if kind == "two":  # two objects on one line, separated by blanks or a lone CR
        sep = draw(st.sampled_from([b" ", b"\r", b"", b"\t"]))
        return orjson.dumps(draw(rows(table))) + sep + orjson.dumps(draw(rows(table)))
    return draw(st.binary(max_size=30)).replace(b"\n", b"")


@st.composite
def jsonl_files(draw: st.DrawFn) -> tuple[Table, bytes]:
    table = TABLES[draw(st.sampled_from(sorted(TABLES)))]
    lines = draw(st.lists(jsonl_lines(table), max_size=12))
    ending = draw(st.sampled_from([b"\n", b"", b"\r\n"]))
    return table, b"\n".join(lines) + (ending if lines else b"")


@FUZZ
@given(jsonl_files())
def test_jsonl_every_line_is_valid_rejected_or_blank(case: tuple[Table, bytes]) -> None:
    count("readers.jsonl")
    table, data = case
    check_jsonl(data, table)


@FUZZ
@given(st.binary(max_size=400), st.sampled_from(sorted(TABLES)))
def test_jsonl_random_bytes(data: bytes, table: str) -> None:
    count("readers.jsonl_bytes")
    check_jsonl(data, TABLES[table])


def test_jsonl_small_blocks_keep_line_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lines that straddle reader blocks keep their numbers (blocks of a few bytes)."""
    from tamis.sources import reader

    monkeypatch.setattr(reader, "BLOCK_BYTES", 7)
    good = orjson.dumps(
        {
            "record_id": "r1",
            "member_id": "m1",
            "kind": "post",
            "created_at": "2025-06-01T12:00:00Z",
            "text": "hi",
            "visibility": "public",
        }
    )
    data = b"\n".join([good, b"", b"{oops", good.replace(b"r1", b"r4"), b"  "]) + b"\n"
    valid, rejected, blank = check_jsonl(data, CONTENT, tmp_path)
    assert (valid, rejected, blank) == (2, 1, 2)


# -- Parquet ------------------------------------------------------------------------------------

_ARROW_CHOICES: dict[str, list[pa.DataType]] = {
    "string": [pa.string(), pa.large_string(), pa.int64(), pa.dictionary(pa.int32(), pa.string())],
    "timestamp": [
        pa.timestamp("us", "UTC"),
        pa.timestamp("ns", "+02:00"),
        pa.timestamp("ms"),
        pa.string(),
        pa.int64(),
    ],
    "date": [pa.date32(), pa.string(), pa.timestamp("s", "UTC")],
    "bool": [pa.bool_(), pa.string(), pa.int8()],
    "number": [pa.float64(), pa.int32(), pa.string(), pa.decimal128(10, 2)],
    "string_list": [pa.list_(pa.string()), pa.string(), pa.list_(pa.int64())],
}


def _arrow_values(draw: st.DrawFn, data_type: pa.DataType, kind: str, n: int) -> pa.Array:
    if pa.types.is_dictionary(data_type):
        return _arrow_values(draw, pa.string(), kind, n).dictionary_encode()
    if pa.types.is_timestamp(data_type):
        per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[data_type.unit]
        span = st.integers(-2_208_988_800 * per_second, 7_258_118_400 * per_second)  # 1900-2200
        ticks = [draw(span | st.none()) for _ in range(n)]
        return pa.array(ticks, pa.int64()).cast(data_type)
    if pa.types.is_date(data_type):
        return pa.array([draw(st.dates() | st.none()) for _ in range(n)], data_type)
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        strings = (
            timestamps if kind == "timestamp" else dates if kind == "date" else st.text(max_size=10)
        )
        return pa.array([draw(strings | st.none()) for _ in range(n)], data_type)
    if pa.types.is_boolean(data_type):
        return pa.array([draw(st.booleans() | st.none()) for _ in range(n)], data_type)
    if pa.types.is_integer(data_type):
        bits = data_type.bit_width - 1
        ints = st.integers(-(2**bits), 2**bits - 1)
        return pa.array([draw(ints | st.none()) for _ in range(n)], data_type)
    if pa.types.is_floating(data_type):
        return pa.array([draw(st.floats() | st.none()) for _ in range(n)], data_type)
    if pa.types.is_decimal(data_type):
        return pa.array([None] * n, data_type)
    inner = data_type.value_type
    items = st.text(max_size=5) if pa.types.is_string(inner) else st.integers(0, 9)
    return pa.array([draw(st.lists(items, max_size=3) | st.none()) for _ in range(n)], data_type)


@st.composite
def parquet_tables(draw: st.DrawFn) -> tuple[Table, pa.Table]:
    table = TABLES[draw(st.sampled_from(sorted(TABLES)))]
    n = draw(st.integers(0, 8))
    arrays, names = [], []
    for c in table.columns:
        if not c.required and draw(st.booleans()):
            continue
        if c.required and draw(st.integers(0, 20)) == 0:
            continue  # a required column missing: InputError
        natural = draw(st.integers(0, 3)) > 0
        choices = _ARROW_CHOICES[c.kind]
        data_type = choices[0] if natural else draw(st.sampled_from(choices))
        if natural and c.allowed is not None:
            values = pa.array([draw(st.sampled_from(c.allowed) | st.none()) for _ in range(n)])
        else:
            values = _arrow_values(draw, data_type, c.kind, n)
        arrays.append(values)
        names.append(c.name)
    if draw(st.booleans()):
        arrays.append(pa.array(range(n), pa.int64()))
        names.append("_extra")
    return table, pa.Table.from_arrays(arrays, names=names)


@FUZZ
@given(parquet_tables())
def test_parquet_every_row_is_valid_or_rejected(case: tuple[Table, pa.Table]) -> None:
    count("readers.parquet")
    table, data = case
    check_parquet_table(data, table)


def _valid_parquet() -> bytes:
    import io

    rows = [
        {
            "record_id": f"r{i}",
            "member_id": "m1",
            "kind": "post",
            "created_at": datetime(2025, 6, 1, tzinfo=UTC),
            "text": "hello",
            "visibility": "public",
        }
        for i in range(20)
    ]
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), sink, row_group_size=5)
    return sink.getvalue()


_VALID_PARQUET = _valid_parquet()


@FUZZ
@given(
    st.lists(st.tuples(st.integers(0, len(_VALID_PARQUET) - 1), st.integers(0, 255)), max_size=6),
    st.integers(0, len(_VALID_PARQUET)),
)
def test_parquet_corrupted_bytes(flips: list[tuple[int, int]], keep: int) -> None:
    count("readers.parquet_bytes")
    data = bytearray(_VALID_PARQUET)
    for at, value in flips:
        data[at] = value
    check_parquet_bytes(bytes(data[: max(keep, len(data) - keep)]), CONTENT)


def test_parquet_text_that_is_not_utf8_is_an_input_error(tmp_path: Path) -> None:
    """Found by test_parquet_corrupted_bytes: Parquet does not check UTF-8, Arrow's to_pylist
    then raised UnicodeDecodeError while quoting the value in a reject."""
    from tamis.errors import InputError
    from tamis.sources.reader import read_table

    table = pa.Table.from_pylist(pq.read_table(pa.BufferReader(_VALID_PARQUET)).to_pylist()[:2])
    bad = pa.array([b"po\xb8t", b"post"], pa.binary()).view(pa.string())
    table = table.set_column(table.schema.get_field_index("kind"), "kind", bad)
    path = tmp_path / "content.parquet"
    pq.write_table(table, path)
    with pytest.raises(InputError, match="not UTF-8"):
        list(read_table(path, CONTENT, display=path.name))


# Found by make fuzz (10,000 examples): Arrow's date32 has a year 0, Python's date does not; the
# row was valid, and reading it back raised OverflowError.
def test_jsonl_a_date_in_year_zero_is_rejected(tmp_path: Path) -> None:
    row = {"member_id": "m1", "country": "FR", "birth_date": "0000-01-01",
           "created_at": "2020-01-01T00:00:00Z"}  # fmt: skip
    valid, rejected, blank = check_jsonl(orjson.dumps(row) + b"\n", MEMBERS, tmp_path)
    assert (valid, rejected, blank) == (0, 1, 0)
