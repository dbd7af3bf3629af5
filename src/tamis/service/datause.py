"""Which training snapshots hold a member's data: a small interface and a snapshot-folder scan.

The data-use page asks a :class:`DataUseSource` for the snapshots that include a member (by their
pseudonym, ``member_ref``). :class:`SnapshotDirSource` scans a folder of published snapshots (each
subfolder with a ``manifest.json``) and reads each ``members.parquet`` (one row per included
member and category, with a record count). A lineage store in the registry will implement the
same interface later.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tamis.errors import TamisError
from tamis.pipeline.manifest import read_manifest


@dataclass(frozen=True)
class SnapshotUse:
    """One snapshot that includes a member: its identity and their records by category."""

    snapshot_id: str
    purpose: str
    policy: str
    cutoff: str
    built_at: str | None
    categories: tuple[tuple[str, int], ...]

    @property
    def records(self) -> int:
        return sum(n for _, n in self.categories)

    def as_dict(self) -> dict[str, Any]:
        return {
            "snapshot_id": self.snapshot_id,
            "purpose": self.purpose,
            "policy": self.policy,
            "cutoff": self.cutoff,
            "built_at": self.built_at,
            "records": self.records,
            "categories": [{"category": c, "records": n} for c, n in self.categories],
        }


class DataUseSource(Protocol):
    """Where the data-use page learns which snapshots include a member."""

    def uses(self, member_ref: str) -> list[SnapshotUse]:
        """Snapshots that include the member with this pseudonym, oldest cutoff first."""
        ...

    def snapshots_checked(self) -> int:
        """How many snapshots the source knows (to say "none of N snapshots")."""
        ...


class NoDataUse:
    """No snapshot folder configured: no snapshot is known."""

    def uses(self, member_ref: str) -> list[SnapshotUse]:
        return []

    def snapshots_checked(self) -> int:
        return 0


@dataclass
class _Loaded:
    stamp: tuple[int, int]
    manifest: dict[str, Any]
    members: pa.Table


class SnapshotDirSource:
    """Scans ``root/*/manifest.json`` and each snapshot's ``members.parquet``.

    Each snapshot's member table is read once and kept (re-read when its manifest changes); hidden
    folders (a build in progress) are skipped, and so are folders that are not snapshots.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._cache: dict[Path, _Loaded] = {}
        self._lock = threading.Lock()

    def _snapshots(self) -> list[_Loaded]:
        if not self.root.is_dir():
            return []
        out = []
        with self._lock:
            for folder in sorted(self.root.iterdir()):
                manifest_path = folder / "manifest.json"
                if folder.name.startswith(".") or not manifest_path.is_file():
                    continue
                stat = manifest_path.stat()
                stamp = (stat.st_mtime_ns, stat.st_size)
                loaded = self._cache.get(folder)
                if loaded is None or loaded.stamp != stamp:
                    try:
                        manifest = read_manifest(folder)
                        members = pq.read_table(
                            folder / "members.parquet",
                            columns=["member_ref", "category", "records"],
                        )
                    except (TamisError, OSError, pa.ArrowException):
                        continue
                    loaded = _Loaded(stamp, manifest, members)
                    self._cache[folder] = loaded
                out.append(loaded)
        return out

    def uses(self, member_ref: str) -> list[SnapshotUse]:
        found = []
        for snap in self._snapshots():
            rows = snap.members.filter(pc.equal(snap.members["member_ref"], member_ref))
            if rows.num_rows == 0:
                continue
            categories = sorted(
                zip(rows["category"].to_pylist(), rows["records"].to_pylist(), strict=True)
            )
            m = snap.manifest
            policy = m.get("policy") or {}
            found.append(
                SnapshotUse(
                    snapshot_id=str(m.get("snapshot_id")),
                    purpose=str(m.get("purpose")),
                    policy=f"{policy.get('name')} {policy.get('version')}".strip(),
                    cutoff=str(m.get("cutoff")),
                    built_at=m.get("built_at"),
                    categories=tuple((str(c), int(n)) for c, n in categories),
                )
            )
        return sorted(found, key=lambda u: (u.cutoff, u.snapshot_id))

    def snapshots_checked(self) -> int:
        return len(self._snapshots())
