"""The snapshot manifest: what went in, what came out, and why the rest stayed out.

``manifest.json`` is written last, into the build directory, before the atomic publication. Its
``files`` section lists every file of the snapshot with its size and sha256, so that
:func:`verify_snapshot` can re-check a snapshot anywhere. JSON is written with sorted keys.

The manifest itself is not signed: whoever can rewrite the files can rewrite it. What
:func:`verify_snapshot` adds to the hashes is that the manifest agrees with the files it lists
(rows, records, the members and their commitment), so that hiding a member means rewriting
their records too; the manifest's own sha256, recorded in the lineage store at publication
(``tamis lineage``), is what ties it to the build.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path, PurePosixPath
from typing import Any

from tamis.errors import VerificationError

MANIFEST = "manifest.json"
FORMAT = "tamis.snapshot/v1"
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def describe_file(
    root: Path, path: Path, *, sha256: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A manifest's entry for a file; ``sha256`` when its hash is already known (the file
    must not have changed since)."""
    return {
        "path": path.relative_to(root).as_posix(),
        "bytes": path.stat().st_size,
        "sha256": sha256 or sha256_file(path),
        **extra,
    }


def write_manifest(root: Path, manifest: dict[str, Any]) -> Path:
    path = root / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return path


def read_manifest(root: Path) -> dict[str, Any]:
    """The manifest of the snapshot at ``root``, its shape checked (a JSON object of the
    snapshot format, whose ``files`` entries each have a ``path``, ``bytes`` and ``sha256``)."""
    path = root / MANIFEST
    if not path.is_file():
        raise VerificationError(f"{root} is not a snapshot: {MANIFEST} is missing")
    try:
        manifest = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise VerificationError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise VerificationError(f"{path}: not a JSON object")
    if manifest.get("format") != FORMAT:
        raise VerificationError(f"{path}: unknown format {manifest.get('format')!r}")
    files = manifest.get("files", [])
    if not isinstance(files, list):
        raise VerificationError(f"{path}: 'files' is not a list")
    for i, entry in enumerate(files):
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("path"), str)
            and type(entry.get("bytes")) is int
            and isinstance(entry.get("sha256"), str)
            and type(entry.get("rows", 0)) is int
        ):
            raise VerificationError(
                f"{path}: files[{i}] is not an entry with a path, bytes (a whole number) and sha256"
            )
    return manifest


def verify_snapshot(root: Path) -> list[str]:
    """Re-check a published snapshot. Returns the files checked; raises on the first problem.

    - every listed file is a regular file inside the snapshot (no ``..``, no symbolic link on
      the way) with the manifest's size and sha256;
    - nothing else is there: no unlisted file, link, pipe or socket anywhere in the snapshot;
    - the manifest agrees with the files: each Parquet file's rows, the records included
      (the rows of ``data/``), and the members: ``members.parquet`` lists exactly the
      pseudonyms found in ``data/``, as many as ``members.included`` says, and their Merkle
      root is ``members_root``.
    """
    manifest = read_manifest(root)
    if "files" not in manifest:
        raise VerificationError(f"{root / MANIFEST}: lists no files")
    listed = manifest["files"]
    checked = []
    for entry in listed:
        path = _listed_path(root, entry["path"])
        size = path.stat().st_size
        if size != entry["bytes"]:
            raise VerificationError(
                f"{entry['path']}: size {size} differs from the manifest's {entry['bytes']}"
            )
        if sha256_file(path) != entry["sha256"]:
            raise VerificationError(f"{entry['path']}: sha256 differs from the manifest")
        checked.append(entry["path"])
    _nothing_unlisted(root, {e["path"] for e in listed})
    _agrees_with_files(root, manifest)
    return checked


def _listed_path(root: Path, rel: str) -> Path:
    parts = PurePosixPath(rel).parts
    if not parts or rel.startswith("/") or any(p in ("..", ".") for p in rel.split("/")):
        raise VerificationError(f"{rel!r}: not a path inside the snapshot")
    path = root
    for part in parts:
        path = path / part
        if path.is_symlink():
            raise VerificationError(f"{rel}: a symbolic link ({path.relative_to(root)})")
    try:
        mode = path.lstat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise VerificationError(f"{rel}: listed in the manifest but missing") from None
    if not stat.S_ISREG(mode):
        raise VerificationError(f"{rel}: not a regular file")
    return path


def _nothing_unlisted(root: Path, known: set[str]) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        for name in sorted([*dirnames, *filenames]):
            path = here / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                raise VerificationError(f"{rel}: a symbolic link; a snapshot holds none")
            if name in dirnames or rel == MANIFEST:
                continue
            if rel not in known:
                raise VerificationError(f"{rel}: not listed in the manifest")


def _agrees_with_files(root: Path, manifest: dict[str, Any]) -> None:
    import duckdb
    import pyarrow.parquet as pq

    from tamis.lineage.merkle import merkle_root

    parquet = [e for e in manifest["files"] if e["path"].endswith(".parquet")]
    rows_of = {e["path"]: pq.ParquetFile(root / e["path"]).metadata.num_rows for e in parquet}
    for entry in parquet:
        rows = rows_of[entry["path"]]
        if "rows" in entry and rows != entry["rows"]:
            raise VerificationError(
                f"{entry['path']}: {rows} rows, the manifest says {entry['rows']}"
            )
    data = [root / e["path"] for e in parquet if e["path"].startswith("data/")]
    records = _figure(manifest, "records", "included")
    total = sum(n for path, n in rows_of.items() if path.startswith("data/"))
    if records != total:
        raise VerificationError(f"data/ holds {total} records, the manifest says {records}")
    quarantined = manifest.get("quarantined")
    if not isinstance(quarantined, dict):
        raise VerificationError("the manifest's quarantined counts are missing")
    held = {
        path.removeprefix("quarantine/").removesuffix(".parquet"): n
        for path, n in rows_of.items()
        if path.startswith("quarantine/")
    }
    said = {table: n for table, n in quarantined.items() if n}
    if held != said:
        raise VerificationError(
            f"quarantine/ holds {held or 'nothing'}, the manifest's quarantined counts say "
            f"{said or 'nothing'}"
        )
    members_file = root / "members.parquet"
    if not (members_file.is_file() and "members_root" in manifest):
        raise VerificationError("members.parquet or the manifest's members_root is missing")
    con = duckdb.connect()
    try:
        listed_refs = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT member_ref FROM read_parquet(?) ORDER BY 1", [str(members_file)]
            ).fetchall()
        ]
        found_refs = (
            [
                r[0]
                for r in con.execute(
                    "SELECT DISTINCT member_ref FROM read_parquet(?) ORDER BY 1",
                    [[str(p) for p in data]],
                ).fetchall()
            ]
            if data
            else []
        )
    finally:
        con.close()
    if listed_refs != found_refs:
        missing = sorted(set(found_refs) - set(listed_refs))
        extra = sorted(set(listed_refs) - set(found_refs))
        raise VerificationError(
            f"members.parquet does not list the members of data/ ({len(missing)} in data/ "
            f"but not listed, {len(extra)} listed without a record)"
        )
    included = _figure(manifest, "members", "included")
    if included != len(listed_refs):
        raise VerificationError(
            f"data/ holds {len(listed_refs)} members, the manifest says {included}"
        )
    if merkle_root(listed_refs) != manifest["members_root"]:
        raise VerificationError("members_root is not the Merkle root of members.parquet")


def _figure(manifest: dict[str, Any], section: str, key: str) -> Any:
    """``manifest[section][key]``, or None where the manifest has no such figure."""
    part = manifest.get(section)
    return part.get(key) if isinstance(part, dict) else None
