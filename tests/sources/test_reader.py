"""Export readers: valid rows typed, invalid rows rejected with file, line, field and reason."""

from __future__ import annotations

import codecs
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tamis.errors import InputError
from tamis.sources import reader
from tamis.sources.reader import read_table, table_files
from tamis.sources.schema import CONSENT_EVENTS, CONTENT, MEMBERS
from tamis_testing import write_jsonl


def _event(i: int, **changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "event_id": f"e{i}",
        "member_id": f"m{i}",
        "setting": "genai_training",
        "value": False,
        "ts": "2025-11-03T00:00:00+01:00",
        "channel": "settings_page",
    }
    row.update(changes)
    return row


def _read(path: Path, table=CONSENT_EVENTS) -> tuple[list[dict], list[dict]]:  # type: ignore[no-untyped-def]
    valid, rejects = [], []
    for chunk in read_table(path, table, display=path.name):
        valid += chunk.valid.to_pylist()
        rejects += chunk.rejects
    return valid, rejects


@pytest.mark.parametrize(
    ("line", "field", "reason"),
    [
        (_event(1, value="false"), "value", "expected true or false"),
        (_event(1, ts="2025-11-03T00:00:00"), "ts", "not an RFC 3339 timestamp with an offset"),
        (_event(1, ts="2025-02-30T00:00:00Z"), "ts", "not an RFC 3339 timestamp"),
        (_event(1, ts=None), "ts", "required value is missing"),
        (_event(1, member_id=""), "member_id", "required value is missing"),
        (_event(1, member_id=None), "member_id", "required value is missing"),
        ({k: v for k, v in _event(1).items() if k != "event_id"}, "event_id", "required value"),
        (_event(1, channel="fax"), "channel", "'fax' is not one of settings_page"),
        (_event(1, event_id=7), "event_id", "expected a string, got int 7"),
        ('{"event_id": "e1", "member_id": "m1", "value": fal', None, "not valid JSON"),
        ("[1, 2]", None, "a line must be a JSON object"),
    ],
)
def test_invalid_line_is_rejected_with_its_reason(
    tmp_path: Path, line: object, field: str | None, reason: str
) -> None:
    path = write_jsonl(tmp_path / "consent_events.jsonl", [_event(0), line, _event(2)])  # type: ignore[list-item]
    valid, rejects = _read(path)
    assert [v["event_id"] for v in valid] == ["e0", "e2"]
    assert [v["_line"] for v in valid] == [1, 3]
    (reject,) = rejects
    assert (reject["file"], reject["line"], reject["field"]) == ("consent_events.jsonl", 2, field)
    assert reason in reject["reason"]


