"""Atomic publication of a snapshot directory.

A snapshot is built in a hidden sibling directory, the workspace ``.NAME.tamis-tmp-PID-XXXX``
(same file system), and put in place at ``--out`` only once every file is written and synced.
At every instant ``--out`` is absent, the complete previous snapshot or the complete new one:

* a new ``--out``: one rename that never replaces (a second build of the same ``--out`` that
  publishes first wins; the other stops, unless ``--force``);
* ``--force`` replaces a snapshot only: an ``--out`` that is not one (no ``manifest.json`` of a
  tamis snapshot: a user's folder, the export itself) is refused, before the build and again
  before the replacement;
* a replacement (``--force``) on Linux: the workspace and ``--out`` are exchanged in one step
  (``renameat2(RENAME_EXCHANGE)``); the previous snapshot, now in the workspace, is removed;
* a replacement where the file system cannot exchange (``EINVAL``, ``ENOSYS``, ``EOPNOTSUPP``):
  ``--out`` is renamed aside to ``.NAME.tamis-old-PID-XXXX``, then the workspace to ``--out``.
  A crash between the two leaves ``--out`` missing and the previous snapshot aside; the next
  build of ``--out`` (or :func:`recover`) renames it back once its process is dead, and says so
  on stderr. A folder keeps the ``tamis-old`` name only while it is a complete snapshot.

Leftovers of crashed builds (workspaces, their spill folders, snapshots set aside whose
replacement is in place) are removed by the next build of the same ``--out``.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import json
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

from tamis.errors import SnapshotError
from tamis.pipeline.manifest import FORMAT

_TMP_MARK = ".tamis-tmp-"
_OLD_MARK = ".tamis-old-"
_AT_FDCWD = -100  # <fcntl.h>: a path relative to the current directory
_RENAME_NOREPLACE = 1  # <linux/fs.h>
_RENAME_EXCHANGE = 2
NOT_SUPPORTED = frozenset({errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP})
"""The errno values with which the kernel, the file system or libc refuse a ``renameat2`` flag."""
EXCHANGE_EVENT = "tamis.publish.exchange"
"""The audit event (``sys.audit``; args: the two paths) raised before an exchange, which Python's
own audit events do not see (``scripts/chaos.py`` aims kills at it)."""
RENAME_EVENT = "tamis.publish.rename"
"""The audit event (args: source, destination) raised before a rename that never replaces
(``renameat2(RENAME_NOREPLACE)``), which Python's ``os.rename`` event does not see either."""


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


@functools.cache
def _renameat2() -> Callable[..., int] | None:
    """libc's ``renameat2`` (glibc >= 2.28), or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except AttributeError:
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    function.argtypes += [ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


def _rename2(src: Path, dst: Path, flags: int) -> None:
    function = _renameat2()
    if function is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available here", str(src), None, str(dst))
    if function(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(src), None, str(dst))


def exchange(a: Path, b: Path) -> None:
    """Swap the entries ``a`` and ``b`` (both must exist) in one atomic step.

    Raises :class:`OSError` naming both paths; its ``errno`` is in :data:`NOT_SUPPORTED` where
    the system cannot exchange (not Linux, an old kernel or libc, a file system without it).
    """
    sys.audit(EXCHANGE_EVENT, os.fspath(a), os.fspath(b))
    _rename2(a, b, _RENAME_EXCHANGE)


def _rename_noreplace(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst``, failing (``EEXIST``) rather than replace a ``dst`` that
    appeared meanwhile; a plain rename where the system cannot promise that."""
    sys.audit(RENAME_EVENT, os.fspath(src), os.fspath(dst))
    try:
        _rename2(src, dst, _RENAME_NOREPLACE)
    except OSError as exc:
        if exc.errno not in NOT_SUPPORTED:
            raise
        os.rename(src, dst)


