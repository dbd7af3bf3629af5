"""Atomic publication: --out is at every instant absent, the complete previous snapshot or the
complete new one, whether the file system exchanges folders in one step or not, and whatever
moment a build is killed at (real SIGKILLs, aimed through Python's audit events)."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tamis.errors import SnapshotError
from tamis.pipeline import publish
from tamis.pipeline.publish import (
    EXCHANGE_EVENT,
    NOT_SUPPORTED,
    RENAME_EVENT,
    Workspace,
    exchange,
    recover,
)

# Python's audit hooks cannot be removed: one hook for the module, recording only when asked.
_RECORDING: list[list[tuple[str, tuple[str, ...]]]] = []
_EVENTS = frozenset({"os.rename", "os.replace", "shutil.rmtree", EXCHANGE_EVENT, RENAME_EVENT})


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _RECORDING and event in _EVENTS:
        paths = tuple(os.fspath(a) for a in args if isinstance(a, (str, os.PathLike)))
        _RECORDING[-1].append((event, paths))


sys.addaudithook(_audit)


class _Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[str, ...]]] = []

    def __enter__(self) -> list[tuple[str, tuple[str, ...]]]:
        _RECORDING.append(self.events)
        return self.events

    def __exit__(self, *exc: object) -> None:
        _RECORDING.remove(self.events)


def _write_snapshot(root: Path, version: str) -> None:
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "manifest.json").write_text(_manifest(version))
    (root / "data" / "part-00000.txt").write_text(f"rows of {version}")


def _manifest(version: str) -> str:
    return f'{{"format": "tamis.snapshot/v1", "version": "{version}"}}'


def _contents(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def _snapshot(version: str) -> dict[str, str]:
    """What :func:`_write_snapshot` writes, as :func:`_contents` reads it."""
    return {
        "data/part-00000.txt": f"rows of {version}",
        "manifest.json": _manifest(version),
    }


def _beside(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name != out.name)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", ""])
    proc.wait()  # reaped: the pid names no process (until the system reuses it)
    return proc.pid


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """``--out`` holding a complete snapshot "old", in a folder of its own."""
    path = tmp_path / "builds" / "snap"
    _write_snapshot(path, "old")
    return path


@pytest.fixture
def can_exchange(tmp_path: Path) -> None:
    a, b = tmp_path / "probe-a", tmp_path / "probe-b"
    a.mkdir()
    b.mkdir()
    try:
        exchange(a, b)
    except OSError as exc:
        if exc.errno in NOT_SUPPORTED:
            pytest.skip(f"{tmp_path} cannot exchange folders ({exc}): the fallback tests cover it")
        raise
    finally:
        a.rmdir()
        b.rmdir()


@pytest.fixture
def cannot_exchange(monkeypatch: pytest.MonkeyPatch) -> None:
    """A file system without RENAME_EXCHANGE, as the kernel says it: EINVAL."""

    def refuse(a: Path, b: Path) -> None:
        raise OSError(errno.EINVAL, "simulated: no RENAME_EXCHANGE here", str(a))

    monkeypatch.setattr(publish, "exchange", refuse)


# -- the exchange ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("can_exchange")
def test_exchange_swaps_two_folders(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    _write_snapshot(a, "A")
    (b / "only-in-b").mkdir(parents=True)
    exchange(a, b)
    assert _contents(b) == _snapshot("A")
    assert [p.name for p in a.iterdir()] == ["only-in-b"]


@pytest.mark.usefixtures("can_exchange")
def test_exchange_with_a_missing_side_names_both_paths(tmp_path: Path) -> None:
    a = tmp_path / "a"
    a.mkdir()
    with pytest.raises(FileNotFoundError) as caught:
        exchange(a, tmp_path / "missing")
    assert (caught.value.filename, caught.value.filename2) == (str(a), str(tmp_path / "missing"))
    assert a.is_dir()


# -- publication -----------------------------------------------------------------------------------


def test_a_new_out_is_renamed_into_place(tmp_path: Path) -> None:
    out = tmp_path / "snap"
    with _Recorder() as events, Workspace(out) as ws:
        _write_snapshot(ws.path, "new")
    assert _contents(out) == _snapshot("new")
    assert _beside(out) == []
    assert [e for e, _ in events] == [RENAME_EVENT]  # a rename that never replaces


def test_an_existing_out_needs_force(out: Path) -> None:
    with pytest.raises(SnapshotError, match="--force"), Workspace(out):
        pass
    assert _contents(out) == _snapshot("old")
    assert _beside(out) == []


@pytest.mark.parametrize("what", ["a user's folder", "a file", "a snapshot's look-alike"])
def test_force_replaces_a_snapshot_only(tmp_path: Path, what: str) -> None:
    """--force over a folder that is not a snapshot (a user's work, the export itself) deleted
    it; a snapshot is a folder whose manifest.json says it is one."""
    out = tmp_path / "out"
    if what == "a file":
        out.write_text("notes")
    else:
        (out / "thesis").mkdir(parents=True)
        (out / "thesis" / "chapter1.txt").write_text("years of work")
        if what == "a snapshot's look-alike":
            (out / "manifest.json").write_text('{"format": "something else"}')
    before = _contents(out) if out.is_dir() else {"": out.read_text()}
    with pytest.raises(SnapshotError, match="not a tamis snapshot"), Workspace(out, force=True):
        pass
    assert (_contents(out) if out.is_dir() else {"": out.read_text()}) == before
    assert _beside(out) == []


@pytest.mark.parametrize("appeared", ["snapshot", "folder"])
@pytest.mark.parametrize("force", [False, True])
def test_an_out_that_appears_during_the_build(tmp_path: Path, force: bool, appeared: str) -> None:
    """Two builds of one --out: the second to publish replaced the first's snapshot, both saying
    they succeeded (or it replaced a user's folder made meanwhile). Now only a build with
    --force replaces, and only a snapshot."""
    out = tmp_path / "snap"

    def build() -> None:
        with Workspace(out, force=force) as ws:
            _write_snapshot(ws.path, "mine")
            if appeared == "snapshot":
                _write_snapshot(out, "theirs")
            else:
                (out / "work").mkdir(parents=True)
                (out / "work" / "notes.txt").write_text("notes")

    if force and appeared == "snapshot":
        build()  # knowingly replaced
        assert _contents(out) == _snapshot("mine")
    else:
        with pytest.raises(SnapshotError, match=r"appeared while this build ran|not a tamis"):
            build()
        kept = _snapshot("theirs") if appeared == "snapshot" else {"work/notes.txt": "notes"}
        assert _contents(out) == kept
    assert _beside(out) == []  # the unpublished workspace is gone too


@pytest.mark.usefixtures("can_exchange")
def test_a_replacement_is_one_exchange(out: Path) -> None:
    with _Recorder() as events, Workspace(out, force=True) as ws:
        _write_snapshot(ws.path, "new")
    assert _contents(out) == _snapshot("new")
    assert _beside(out) == []  # the previous snapshot is gone, nothing left beside --out
    # One step touches --out, and nothing is ever set aside under another name.
    assert events == [
        (EXCHANGE_EVENT, (str(ws.path), str(out))),
        ("shutil.rmtree", (str(ws.path),)),
    ]


@pytest.mark.usefixtures("cannot_exchange")
def test_without_exchange_two_renames_replace_it(out: Path) -> None:
    with _Recorder() as events, Workspace(out, force=True) as ws:
        _write_snapshot(ws.path, "new")
    assert _contents(out) == _snapshot("new")
    assert _beside(out) == []
    renames = [paths for event, paths in events if event == "os.rename"]
    aside = renames[0][1]
    assert Path(aside).name.startswith(f".snap.tamis-old-{os.getpid()}-")
    assert renames == [(str(out), aside), (str(ws.path), str(out)), (aside, str(ws.path))]


def test_any_other_exchange_error_fails_closed(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(a: Path, b: Path) -> None:
        raise PermissionError(errno.EACCES, "simulated: permission denied", str(a), None, str(b))

    monkeypatch.setattr(publish, "exchange", denied)
    refused = pytest.raises(PermissionError, match="permission denied")
    with refused, Workspace(out, force=True) as ws:
        _write_snapshot(ws.path, "new")
    assert _contents(out) == _snapshot("old")  # not set aside, not replaced


# -- kills -----------------------------------------------------------------------------------------

# A replacement of --out (argv[1]) by a snapshot "new", SIGKILLed just before the first audit event
# argv[2] on the workspace; argv[3] == "fallback": as on a file system that cannot exchange;
# argv[4]: the new snapshot's manifest.
_KILLED_REPLACEMENT = """
import errno, os, signal, sys
from pathlib import Path
from tamis.pipeline import publish

out, kill_at, mode = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
if mode == "fallback":
    def refuse(a, b):
        raise OSError(errno.EINVAL, "simulated: no RENAME_EXCHANGE here", str(a))
    publish.exchange = refuse
with publish.Workspace(out, force=True) as ws:
    (ws.path / "data").mkdir()
    (ws.path / "manifest.json").write_text(sys.argv[4])
    (ws.path / "data" / "part-00000.txt").write_text("rows of new")

    def hook(event, args):
        if event == kill_at and args and os.fspath(args[0]) == str(ws.path):
            os.kill(os.getpid(), signal.SIGKILL)

    sys.addaudithook(hook)
"""


def _killed_replacement(out: Path, kill_at: str, mode: str) -> int:
    argv = [sys.executable, "-c", _KILLED_REPLACEMENT, str(out), kill_at, mode, _manifest("new")]
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    _, stderr = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, stderr
    return proc.pid


def _rebuild(out: Path) -> None:
    with Workspace(out, force=True) as ws:
        _write_snapshot(ws.path, "rebuilt")


@pytest.mark.usefixtures("can_exchange")
@pytest.mark.parametrize(
    ("kill_at", "left_at_out"),
    [(EXCHANGE_EVENT, "old"), ("shutil.rmtree", "new")],
    ids=["before-the-exchange", "after-the-exchange"],
)
def test_killed_around_the_exchange(out: Path, kill_at: str, left_at_out: str) -> None:
    pid = _killed_replacement(out, kill_at, "exchange")
    assert _contents(out) == _snapshot(left_at_out)
    [workspace] = _beside(out)
    assert workspace.startswith(f".snap.tamis-tmp-{pid}-")
    other = "new" if left_at_out == "old" else "old"
    assert _contents(out.parent / workspace) == _snapshot(other)
    _rebuild(out)
    assert _contents(out) == _snapshot("rebuilt")
    assert _beside(out) == []


def test_killed_between_the_two_renames_recover_restores_out(
    out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pid = _killed_replacement(out, "os.rename", "fallback")
    assert not out.exists()  # the window the exchange closes: the previous snapshot is aside
    aside, workspace = _beside(out)
    assert aside.startswith(f".snap.tamis-old-{pid}-")
    assert workspace.startswith(f".snap.tamis-tmp-{pid}-")
    assert recover(out) == out.parent / aside
    assert _contents(out) == _snapshot("old")
    said = capsys.readouterr().err
    assert f"{out} was missing" in said and f"restored it from {aside}" in said
    assert recover(out) is None  # nothing more to do
    assert _beside(out) == [workspace]  # the dead build's workspace, for the next build


@pytest.mark.usefixtures("cannot_exchange")
def test_killed_between_the_two_renames_the_next_build_restores_out(
    out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _killed_replacement(out, "os.rename", "fallback")
    # A build without --force finds the previous snapshot back in place, and refuses to replace it.
    with pytest.raises(SnapshotError, match="already exists"), Workspace(out):
        pass
    assert "restored it from .snap.tamis-old-" in capsys.readouterr().err
    assert _contents(out) == _snapshot("old")
    _rebuild(out)  # with --force: replaces it, and removes the dead build's leftovers
    assert _contents(out) == _snapshot("rebuilt")
    assert _beside(out) == []


# -- leftovers -------------------------------------------------------------------------------------


def test_no_recovery_while_the_replacing_process_lives(tmp_path: Path) -> None:
    out = tmp_path / "snap"
    aside = tmp_path / f".snap.tamis-old-{os.getpid()}-0badcafe"  # this very process: alive
    _write_snapshot(aside, "old")
    assert recover(out) is None
    assert not out.exists()
    assert _contents(aside) == _snapshot("old")


def test_leftovers_of_dead_builds_are_removed_those_of_live_ones_kept(out: Path) -> None:
    dead, alive = _dead_pid(), os.getpid()
    names = {
        f".snap.tamis-tmp-{dead}-0000aaaa": True,  # a workspace
        f".snap.tamis-tmp-{dead}-0000aaaa.spill": True,  # its spill folder
        f".snap.tamis-old-{dead}-0000bbbb": True,  # set aside, --out is in place
        f".snap.tamis-tmp-{alive}-0000cccc": False,
        f".snap.tamis-old-{alive}-0000dddd": False,
        ".snap.tamis-old-notapid": False,  # not a name tamis writes
        ".other.tamis-tmp-1-0000eeee": False,  # another --out's
    }
    for name in names:
        _write_snapshot(out.parent / name, "leftover")
    _rebuild(out)
    assert _contents(out) == _snapshot("rebuilt")
    assert _beside(out) == sorted(name for name, removed in names.items() if not removed)


def test_the_newest_snapshot_set_aside_is_restored(tmp_path: Path) -> None:
    out = tmp_path / "snap"
    older, newer = (tmp_path / f".snap.tamis-old-{_dead_pid()}-{n}" for n in ("1", "2"))
    _write_snapshot(newer, "newer")
    _write_snapshot(older, "older")
    time.sleep(0.05)  # past the file system's timestamp granularity
    os.rename(newer, tmp_path / "moved")  # set aside last: a rename, its ctime (not the mtime)
    os.rename(tmp_path / "moved", newer)
    assert recover(out) == newer
    assert _contents(out) == _snapshot("newer")
