"""tamis rights sweep, run as a user runs it: objections set as choices become answered requests,
their models queued; a second run records nothing; a mistyped registry is a one-line error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from rights_testing import rights as _rights
from tamis.consent import open_registry
from tamis.lineage.store import LineageStore

platform = _rights.platform


def _tamis(*args: str, progress: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TAMIS_PROGRESS": "1" if progress else "0", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "tamis.cli", *args], capture_output=True, text=True, env=env
    )


def test_rights_sweep(platform: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    _rights._import(db, platform)
    s1 = tmp_path / "s1"
    snapshot_id = _rights._build(platform, s1, _rights.S1_CUTOFF, db)["snapshot_id"]
    with open_registry(db) as registry:
        LineageStore(registry).register_model("cli-model", [s1])
        members = _rights._included_members(s1, platform)
        member = next(m for m in members if all(e.value for e in registry.history(m)))

    # the platform's imported objections first: a progress bar, then the counts
    backlog = _tamis("rights", "sweep", "--db", db, progress=True)
    assert backlog.returncode == 0, backlog.stderr
    assert "objection choices" in backlog.stdout and "request(s) recorded" in backlog.stdout

    objected = _tamis("consent", "set", member, "--object", "--db", db)
    assert objected.returncode == 0, objected.stderr
    swept = _tamis("rights", "sweep", "--db", db, "--json")
    assert swept.returncode == 0, swept.stderr
    counts = json.loads(swept.stdout)
    assert counts["objections"] == counts["requests_recorded"] == 1
    assert counts["models_queued"] == 1 and counts["snapshots_affected"] == [snapshot_id]

    queue = json.loads(_tamis("rights", "affected-models", "--json", "--db", db).stdout)
    requests = json.loads(
        _tamis("rights", "requests", "--member", member, "--json", "--db", db).stdout
    )
    assert [r["status"] for r in requests] == ["answered"]
    mine = [q["model"] for q in queue if q["request_id"] == requests[0]["request_id"]]
    assert mine == ["cli-model"]

    again = _tamis("rights", "sweep", "--db", db)
    assert again.returncode == 0, again.stderr
    assert "swept 0 objection choice(s)" in again.stdout and "no model queued" in again.stdout


def test_rights_sweep_of_a_registry_that_is_not_there(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    result = _tamis("rights", "sweep", "--db", str(missing))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "there is no consent registry at" in result.stderr and not missing.exists()