def _discard(path: Path) -> None:
    """Remove a leftover, folder or not; what cannot be removed stays for the next build."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def _leftovers(out: Path, mark: str) -> Iterator[tuple[Path, int]]:
    """The entries beside ``out`` named ``.NAME{mark}PID-…``, with the pid that made them."""
    prefix = f".{out.name}{mark}"
    for entry in out.parent.iterdir():
        if not entry.name.startswith(prefix):
            continue
        pid, sep, _rest = entry.name[len(prefix) :].partition("-")
        if sep and pid.isdigit():
            yield entry, int(pid)


def recover(out: Path) -> Path | None:
    """Put back the snapshot that an interrupted replacement of ``out`` left set aside.

    Acts only when ``out`` is missing and the process that set a snapshot aside is dead (a live
    one is still replacing it). Returns the folder restored (and says so on stderr), else None.
    """
    out = out.absolute()
    if os.path.lexists(out) or not out.parent.is_dir():
        return None
    dead = [entry for entry, pid in _leftovers(out, _OLD_MARK) if not _pid_alive(pid)]
    if not dead:
        return None
    aside = max(dead, key=lambda entry: entry.lstat().st_ctime_ns)  # set aside last
    _rename_noreplace(aside, out)
    _fsync_dir(out.parent)
    print(
        f"tamis: {out} was missing: a replacement of it was interrupted after setting the "
        f"previous snapshot aside; restored it from {aside.name}",
        file=sys.stderr,
        flush=True,
    )
    return aside


def is_snapshot(path: Path) -> bool:
    """Whether ``path`` is a published snapshot: a folder (not a link) whose ``manifest.json`` is
    a tamis snapshot's. What ``--force`` may replace."""
    if path.is_symlink() or not path.is_dir():
        return False
    try:
        manifest = json.loads((path / "manifest.json").read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("format") == FORMAT


class Workspace:
    """A temporary build directory that is published to ``out`` on success, removed on failure."""

    def __init__(self, out: Path, *, force: bool = False) -> None:
        self.out = out.absolute()
        self.force = force
        self.path = (
            self.out.parent / f".{self.out.name}{_TMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        )

    def __enter__(self) -> Workspace:
        recover(self.out)
        if os.path.lexists(self.out):
            if not self.force:
                raise SnapshotError(
                    f"{self.out} already exists; choose another --out or pass --force to replace it"
                )
            self._check_replaceable()
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._remove_stale()
        self.path.mkdir()
        return self

    def _remove_stale(self) -> None:
        """Remove what crashed builds of ``out`` left beside it: workspaces and spill folders,
        and snapshots set aside whose replacement is in place (never while ``out`` is missing)."""
        for entry, pid in _leftovers(self.out, _TMP_MARK):
            if not _pid_alive(pid):
                _discard(entry)
        for entry, pid in _leftovers(self.out, _OLD_MARK):
            if not _pid_alive(pid) and os.path.lexists(self.out):
                _discard(entry)

    def _check_replaceable(self) -> None:
        if not is_snapshot(self.out):
            raise SnapshotError(
                f"{self.out} exists and is not a tamis snapshot (no manifest.json of one): "
                "--force replaces a snapshot only, never other files; choose another --out"
            )

    def publish(self) -> None:
        fsync_tree(self.path)
        if not os.path.lexists(self.out):
            try:
                _rename_noreplace(self.path, self.out)
            except OSError as exc:
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
            else:
                _fsync_dir(self.out.parent)
                return
        # --out is there: it was at the start (--force), or it appeared while this build ran
        if not self.force:
            raise SnapshotError(
                f"{self.out} appeared while this build ran (another build of it?); this build is "
                "not published: choose another --out, or pass --force to replace it"
            )
        self._check_replaceable()
        try:
            exchange(self.path, self.out)  # the previous snapshot is now in the workspace
        except OSError as exc:
            if exc.errno not in NOT_SUPPORTED:
                raise
            self._replace_in_two_renames()
        _fsync_dir(self.out.parent)
        _discard(self.path)

    def _replace_in_two_renames(self) -> None:
        """Where the file system cannot exchange: a crash between the renames leaves ``out``
        missing and the previous snapshot aside, for :func:`recover` to put back."""
        aside = self.out.parent / f".{self.out.name}{_OLD_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        os.rename(self.out, aside)
        os.rename(self.path, self.out)
        _fsync_dir(self.out.parent)
        # No longer needed: it leaves the name that recover() restores before it is removed.
        try:
            os.rename(aside, self.path)
        except OSError:
            _discard(aside)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.publish()
        finally:
            if os.path.lexists(self.path):  # not published, or the replaced snapshot
                with contextlib.suppress(OSError):
                    shutil.rmtree(self.path)