def test_broken_line_is_attributed_to_the_member_it_names(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", ['{"event_id": "e9", "member_id": "m9", "value": tr'])
    _, (reject,) = _read(path)
    assert reject["member_id"] == "m9"


def test_timestamps_are_instants_in_utc(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "c.jsonl",
        [
            _event(1, ts="2025-11-03T00:30:00+01:00"),
            _event(2, ts="2025-11-02T23:30:00Z"),
            _event(3, ts="2025-11-02T18:30:00.123456789-05:00"),
        ],
    )
    valid, rejects = _read(path)
    assert not rejects
    assert [v["ts"] for v in valid] == [
        datetime(2025, 11, 2, 23, 30, tzinfo=UTC),
        datetime(2025, 11, 2, 23, 30, tzinfo=UTC),
        # a consent event finer than a microsecond is rounded up (docs/snapshots.md, Input)
        datetime(2025, 11, 2, 23, 30, 0, 123457, tzinfo=UTC),
    ]


@pytest.mark.parametrize("form", ["jsonl", "parquet"])
def test_finer_than_a_microsecond_consent_rounds_up_and_content_down(
    tmp_path: Path, form: str
) -> None:
    text = "2025-12-31T23:59:59.999999500Z"
    ns = 1767225599_999_999_500
    event = _event(1, ts=text)
    post = {"record_id": "r1", "member_id": "m1", "kind": "post", "created_at": text,
            "text": "x", "visibility": "public"}  # fmt: skip
    if form == "jsonl":
        events = write_jsonl(tmp_path / "consent_events.jsonl", [event])
        content = write_jsonl(tmp_path / "content.jsonl", [post])
    else:
        events, content = tmp_path / "consent_events.parquet", tmp_path / "content.parquet"
        for path, row, column in ((events, event, "ts"), (content, post, "created_at")):
            table = pa.Table.from_pylist([row]).set_column(
                list(row).index(column), column, pa.array([ns], pa.timestamp("ns", "UTC"))
            )
            pq.write_table(table, path)
    assert _read(events)[0][0]["ts"] == datetime(2026, 1, 1, tzinfo=UTC)
    assert _read(content, CONTENT)[0][0]["created_at"] == datetime(
        2025, 12, 31, 23, 59, 59, 999999, tzinfo=UTC
    )


def test_blank_lines_keep_line_numbers_right(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", [_event(1), "", "   ", _event(4, value="x")])
    valid, rejects = _read(path)
    assert [v["_line"] for v in valid] == [1]
    assert [r["line"] for r in rejects] == [4]


def test_many_blocks_stream_with_exact_line_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader, "BLOCK_BYTES", 1024)  # many blocks, lines cut across blocks
    rows = [_event(i) if i % 97 else _event(i, ts="bad") for i in range(1, 2001)]
    path = write_jsonl(tmp_path / "c.jsonl", rows)
    chunks = list(read_table(path, CONSENT_EVENTS))
    assert len(chunks) > 100
    lines = [ln for c in chunks for ln in c.valid.column("_line").to_pylist()]
    rejected = [r["line"] for c in chunks for r in c.rejects]
    assert rejected == [i for i in range(1, 2001) if i % 97 == 0]
    assert sorted(lines + rejected) == list(range(1, 2001))
    for c in chunks:
        for row in c.valid.to_pylist():
            assert row["event_id"] == f"e{row['_line']}"


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
@pytest.mark.parametrize("bad_line", [False, True])
def test_byte_order_mark_opening_the_file_is_skipped(
    tmp_path: Path, newline: bytes, bad_line: bool
) -> None:
    rows = [_event(1), _event(2, value="x") if bad_line else _event(2), _event(3)]
    lines = [orjson.dumps(r) for r in rows]
    path = tmp_path / "c.jsonl"
    path.write_bytes(codecs.BOM_UTF8 + newline.join(lines) + newline)
    valid, rejects = _read(path)
    assert [v["event_id"] for v in valid] == (["e1", "e3"] if bad_line else ["e1", "e2", "e3"])
    assert [v["_line"] for v in valid] == ([1, 3] if bad_line else [1, 2, 3])
    assert [r["line"] for r in rejects] == ([2] if bad_line else [])


def test_byte_order_mark_inside_the_file_is_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(orjson.dumps(_event(1)) + b"\n" + codecs.BOM_UTF8 + orjson.dumps(_event(2)))
    valid, (reject,) = _read(path)
    assert [v["event_id"] for v in valid] == ["e1"]
    assert reject["line"] == 2 and reject["member_id"] == "m2"
    assert "not valid JSON" in reject["reason"]


def _event_line(i: int, extra: bytes = b"") -> bytes:
    """An event's JSON text with ``extra`` members inserted before its closing brace."""
    return orjson.dumps(_event(i))[:-1] + extra + b"}"


@pytest.mark.parametrize(
    "repeat",
    [b',"value":true', b',"\\u0076alue":true', b',"member_id":"m-other"'],
    ids=["plain", "escaped", "member"],
)
def test_a_key_given_twice_rejects_its_line(tmp_path: Path, repeat: bytes) -> None:
    # {"value": false, ..., "value": true}: which value counts depends on the parser (orjson
    # keeps the last, Arrow refuses the row), so the line is out, and with it its member
    path = tmp_path / "c.jsonl"
    path.write_bytes(b"\n".join([_event_line(1), _event_line(2, repeat), _event_line(3)]) + b"\n")
    valid, rejects = _read(path)
    assert [(v["event_id"], v["_line"]) for v in valid] == [("e1", 1), ("e3", 3)]
    assert valid[0]["value"] is False
    assert {(r["line"], r["key"]) for r in rejects} == {(2, "e2")}
    assert all("appears more than once" in r["reason"] for r in rejects)
    if b"member_id" in repeat:  # the line names two members: both are out, one reject each
        assert [(r["field"], r["member_id"]) for r in rejects] == [
            ("member_id", "m2"),
            ("member_id", "m-other"),
        ]
    else:
        assert [(r["field"], r["member_id"]) for r in rejects] == [("value", "m2")]


def test_a_broken_line_naming_two_members_puts_both_out(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"member_id": "m1", "value": false, "member_id": "m2", "ts": \n')
    _, rejects = _read(path)
    assert [(r["line"], r["member_id"]) for r in rejects] == [(1, "m1"), (1, "m2")]


def test_a_key_outside_the_schema_may_repeat(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(_event_line(1, b',"note":"a","note":"b"') + b"\n")
    valid, rejects = _read(path)
    assert [v["event_id"] for v in valid] == ["e1"] and not rejects


def test_many_repeated_keys_in_slow_blocks_keep_line_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader, "BLOCK_BYTES", 4096)
    bad = {i for i in range(1, 1501) if i % 7 == 0 or i % 11 == 0}
    lines = [_event_line(i, b',"value":true' if i in bad else b"") for i in range(1, 1501)]
    lines[99] = b'{"event_id": "e100", "value": fal'  # and a broken line among them
    path = tmp_path / "c.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    valid, rejects = _read(path)
    assert sorted(r["line"] for r in rejects) == sorted(bad | {100})
    assert [v["_line"] for v in valid] == [i for i in range(1, 1501) if i not in bad | {100}]
    assert all(v["event_id"] == f"e{v['_line']}" for v in valid)


@pytest.mark.parametrize(
    ("values", "error"),
    [
        (pa.array([0, 1, 2], pa.int64()), "column has type int64, expected bool"),
        (pa.array([0.0, 1.0, 0.5]), "column has type double, expected bool"),
        (pa.array(["false", "true", "no"]), "column has type string, expected bool"),
        (pa.array([False, True, None]), None),
        (pa.nulls(3), None),
    ],
    ids=["int", "float", "text", "bool", "nulls"],
)
def test_parquet_consent_value_is_read_only_from_booleans(
    tmp_path: Path, values: pa.Array, error: str | None
) -> None:
    # Arrow casts 2 and 0.5 to true: a consent value is never guessed from another type
    rows = [_event(i) for i in range(3)]
    table = pa.Table.from_pylist(rows).set_column(3, "value", values)
    path = tmp_path / "consent_events.parquet"
    pq.write_table(table, path)
    if error is not None:
        with pytest.raises(InputError, match=rf"consent_events.parquet: {error}.*value"):
            _read(path)
        return
    valid, rejects = _read(path)
    assert [v["value"] for v in valid] == values.drop_null().to_pylist()
    assert all(r["reason"] == "required value is missing" for r in rejects)


def test_parquet_number_is_not_parsed_from_text(tmp_path: Path) -> None:
    path = tmp_path / "members.parquet"
    created = pa.array([datetime(2020, 1, 1, tzinfo=UTC)], pa.timestamp("us", "UTC"))
    pq.write_table(pa.table({"member_id": ["m1"], "created_at": created, "salary": ["1e3"]}), path)
    with pytest.raises(InputError, match="column has type string, expected double"):
        _read(path, MEMBERS)


def test_parquet_column_given_twice_is_an_error(tmp_path: Path) -> None:
    names = ["event_id", "member_id", "setting", "value", "value", "ts", "channel"]
    values = ["e1", "m1", "genai_training", False, True, "2025-01-01T00:00:00Z", "api"]
    path = tmp_path / "consent_events.parquet"
    pq.write_table(pa.Table.from_arrays([pa.array([v]) for v in values], names=names), path)
    with pytest.raises(InputError, match=r"consent_events.parquet: column value appears 2 times"):
        _read(path)


def test_no_final_newline(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(
        '{"event_id":"e1","member_id":"m1","setting":"genai_training","value":true,'
        '"ts":"2025-01-01T00:00:00Z","channel":"api"}'
    )
    valid, rejects = _read(path)
    assert len(valid) == 1 and not rejects


def test_parquet_rows_are_numbered_and_validated(tmp_path: Path) -> None:
    table = pa.table(
        {
            "record_id": ["r1", "r2", None],
            "member_id": ["m1", "m2", "m3"],
            "kind": ["post", "tweet", "post"],
            "created_at": pa.array(
                [datetime(2025, 1, 1, tzinfo=UTC)] * 3, pa.timestamp("ms", "UTC")
            ),
            "text": ["a", "b", "c"],
            "visibility": ["public"] * 3,
            "extra": [1, 2, 3],
        }
    )
    path = tmp_path / "content.parquet"
    pq.write_table(table, path)
    valid, rejects = _read(path, CONTENT)
    assert [v["record_id"] for v in valid] == ["r1"]
    assert valid[0]["created_at"] == datetime(2025, 1, 1, tzinfo=UTC)
    assert [(r["line"], r["field"]) for r in rejects] == [(2, "kind"), (3, "record_id")]


def test_parquet_naive_timestamps_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "content.parquet"
    pq.write_table(
        pa.table(
            {
                "record_id": ["r1"],
                "member_id": ["m1"],
                "kind": ["post"],
                "created_at": pa.array([datetime(2025, 1, 1)], pa.timestamp("us")),
                "text": ["a"],
                "visibility": ["public"],
            }
        ),
        path,
    )
    with pytest.raises(
        InputError, match=r"content.parquet: timestamp column has no time zone.*created_at"
    ):
        _read(path, CONTENT)


def test_parquet_missing_required_column(tmp_path: Path) -> None:
    path = tmp_path / "members.parquet"
    pq.write_table(pa.table({"member_id": ["m1"]}), path)
    with pytest.raises(InputError, match=r"required column.*created_at"):
        _read(path, MEMBERS)


def test_member_lists_and_dates(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "members.jsonl",
        [
            {
                "member_id": "m1",
                "created_at": "2020-01-01T00:00:00Z",
                "birth_date": "1990-02-28",
                "skills": ["SQL", "Python"],
                "salary": 52000,
            },
            {"member_id": "m2", "created_at": "2020-01-01T00:00:00Z", "birth_date": "1990-02-30"},
            {"member_id": "m3", "created_at": "2020-01-01T00:00:00Z", "skills": ["SQL", 3]},
        ],
    )
    valid, rejects = _read(path, MEMBERS)
    assert [v["member_id"] for v in valid] == ["m1"]
    assert valid[0]["skills"] == ["SQL", "Python"]
    assert [(r["line"], r["field"]) for r in rejects] == [(2, "birth_date"), (3, "skills")]


def test_table_files(tmp_path: Path) -> None:
    (tmp_path / "content").mkdir()
    for name in ("part-1.parquet", "part-0.parquet", "_SUCCESS", ".part-2.parquet.crc"):
        (tmp_path / "content" / name).write_bytes(b"")
    assert [p.name for p in table_files(tmp_path, "content")] == [
        "part-0.parquet",
        "part-1.parquet",
    ]
    (tmp_path / "content.jsonl").write_text("")
    with pytest.raises(InputError, match="more than once"):
        table_files(tmp_path, "content")
    assert table_files(tmp_path, "technical_events") == []


def test_table_files_skip_hidden_folders_and_refuse_what_they_do_not_read(tmp_path: Path) -> None:
    # an aborted Spark job leaves uncommitted parts under _temporary/: never data of the table
    parts = tmp_path / "consent_events"
    for name in ("part-0.parquet", "_temporary/0/part-0.parquet", ".staging/part-1.parquet"):
        (parts / name).parent.mkdir(parents=True, exist_ok=True)
        (parts / name).write_bytes(b"")
    assert table_files(tmp_path, "consent_events") == [parts / "part-0.parquet"]
    # a table-like file that is not read stops the build: its objections would be lost
    (parts / "part-2.json").write_text("{}")
    with pytest.raises(InputError, match=r"consent_events/part-2.json is not read"):
        table_files(tmp_path, "consent_events")
    (parts / "part-2.json").unlink()
    # a partition folder may start with '_' (Spark reads _source=form/); a table written by
    # Spark as a folder name.parquet/ is read, not passed over
    (parts / "_source=form").mkdir()
    (parts / "_source=form" / "part-0.parquet").write_bytes(b"")
    assert table_files(tmp_path, "consent_events") == [
        parts / "_source=form" / "part-0.parquet",
        parts / "part-0.parquet",
    ]
    spark = tmp_path / "content.parquet"
    spark.mkdir()
    (spark / "part-00000.parquet").write_bytes(b"")
    (spark / "_SUCCESS").write_bytes(b"")
    assert table_files(tmp_path, "content") == [spark / "part-00000.parquet"]
    (tmp_path / "content.jsonl").mkdir()
    with pytest.raises(InputError, match=r"content.jsonl/ is not read"):
        table_files(tmp_path, "content")
    for name in ("consent_events.ndjson", "consent_events.jsonl.gz"):
        (tmp_path / name).write_text("")
        with pytest.raises(InputError, match=rf"{name} is not read"):
            table_files(tmp_path, "consent_events")
        (tmp_path / name).unlink()


def test_a_line_that_is_not_utf8_is_rejected_not_a_crash(tmp_path: Path) -> None:
    # Arrow's JSON reader takes the bytes as they are; the build then failed decoding them
    path = tmp_path / "consent_events.jsonl"
    good = orjson.dumps(_event(1))
    latin1 = orjson.dumps(_event(2, channel="settings_page")).replace(b"page", b"p\xe9ge")
    path.write_bytes(good + b"\n" + latin1 + b"\n" + orjson.dumps(_event(3)) + b"\n")
    valid, rejects = _read(path)
    assert [v["_line"] for v in valid] == [1, 3]
    (reject,) = rejects
    assert reject["line"] == 2 and "UTF-8" in reject["reason"]
    assert reject["member_id"] == "m2"  # its member is out of the build
    # in a key the table does not read too: it was read (or not) depending on the other lines
    # of its block, and the duplicate-id scan skipped it, so a repeated id went through twice
    extra = orjson.dumps({**_event(4), "note": "x"}).replace(b'"x"', b'"\xe9"')
    path.write_bytes(good + b"\n" + extra + b"\n")
    valid, rejects = _read(path)
    assert [v["_line"] for v in valid] == [1]
    assert [(r["line"], r["member_id"]) for r in rejects] == [(2, "m4")]


def test_a_broken_line_names_members_whose_ids_are_escaped(tmp_path: Path) -> None:
    """Python's json writes 'mé1' as "m\\u00e91": the broken line was put on the agent nested in
    it only, and mé1's objection was lost. A value that does not decode names no member (None),
    which the build refuses for consent events (fail closed)."""
    line = (
        b'{"event_id": "e1", "member_id": "m\\u00e91", "value": false, '
        b'"agent": {"member_id": "agent-7"}'
    )
    bad_escape = b'{"event_id": "e2", "member_id": "m\\x1", "value": false'
    path = tmp_path / "consent_events.jsonl"
    path.write_bytes(line + b"\n" + bad_escape + b"\n")
    _valid, rejects = _read(path)
    assert [(r["line"], r["member_id"]) for r in rejects] == [
        (1, "mé1"),
        (1, "agent-7"),
        (2, None),
    ]


@pytest.mark.parametrize(
    "ids",
    [
        pa.array([100.0, 100.0]),
        pa.array([0, 0], pa.timestamp("ms", "UTC")),
        pa.array([0, 0], pa.date32()),
    ],
    ids=["float", "timestamp", "date"],
)
def test_ids_stored_as_floats_or_instants_are_refused(tmp_path: Path, ids: pa.Array) -> None:
    """Their text has no one spelling: DuckDB's duplicate scan read 100.0 as '100.0' and the
    reader as '100', so both copies went in; Spark spelt a millisecond instant otherwise than
    the embedded engine, and an objection missed its member."""
    import pyarrow.parquet as pq

    path = tmp_path / "members.parquet"
    pq.write_table(pa.table({"member_id": ids, "created_at": pa.array(
        ["2020-01-01T00:00:00Z"] * 2)}), path)  # fmt: skip
    with pytest.raises(
        InputError, match=r"column has type .*, expected string \(field 'member_id'\)"
    ):
        _read(path, MEMBERS)
