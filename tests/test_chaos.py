"""scripts/chaos.py's instruments: the labels of a publication's steps, and a build killed at the
riskiest of them (the exchange of a --force replacement) leaves the previous snapshot complete at
--out, and a rerun publishes the reference bytes. The campaigns themselves run in make chaos."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tamis_testing import write_export

ROOT = Path(__file__).resolve().parents[1]
CUTOFF = "2026-01-01T00:00:00Z"
WS = "/s/.out.tamis-tmp-7-ab"  # the workspace of a build of /s/out by process 7


@pytest.fixture(scope="module")
def chaos() -> ModuleType:
    spec = importlib.util.spec_from_file_location("chaos", ROOT / "scripts" / "chaos.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("event", "args", "label"),
    [
        ("open", (f"{WS}/manifest.json", "w", 577), "open workspace/manifest.json (write)"),
        ("open", (f"{WS}/data/p.parquet", None, os.O_RDONLY), "open workspace (read)"),
        ("os.rename", ("/s/out", "/s/.out.tamis-old-12", -1, -1), "os.rename out->old"),
        ("os.rename", (WS, "/s/out", None, None), "os.rename workspace->out"),
        ("tamis.publish.exchange", (WS, "/s/out"), "tamis.publish.exchange workspace->out"),
        ("tamis.publish.rename", (WS, "/s/out"), "tamis.publish.rename workspace->out"),
        ("shutil.rmtree", ("/s/.out.tamis-old-12", None), "shutil.rmtree old"),
        ("os.mkdir", (f"{WS}.spill", 0o777, -1), "os.mkdir spill"),
        ("os.remove", ("/s/other/file", None), None),  # not the snapshot's
        ("os.rename", ("/s/out", "/elsewhere/out", -1, -1), None),
        ("open", (3, "r", 0), None),  # a file descriptor names no path
        ("open", ("/s/outside.txt", "w", 577), None),
    ],
)  # fmt: skip
def test_publication_step_labels(
    chaos: ModuleType, event: str, args: tuple[object, ...], label: str | None
) -> None:
    assert chaos.publish_step_label(event, args, "/s/out") == label


def test_a_path_relative_to_an_open_folder_is_resolved(chaos: ModuleType, tmp_path: Path) -> None:
    old = tmp_path / ".out.tamis-old-1"
    old.mkdir()
    fd = os.open(old, os.O_RDONLY)
    try:
        label = chaos.publish_step_label("os.remove", ("manifest.json", fd), str(tmp_path / "out"))
    finally:
        os.close(fd)
    assert label == "os.remove old"


def _build_args(export: Path, out: Path) -> list[str]:
    return [
        "snapshot", "build", "--export", str(export), "--policy", "minimal", "--cutoff", CUTOFF,
        "--out", str(out), "--force", "-q", "--no-stages",
    ]  # fmt: skip


def test_killed_at_the_exchange_of_a_replacement(
    chaos: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./.tamis registry
    members = [
        {"member_id": f"m{i}", "country": "FR", "birth_date": "1980-05-05",
         "created_at": "2020-01-01T00:00:00Z", "first_name": "Camille", "last_name": f"M{i}",
         "email": f"c{i}@example.fr", "skills": ["SQL"]}
        for i in range(1, 4)
    ]  # fmt: skip
    content = [
        {"record_id": f"r{i}", "member_id": f"m{i % 3 + 1}", "kind": "post",
         "visibility": "public", "created_at": "2025-06-01T12:00:00+02:00", "lang": "en",
         "text": f"Post {i}"}
        for i in range(6)
    ]  # fmt: skip
    objection = {"event_id": "e1", "member_id": "m2", "setting": "genai_training", "value": False,
                 "ts": "2025-09-18T00:14:00Z", "channel": "settings_page"}  # fmt: skip
    # Consent from the export: without a consent file a build would read (and create) a registry
    # in the current folder, and the next build would bind its log head.
    export = write_export(tmp_path / "export", members, content, [objection])
    builds = tmp_path / "builds"
    builds.mkdir()
    out = builds / "snap"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}

    def hooked(spec: str, trace: Path) -> int:
        argv = [sys.executable, chaos.SCRIPT, "_build", spec, str(trace), str(out)]
        return subprocess.run([*argv, *_build_args(export, out)], env=env, check=False).returncode

    assert hooked("trace", tmp_path / "first.txt") == 0  # a fresh build: out is published
    reference = chaos._fingerprint(out)
    trace = tmp_path / "replace.txt"
    assert hooked("trace", trace) == 0  # a replacing build, traced: its steps
    steps = trace.read_text().splitlines()
    assert steps[0] == "open workspace/manifest.json (write)"
    exchange = "tamis.publish.exchange workspace->out"
    assert "os.rename out->old" not in steps  # one exchange: --out is never missing
    assert steps.index(exchange) < steps.index("shutil.rmtree workspace")  # the previous one
    assert chaos._fingerprint(out) == reference

    previous = chaos._run_id(out)
    note = tmp_path / "killed-at.txt"
    assert hooked(str(steps.index(exchange) + 1), note) == -signal.SIGKILL
    assert note.read_text().strip() == exchange
    # Killed just before the exchange: --out is still the complete previous snapshot.
    assert chaos._run_id(out) == previous
    assert chaos._fingerprint(out) == reference
    rerun = subprocess.run(
        [sys.executable, "-m", "tamis.cli", *_build_args(export, out)], env=env, check=False
    )
    assert rerun.returncode == 0
    assert chaos._fingerprint(out) == reference
    verify = [sys.executable, "-m", "tamis.cli", "snapshot", "verify", str(out)]
    assert subprocess.run(verify, env=env, check=False, capture_output=True).returncode == 0
