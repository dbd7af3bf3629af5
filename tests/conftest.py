"""Shared fixtures: tiny exports written from Python rows, a fixed pseudonym key."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
import pytest

TEST_KEY_HEX = "11" * 32


@pytest.fixture(autouse=True)
def _isolated_keys(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Every test gets a fixed pseudonym key and its own key-file home (never the user's)."""
    home = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    monkeypatch.setenv("TAMIS_PSEUDONYM_KEY", TEST_KEY_HEX)
    monkeypatch.delenv("TAMIS_DB", raising=False)


def write_jsonl(path: Path, rows: Iterable[dict[str, Any] | str]) -> Path:
    with path.open("wb") as handle:
        for row in rows:
            handle.write(row.encode() if isinstance(row, str) else orjson.dumps(row))
            handle.write(b"\n")
    return path


def write_export(
    root: Path,
    members: list[dict[str, Any]],
    content: list[dict[str, Any]],
    consent_events: list[dict[str, Any] | str] | None = None,
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    write_jsonl(root / "members.jsonl", members)
    write_jsonl(root / "content.jsonl", content)
    if consent_events is not None:
        write_jsonl(root / "consent_events.jsonl", consent_events)
    return root
