"""scan_file / redact_file: JSONL in, spans or redacted JSONL out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tamis.errors import InputError
from tamis.pii.cli_ops import redact_file, scan_file


def write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


def test_scan_writes_spans_not_text(tmp_path: Path) -> None:
    src = write(
        tmp_path / "in.jsonl", [{"record_id": "r1", "text": "mail a.b@c.fr"}, {"text": None}]
    )
    counts = scan_file(src, tmp_path / "out.jsonl")
    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert lines[0]["id"] == "r1" and lines[0]["spans"][0]["type"] == "EMAIL_ADDRESS"
    assert lines[1]["spans"] == []
    assert "a.b@c.fr" not in (tmp_path / "out.jsonl").read_text()
    assert counts == {"EMAIL_ADDRESS": 1}


def test_redact_keeps_other_fields(tmp_path: Path) -> None:
    src = write(tmp_path / "in.jsonl", [{"id": 7, "body": "tél 06 12 34 56 78", "x": [1]}])
    redact_file(src, tmp_path / "out.jsonl", field="body", mode="contact")
    row = json.loads((tmp_path / "out.jsonl").read_text())
    assert row == {"id": 7, "body": "tél <PHONE>", "x": [1]}


def test_bad_input_names_file_and_line(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "ok"}\nnot json\n')
    with pytest.raises(InputError, match=r"in\.jsonl:2"):
        scan_file(src, tmp_path / "out.jsonl")
