"""tamis consent, run as a user runs it: one-line errors in the terms of the command's options."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path


def _consent(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tamis.cli", "consent", *args, "--db", str(db)],
        capture_output=True,
        text=True,
    )


def test_set_refuses_a_choice_dated_in_the_future(tmp_path: Path) -> None:
    db = tmp_path / "registry.db"
    next_year = (datetime.now(UTC) + timedelta(days=365)).isoformat()
    refused = _consent(db, "set", "m1", "--allow", "--at", next_year)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith("error: --at: ") and "is later than now" in refused.stderr
    recorded = _consent(db, "set", "m1", "--object", "--at", "2025-11-03T10:00:00+01:00")
    assert recorded.returncode == 0, recorded.stderr
    history = _consent(db, "history", "m1", "--json")
    assert history.returncode == 0, history.stderr
    assert history.stdout.count('"event_id"') == 1 and '"value": false' in history.stdout
