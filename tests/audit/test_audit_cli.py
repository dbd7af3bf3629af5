"""The ``tamis audit`` commands: help, planting canaries, an invalid audit's exit code."""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

import tamis.cli.audit  # noqa: F401  (registers the group until the lead imports it)
from tamis.cli._common import app

runner = CliRunner()
COMMANDS = ("canaries", "train-reference", "exposure", "extract", "mia", "report")


def test_every_command_has_help_and_an_example() -> None:
    result = runner.invoke(app, ["audit", "--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output
    for args in (["canaries", "plant"], *[[c] for c in COMMANDS if c != "canaries"]):
        r = runner.invoke(app, ["audit", *args, "--help"])
        assert r.exit_code == 0, args
        assert "Example" in r.output
        assert name_in_docs(args[-1])


def name_in_docs(name: str) -> bool:
    docs = Path(__file__).parents[2] / "docs" / "audit.md"
    return f"audit {name}" in docs.read_text() or f"canaries {name}" in docs.read_text()


def test_plant_and_report_invalid(tmp_path: Path) -> None:
    snap = tmp_path / "snap"
    (snap / "data").mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "record_id": ["a", "b"],
                "member_ref": ["m", "m"],
                "kind": ["post", "post"],
                "category": ["user.content"] * 2,
                "created_at": pa.array([0, 0], pa.timestamp("us", tz="UTC")),
                "lang": ["en", "en"],
                "text": ["hello", "world"],
            }
        ),
        snap / "data" / "part-00000.parquet",
    )
    r = runner.invoke(
        app,
        [
            "audit",
            "canaries",
            "plant",
            "--snapshot",
            str(snap),
            "--out",
            str(tmp_path / "audit"),
            "--formats",
            "phone",
            "--per-level",
            "2",
            "--levels",
            "1,4",
            "--controls",
            "2",
        ],
    )
    assert r.exit_code == 0, r.output
    secrets = orjson.loads((tmp_path / "audit.canaries.json").read_bytes())
    assert len(secrets["canaries"]) == 6
    r = runner.invoke(
        app,
        [
            "audit",
            "canaries",
            "plant",
            "--snapshot",
            str(snap),
            "--out",
            str(tmp_path / "audit"),
            "--formats",
            "fax",
        ],
    )
    assert r.exit_code == 1 and "available" in r.output
    r = runner.invoke(app, ["audit", "report", "--out", str(tmp_path / "r.html")])
    assert r.exit_code == 2 and "invalid" in r.output
