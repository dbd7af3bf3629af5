"""Which training snapshots hold a member's data: a small interface and a snapshot-folder scan.

The data-use page asks a :class:`DataUseSource` for the snapshots that include a member. Pseudonym
keys rotate, so the member is given by their pseudonym under each key of the key ring
(``member_refs``: ``key_id`` -> ``member_ref``), and each snapshot is searched under the pseudonym
of the key it was built with (its manifest's ``key_id``). A snapshot built with a key the ring no
longer holds cannot be searched: it is reported as unverifiable, never counted as checked. (A
manifest without ``key_id``, older than key rotation, is searched under every key of the ring,
and unverifiable when none finds the member.)

:class:`SnapshotDirSource` scans a folder of published snapshots (each subfolder with a
``manifest.json``) and reads each ``members.parquet`` (one row per included member and category,
with a record count).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class DataUseLookup:
    """What a source found for one member: the snapshots that include them (oldest cutoff
    first), how many snapshots were searched, and the ids of those that could not be."""

    uses: list[SnapshotUse] = field(default_factory=list)
    checked: int = 0
    unverifiable: list[str] = field(default_factory=list)


class DataUseSource(Protocol):
    """Where the data-use page learns which snapshots include a member."""

    def lookup(self, member_refs: Mapping[str, str]) -> DataUseLookup:
        """Search every snapshot for the member, given as their pseudonym under each key of the
        key ring (``key_id`` -> ``member_ref``), each snapshot under the key it was built with."""
        ...


class NoDataUse:
    """No snapshot folder configured: no snapshot is known."""

    def lookup(self, member_refs: Mapping[str, str]) -> DataUseLookup:
        return DataUseLookup()


@dataclass
class _Loaded:
    stamp: tuple[int, int]
    manifest: dict[str, Any]
    members: pa.Table


class SnapshotDirSource:
    """Scans ``root/*/manifest.json`` and each snapshot's ``members.parquet``.

    Each snapshot's member table is read once and kept (re-read when its manifest changes); hidden
    folders (a build in progress) are skipped, and so are folders without a manifest. A folder
    whose manifest or member table cannot be read is reported as unverifiable (by folder name).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._cache: dict[Path, _Loaded] = {}
        self._lock = threading.Lock()

    def _snapshots(self) -> tuple[list[_Loaded], list[str]]:
        """The snapshots read, and the folders that look like snapshots but cannot be read."""
        if not self.root.is_dir():
            return [], []
        out = []
        broken = []
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
                        broken.append(folder.name)
                        continue
                    loaded = _Loaded(stamp, manifest, members)
                    self._cache[folder] = loaded
                out.append(loaded)
        return out, broken

    def lookup(self, member_refs: Mapping[str, str]) -> DataUseLookup:
        found = []
        snapshots, broken = self._snapshots()
        unverifiable = list(broken)
        every_ref = pa.array(sorted(set(member_refs.values())), pa.string())
        for snap in snapshots:
            m = snap.manifest
            key_id = m.get("key_id")
            column = snap.members["member_ref"]
            if isinstance(key_id, str):
                if key_id not in member_refs:
                    unverifiable.append(str(m.get("snapshot_id")))
                    continue
                rows = snap.members.filter(pc.equal(column, member_refs[key_id]))
            else:  # no key_id: searched under every key of the ring
                rows = snap.members.filter(pc.is_in(column, value_set=every_ref))
                if rows.num_rows == 0:
                    unverifiable.append(str(m.get("snapshot_id")))
            if rows.num_rows == 0:
                continue
            categories = sorted(
                zip(rows["category"].to_pylist(), rows["records"].to_pylist(), strict=True)
            )
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
        return DataUseLookup(
            sorted(found, key=lambda u: (u.cutoff, u.snapshot_id)),
            len(snapshots) + len(broken) - len(unverifiable),
            sorted(unverifiable),
        )
