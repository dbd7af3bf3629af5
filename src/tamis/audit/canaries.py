"""Canaries: random secrets of known formats planted in an audit copy of a snapshot.

Following Carlini et al. 2019 ("The Secret Sharer"), each canary is a record ``prefix + secret``
where the secret is drawn uniformly from a space of at least 2^26 values of a known format
(phone, e-mail, IBAN). Canaries are inserted at several repetition levels (1, 4, 16, 64 copies);
*controls* are drawn the same way and never inserted. How much more likely a trained model finds
inserted secrets than controls is the audit (:mod:`tamis.audit.exposure`).

The audit copy (``data/part-00000.parquet``, ``members.parquet``, ``audit.json``) is for training
an audit model only: it is not a snapshot (its ``audit.json`` says so) and the secrets are written
to a separate file, never beside the data a trainer reads.
"""

from __future__ import annotations

import hashlib
import math
import random
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from tamis.errors import TamisError

CANARY_PREFIX = "canary:"
SECRETS_FORMAT = "tamis.canaries.v1"
AUDIT_COPY_FORMAT = "tamis.audit-copy.v1"
_LOWER = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class CanaryFormat:
    """A secret format: its shared prefix, how to draw one, and the size of its space."""

    name: str
    prefix: str
    space: int
    draw: Callable[[random.Random], str]

    @property
    def bits(self) -> float:
        return math.log2(self.space)


def _phone(rng: random.Random) -> str:
    digits = f"{rng.randrange(10**8):08d}"
    return "06 " + " ".join(digits[i : i + 2] for i in range(0, 8, 2))


def _email(rng: random.Random) -> str:
    return "".join(rng.choice(_LOWER) for _ in range(6)) + "@mailbox.fr"


def _iban(rng: random.Random) -> str:
    """A valid French IBAN (RIB key and ISO 7064 check digits) with 8 random account digits."""
    bank, branch = "30006", "00001"
    account = f"000{rng.randrange(10**8):08d}"
    rib_key = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97
    bban = f"{bank}{branch}{account}{rib_key:02d}"
    numeric = "".join(str(int(c, 36)) for c in bban + "FR00")
    check = 98 - int(numeric) % 97
    compact = f"FR{check:02d}{bban}"
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


FORMATS: dict[str, CanaryFormat] = {
    "phone": CanaryFormat("phone", "my phone number is ", 10**8, _phone),
    "email": CanaryFormat("email", "you can write to me at ", 26**6, _email),
    "iban": CanaryFormat("iban", "my IBAN is ", 10**8, _iban),
}


def get_format(name: str) -> CanaryFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise TamisError(
            f"unknown canary format {name!r}; available: {', '.join(sorted(FORMATS))}"
        ) from None


@dataclass(frozen=True)
class Canary:
    """One secret: ``level`` copies inserted (0 for a control, never inserted)."""

    id: str
    format: str
    level: int
    secret: str

    @property
    def inserted(self) -> bool:
        return self.level > 0

    @property
    def prefix(self) -> str:
        return FORMATS[self.format].prefix

    @property
    def text(self) -> str:
        return self.prefix + self.secret

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "format": self.format,
            "level": self.level,
            "inserted": self.inserted,
            "prefix": self.prefix,
            "secret": self.secret,
        }


