"""Helpers shared by the tests: tiny exports written from Python rows, the fixed test key.

Imported as ``tamis_testing`` (pytest puts ``tests/`` on ``sys.path``, see pyproject.toml);
conftest modules are not importable by name when several directories have one.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

TEST_KEY_HEX = "11" * 32


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
