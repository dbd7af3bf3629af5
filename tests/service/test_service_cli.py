"""``tamis serve``: help with an example, and one-line errors instead of tracebacks."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

import tamis.cli.service  # noqa: F401  (registers `serve` even before the CLI imports it)
from tamis.cli import app


def test_serve_has_help_and_an_example() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--db", "--export", "--snapshots", "--identity"):
        assert option in result.output
    assert "Example: tamis serve" in result.output


def test_serve_without_export_is_a_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["serve", "--db", str(tmp_path / "r.db")])
    assert result.exit_code == 1
    assert "needs --export" in result.output and "Traceback" not in result.output


def test_serve_with_unknown_identity_provider(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["serve", "--db", str(tmp_path / "r.db"), "--identity", "nowhere"]
    )
    assert result.exit_code == 1 and "unknown identity provider" in result.output