@dataclass(frozen=True)
class CanarySet:
    """The secrets file: canaries, controls and how they were drawn."""

    canaries: tuple[Canary, ...]
    formats: tuple[str, ...]
    levels: tuple[int, ...]
    seed: int
    source: str = ""

    @property
    def controls(self) -> tuple[Canary, ...]:
        return tuple(c for c in self.canaries if not c.inserted)

    def secrets(self) -> frozenset[str]:
        return frozenset(c.secret for c in self.canaries)

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "format": SECRETS_FORMAT,
                "seed": self.seed,
                "source": self.source,
                "levels": list(self.levels),
                "formats": {
                    f: {
                        "prefix": FORMATS[f].prefix,
                        "space": FORMATS[f].space,
                        "bits": round(FORMATS[f].bits, 2),
                    }
                    for f in self.formats
                },
                "canaries": [c.to_dict() for c in self.canaries],
            },
            option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS,
        )

    @classmethod
    def load(cls, path: Path) -> CanarySet:
        try:
            data = orjson.loads(Path(path).read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise TamisError(f"cannot read the canaries file {path}: {exc}") from None
        if data.get("format") != SECRETS_FORMAT:
            raise TamisError(f"{path} is not a tamis canaries file (format {SECRETS_FORMAT})")
        canaries = tuple(
            Canary(c["id"], c["format"], int(c["level"]), c["secret"]) for c in data["canaries"]
        )
        return cls(
            canaries,
            tuple(data["formats"]),
            tuple(data["levels"]),
            int(data["seed"]),
            str(data.get("source", "")),
        )


def draw_canaries(
    formats: Sequence[str],
    levels: Sequence[int],
    per_level: int,
    controls: int,
    seed: int,
) -> CanarySet:
    """Distinct secrets: ``per_level`` per format and level, plus ``controls`` per format."""
    if per_level < 1 or controls < 1:
        raise TamisError("canaries: --per-level and --controls must be at least 1")
    if any(level < 1 for level in levels) or len(set(levels)) != len(levels):
        raise TamisError("canaries: levels must be distinct positive copy counts")
    fmts = [get_format(f) for f in formats]
    for f in fmts:
        if f.bits < 26:
            raise TamisError(f"canary format {f.name} has only {f.bits:.1f} bits (< 26)")
    rng = random.Random(f"tamis.canaries.{seed}")  # nosec B311  # seeded, not for secrets
    seen: set[str] = set()
    out: list[Canary] = []
    for f in fmts:
        plan = [(lv, f"L{lv}") for lv in sorted(levels)] + [(0, "C")]
        for level, tag in plan:
            for k in range(per_level if level else controls):
                secret = f.draw(rng)
                while secret in seen:
                    secret = f.draw(rng)
                seen.add(secret)
                out.append(Canary(f"{f.name}-{tag}-{k:03d}", f.name, level, secret))
    return CanarySet(tuple(out), tuple(f.name for f in fmts), tuple(sorted(levels)), seed)


def read_snapshot_table(snapshot: Path) -> pa.Table:
    """All data parts of a snapshot (or audit copy), in order."""
    parts = sorted(Path(snapshot, "data").glob("part-*.parquet"))
    if not parts:
        raise TamisError(f"{snapshot} has no data/part-*.parquet: is it a snapshot directory?")
    return pa.concat_tables([pq.read_table(p) for p in parts])


def _member_ref(canary_id: str) -> str:
    return hashlib.sha256(f"tamis.canary\x00{canary_id}".encode()).hexdigest()[:32]


def plant(
    snapshot: Path,
    out: Path,
    canaries: CanarySet,
    *,
    secrets_path: Path | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Write an audit copy of ``snapshot`` to ``out`` with the canaries inserted.

    Each canary (its own pseudo-member) becomes ``level`` records placed at random positions
    among the snapshot's records (seeded). The secrets go to ``secrets_path`` (default:
    ``<out>.canaries.json`` beside, not inside, the audit copy). Returns the audit summary.
    """
    snapshot, out = Path(snapshot), Path(out)
    table = read_snapshot_table(snapshot)
    if out.exists():
        if not force:
            raise TamisError(f"{out} exists; use --force to replace it")
        shutil.rmtree(out)
    secrets_path = (
        Path(secrets_path) if secrets_path else out.with_name(out.name + ".canaries.json")
    )
    if secrets_path.resolve().is_relative_to(out.resolve()):
        raise TamisError("the secrets file must not be inside the audit copy")

    n = table.num_rows
    created = table.column("created_at")
    when = created[n - 1].as_py() if n else None
    rows: list[dict[str, Any]] = []
    for c in canaries.canaries:
        for copy in range(c.level):
            rows.append(
                {
                    "record_id": f"{CANARY_PREFIX}{c.id}:{copy:03d}",
                    "member_ref": _member_ref(c.id),
                    "kind": "post",
                    "category": "user.content",
                    "created_at": when,
                    "lang": "en",
                    "text": c.text,
                }
            )
    rng = random.Random(f"tamis.canaries.positions.{canaries.seed}")  # nosec B311  # seeded, not for secrets
    positions = sorted((rng.randrange(n + 1), i) for i in range(len(rows)))
    canary_table = pa.Table.from_pylist(rows, schema=table.schema)
    order: list[tuple[str, int]] = []
    pi = 0
    for row in range(n + 1):
        while pi < len(positions) and positions[pi][0] == row:
            order.append(("c", positions[pi][1]))
            pi += 1
        if row < n:
            order.append(("s", row))
    combined = pa.concat_tables([table, canary_table])
    index = pa.array([i if src == "s" else n + i for src, i in order], pa.int64())
    audit = combined.take(index)

    (out / "data").mkdir(parents=True)
    pq.write_table(audit, out / "data" / "part-00000.parquet")
    if (snapshot / "members.parquet").exists():
        shutil.copy2(snapshot / "members.parquet", out / "members.parquet")
    source_id = ""
    manifest = snapshot / "manifest.json"
    if manifest.exists():
        source_id = str(orjson.loads(manifest.read_bytes()).get("snapshot_id", ""))
    canaries = CanarySet(
        canaries.canaries, canaries.formats, canaries.levels, canaries.seed, source_id
    )
    summary = {
        "format": AUDIT_COPY_FORMAT,
        "note": "an audit copy with planted canaries: never a training snapshot",
        "source_snapshot": str(snapshot),
        "source_snapshot_id": source_id,
        "records": audit.num_rows,
        "source_records": n,
        "canary_records": len(rows),
        "canaries": sum(1 for c in canaries.canaries if c.inserted),
        "controls": len(canaries.controls),
        "formats": list(canaries.formats),
        "levels": list(canaries.levels),
        "seed": canaries.seed,
    }
    (out / "audit.json").write_bytes(
        orjson.dumps(summary, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    )
    secrets_path.parent.mkdir(parents=True, exist_ok=True)
    secrets_path.write_bytes(canaries.to_json())
    secrets_path.chmod(0o600)
    summary["secrets"] = str(secrets_path)
    return summary
