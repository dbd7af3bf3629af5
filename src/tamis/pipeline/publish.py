"""Atomic publication of a snapshot directory.

A snapshot is built in a hidden sibling directory (same file system) and renamed into place only
once every file is written and synced: a crash at any moment leaves either no snapshot or a
complete one at the destination. Leftovers of crashed builds are removed by the next build.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from pathlib import Path
from types import TracebackType

from tamis.errors import SnapshotError

_TMP_MARK = ".tamis-tmp-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fsync_tree(root: Path) -> None:
    """Flush every file and directory under ``root`` to stable storage."""
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(dirpath))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Workspace:
    """A temporary build directory that is published to ``out`` on success, removed on failure."""

    def __init__(self, out: Path, *, force: bool = False) -> None:
        self.out = out.absolute()
        self.force = force
        self.path = (
            self.out.parent / f".{self.out.name}{_TMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        )

    def __enter__(self) -> Workspace:
        if self.out.exists() and not self.force:
            raise SnapshotError(
                f"{self.out} already exists; choose another --out or pass --force to replace it"
            )
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._remove_stale()
        self.path.mkdir()
        return self

    def _remove_stale(self) -> None:
        prefix = f".{self.out.name}{_TMP_MARK}"
        for entry in self.out.parent.iterdir():
            if not entry.name.startswith(prefix):
                continue
            try:
                pid = int(entry.name[len(prefix) :].split("-")[0])
            except ValueError:
                continue
            if not _pid_alive(pid):
                shutil.rmtree(entry, ignore_errors=True)

    def publish(self) -> None:
        fsync_tree(self.path)
        trash = None
        if self.out.exists():
            trash = self.out.parent / f".{self.out.name}.tamis-old-{uuid.uuid4().hex[:8]}"
            os.rename(self.out, trash)
        os.rename(self.path, self.out)
        _fsync_dir(self.out.parent)
        if trash is not None:
            shutil.rmtree(trash, ignore_errors=True)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.publish()
        else:
            with contextlib.suppress(OSError):
                shutil.rmtree(self.path)
