"""The snapshot manifest: what went in, what came out, and why the rest stayed out.

``manifest.json`` is written last, into the build directory, before the atomic publication. Its
``files`` section lists every file of the snapshot with its size and sha256, so that
:func:`verify_snapshot` can re-check a snapshot anywhere. JSON is written with sorted keys.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
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
    path = root / MANIFEST
    if not path.is_file():
        raise VerificationError(f"{root} is not a snapshot: {MANIFEST} is missing")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise VerificationError(f"{path}: not valid JSON ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise VerificationError(f"{path}: unknown format {manifest.get('format')!r}")
    return manifest


def verify_snapshot(root: Path) -> list[str]:
    """Re-check every file hash. Returns the files checked; raises on the first mismatch.

    Fails when a listed file is missing or differs, and when ``data/`` or ``quarantine/`` holds a
    file the manifest does not list.
    """
    manifest = read_manifest(root)
    listed = manifest.get("files", [])
    checked = []
    for entry in listed:
        path = root / entry["path"]
        if not path.is_file():
            raise VerificationError(f"{entry['path']}: listed in the manifest but missing")
        size = path.stat().st_size
        if size != entry["bytes"]:
            raise VerificationError(
                f"{entry['path']}: size {size} differs from the manifest's {entry['bytes']}"
            )
        if sha256_file(path) != entry["sha256"]:
            raise VerificationError(f"{entry['path']}: sha256 differs from the manifest")
        checked.append(entry["path"])
    known = {e["path"] for e in listed}
    for folder in ("data", "quarantine"):
        for path in sorted((root / folder).rglob("*")) if (root / folder).is_dir() else []:
            rel = path.relative_to(root).as_posix()
            if path.is_file() and rel not in known:
                raise VerificationError(f"{rel}: not listed in the manifest")
    return checked
