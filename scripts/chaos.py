"""Crash campaigns (``make chaos``, not in CI): SIGKILL at random moments, then count the damage.

1. Snapshot builds: ``tamis snapshot build`` on a synthetic export (``tamis synth``) is killed
   ``--kills`` times at a random moment. After each kill the output must be absent or verify
   (``tamis snapshot verify``: a half-published snapshot is a failure); then a rerun to completion
   must be byte-identical to a reference build (every file; the manifest without ``built_at``).
2. Registry writes under load, on SQLite and on PostgreSQL: ``--writers`` processes call
   ``ConsentRegistry.set`` in a loop and log an event id only after the call returned. One of
   them is SIGKILLed at a random moment, ``--kills`` times, and restarted. At the end every
   acknowledged event must be in the registry, and the consent log must verify.

Prints the tallies; exits non-zero if any property failed.

    python scripts/chaos.py                    # both campaigns, 100 kills each
    python scripts/chaos.py --only registry --kills 20
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CUTOFF = "2026-01-01T00:00:00Z"
PG_URL = os.environ.get(
    "TAMIS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
VOLATILE_MANIFEST_KEYS = ("built_at", "run_id")  # when and which run: differ by design


def _tamis(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "tamis.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if check and result.returncode != 0:
        raise SystemExit(f"tamis {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def _fingerprint(snapshot: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for path in sorted(p for p in snapshot.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.name == "manifest.json":
            data = json.dumps(_without_volatile(json.loads(data)), sort_keys=True).encode()
        files[str(path.relative_to(snapshot))] = data
    return files


def _without_volatile(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _without_volatile(v) for k, v in obj.items() if k not in VOLATILE_MANIFEST_KEYS}
    if isinstance(obj, list):
        return [_without_volatile(v) for v in obj]
    return obj


# -- 1. snapshot builds ----------------------------------------------------------------------------


def snapshot_campaign(
    work: Path, kills: int, members: int, rng: random.Random, rerun_every: int
) -> dict[str, Any]:
    env = {**os.environ, "TAMIS_PSEUDONYM_KEY": secrets.token_hex(32)}
    export = work / "export"
    _tamis("synth", "--members", str(members), "--seed", "7", "--out", str(export), env=env)
    build = ["snapshot", "build", "--export", str(export), "--policy", "linkedin-2025"]
    build += ["--cutoff", CUTOFF, "-q"]
    started = time.monotonic()
    _tamis(*build, "--out", str(work / "reference"), env=env)
    duration = time.monotonic() - started
    reference = _fingerprint(work / "reference")
    out = work / "killed"
    tally = {"kills": 0, "absent": 0, "complete": 0, "half_published": 0, "reruns": 0}
    tally |= {"reruns_identical": 0, "reruns_different": 0, "build_seconds": round(duration, 1)}
    for attempt in range(kills):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tamis.cli", *build, "--out", str(out), "--force"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.0, duration * 1.05))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            tally["kills"] += 1
        proc.wait()
        if not out.exists():
            tally["absent"] += 1
        elif _tamis("snapshot", "verify", str(out), env=env, check=False).returncode == 0:
            tally["complete"] += 1
        else:
            tally["half_published"] += 1
            print(f"  kill {attempt}: HALF-PUBLISHED snapshot at {out}", file=sys.stderr)
            shutil.rmtree(out)
        # A complete snapshot stays: the next kill hits a build replacing it (--force).
        if (attempt + 1) % rerun_every and attempt + 1 != kills:
            print(f"  builds: {attempt + 1}/{kills} {json.dumps(tally)}", flush=True)
            continue
        # A rerun after the crash, to completion: the same bytes as the reference.
        rerun = work / "rerun"
        shutil.rmtree(rerun, ignore_errors=True)
        _tamis(*build, "--out", str(rerun), env=env)
        tally["reruns"] += 1
        same = _fingerprint(rerun) == reference
        tally["reruns_identical" if same else "reruns_different"] += 1
        print(f"  builds: {attempt + 1}/{kills} {json.dumps(tally)}", flush=True)
    return tally


# -- 2. registry writes ----------------------------------------------------------------------------


def writer(db: str, ack: str, seed: int, members: int) -> None:
    """A writer process: ``set`` in a loop; an id is logged only once ``set`` has returned."""
    from tamis.consent.registry import open_registry

    rng = random.Random(seed)
    registry = open_registry(db)
    with open(ack, "a", encoding="utf-8") as log:
        while True:
            member = f"m{rng.randrange(members)}"
            event = registry.set(member, rng.random() < 0.5, channel="api")
            log.write(f"{member} {event.event_id}\n")
            log.flush()  # in the page cache: survives the SIGKILL of this process


def _acknowledged(ack_dir: Path) -> list[tuple[str, str]]:
    acked = []
    for path in ack_dir.glob("*.ack"):
        for line in path.read_text().split("\n"):
            parts = line.split()
            if len(parts) == 2:  # a line cut by the kill has no id yet: not acknowledged
                acked.append((parts[0], parts[1]))
    return acked


def _verify_chain(db: str) -> str:
    help_text = _tamis("--help", env=dict(os.environ)).stdout
    if " log " in help_text:
        result = _tamis("log", "verify", "--db", db, env=dict(os.environ), check=False)
        return "ok" if result.returncode == 0 else f"FAILED: {result.stderr.strip()[:300]}"
    try:
        from tamis.consent.log import verify_registry
    except ImportError:
        return "not available (no consent log yet)"
    from tamis.consent.registry import open_registry

    with open_registry(db) as registry:
        report = verify_registry(registry)
    return "ok (library)" if report.ok else f"FAILED: {report.problem}"


def registry_campaign(
    name: str, db: str, work: Path, kills: int, writers: int, members: int, rng: random.Random
) -> dict[str, Any]:
    from tamis.consent.registry import open_registry

    open_registry(db).close()  # create and migrate once, before the writers race
    ack_dir = work / f"acks-{name}"
    ack_dir.mkdir()
    procs: dict[int, subprocess.Popen[bytes]] = {}
    incarnation = 0

    def start(slot: int) -> None:
        nonlocal incarnation
        incarnation += 1
        procs[slot] = subprocess.Popen(
            [sys.executable, __file__, "_writer", db, str(ack_dir / f"{incarnation}.ack")]
            + [str(rng.randrange(2**31)), str(members)],
            stderr=subprocess.DEVNULL,
        )

    for slot in range(writers):
        start(slot)
    deadline = time.monotonic() + 300  # let every writer connect and acknowledge a write
    while time.monotonic() < deadline and not all(
        (ack_dir / f"{n}.ack").exists() and (ack_dir / f"{n}.ack").stat().st_size
        for n in range(1, writers + 1)
    ):
        time.sleep(0.5)
    tally: dict[str, Any] = {"kills": 0, "writer_errors": 0}
    for i in range(kills):
        time.sleep(rng.uniform(0.05, 1.0))
        slot = rng.randrange(writers)
        proc = procs[slot]
        if proc.poll() is not None:
            tally["writer_errors"] += 1  # a writer died by itself (e.g. the database refused)
        else:
            proc.send_signal(signal.SIGKILL)
            tally["kills"] += 1
        proc.wait()
        start(slot)
        if (i + 1) % 25 == 0:
            print(f"  {name}: {i + 1}/{kills} kills", flush=True)
    for proc in procs.values():
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    acked = _acknowledged(ack_dir)
    with open_registry(db) as registry:
        stored: set[str] = set()
        for member in sorted({m for m, _ in acked}):
            stored |= {e.event_id for e in registry.history(member)}
        total = registry.stats()
    tally["acknowledged"] = len(acked)
    tally["acknowledged_lost"] = sum(1 for _, event_id in acked if event_id not in stored)
    tally["events_in_registry"] = getattr(total, "events", None)
    tally["chain"] = _verify_chain(db)
    return tally


def _pg_database() -> tuple[str, Any]:
    import sqlalchemy as sa

    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"tamis_chaos_{secrets.token_hex(4)}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return url, drop


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_writer":
        writer(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--members", type=int, default=400, help="synthetic members to build")
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--rerun-every", type=int, default=10, help="kills between reruns")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--only", choices=["snapshot", "registry", "sqlite", "postgres"])
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"chaos: seed {args.seed}, {args.kills} kills per campaign", flush=True)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="tamis-chaos-") as tmp:
        work = Path(tmp)
        if args.only in (None, "snapshot"):
            (work / "snap").mkdir()
            results["snapshot builds"] = snapshot_campaign(
                work / "snap", args.kills, args.members, rng, args.rerun_every
            )
        if args.only in (None, "registry", "sqlite"):
            db = f"sqlite:///{work / 'registry.db'}"
            results["registry sqlite"] = registry_campaign(
                "sqlite", db, work, args.kills, args.writers, 50, rng
            )
        if args.only in (None, "registry", "postgres"):
            url, drop = _pg_database()
            try:
                results["registry postgres"] = registry_campaign(
                    "postgres", url, work, args.kills, args.writers, 50, rng
                )
            finally:
                drop()
    print("\nchaos tallies")
    failed = False
    for campaign, tally in results.items():
        print(f"  {campaign}: " + ", ".join(f"{k}={v}" for k, v in tally.items()))
        failed |= bool(tally.get("half_published") or tally.get("reruns_different"))
        failed |= bool(tally.get("acknowledged_lost"))
        failed |= str(tally.get("chain", "ok")).startswith("FAILED")
    print("FAILED" if failed else "OK: no half-published snapshot, no acknowledged write lost")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
