"""Crash campaigns (``make chaos``, not in CI): SIGKILL at random moments, then count the damage.

1. Snapshot builds: ``tamis snapshot build`` on a small synthetic export (``tamis synth``) is
   SIGKILLed until ``--kills`` kills have landed. Half the builds start on an empty ``--out``, half
   replace a complete snapshot (``--force``). Most kills come at a random moment of the whole
   build (uniform over the reference build's duration); a share (``--publish-share``) is aimed at
   a random step of the publication, found through Python's audit events in the build process
   itself: the manifest's write, the opens of the fsync pass, each rename or exchange, the removal
   of the replaced snapshot. After each kill ``--out`` must be absent or verify (``tamis snapshot
   verify``): a half-published snapshot is a failure. Every ``--rerun-every`` kills, the same
   build is rerun to completion at the same ``--out`` (as an operator would after a crash): it
   must be byte-identical to a reference build (every file; the manifest without ``built_at`` and
   ``run_id``). Every command runs in the campaign's own folder, without a registry.
2. Registry writes under load, on SQLite and on PostgreSQL: ``--writers`` processes call
   ``ConsentRegistry.set`` in a loop and log an event id only after the call returned. One of
   them is SIGKILLed at a random moment, ``--kills`` times, and restarted. At the end every
   acknowledged event must be in the registry, and ``tamis log verify --db URL`` must pass.

Prints the tallies (with wall and CPU seconds); exits non-zero if any property failed.

    python scripts/chaos.py                    # every campaign, 100 kills each
    python scripts/chaos.py --only snapshot --kills 10 --rerun-every 5
    python scripts/chaos.py --only registry --kills 20
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CUTOFF = "2026-01-01T00:00:00Z"
PG_URL = os.environ.get(
    "TAMIS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
VOLATILE_MANIFEST_KEYS = ("built_at", "run_id")  # when and which run: differ by design
SCRIPT = os.path.abspath(__file__)  # the campaigns run in their own folder (see main)


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

TMP_MARK = ".tamis-tmp-"  # tamis.pipeline.publish: the workspace, beside --out
OLD_MARK = ".tamis-old-"  # the replaced snapshot set aside, where the file system cannot exchange
EXCHANGE = "tamis.publish.exchange"  # raised by tamis before renameat2(RENAME_EXCHANGE): src, dst
RENAME = "tamis.publish.rename"  # raised by tamis before renameat2(RENAME_NOREPLACE): src, dst
# The audit events that touch the files of a publication (Python's sys.addaudithook).
FILE_EVENTS = frozenset(
    {"open", "os.rename", "os.replace", "os.remove", "os.rmdir", "os.mkdir", "shutil.rmtree"}
    | {EXCHANGE, RENAME}
)


def _event_paths(args: tuple[Any, ...], event: str) -> list[str]:
    """The absolute paths an audit event names (a path relative to a ``dir_fd`` is resolved)."""
    if event in ("os.rename", "os.replace"):  # src, dst, src_dir_fd, dst_dir_fd
        named = [(args[0], args[2]), (args[1], args[3])]
    elif event in (EXCHANGE, RENAME):  # src, dst
        named = [(args[0], None), (args[1], None)]
    elif event == "open":  # path, mode, flags
        named = [(args[0], None)]
    elif event == "os.mkdir":  # path, mode, dir_fd
        named = [(args[0], args[2])]
    else:  # os.remove, os.rmdir, shutil.rmtree: path, dir_fd
        named = [(args[0], args[1])]
    paths = []
    for path, dir_fd in named:
        if not isinstance(path, (str, bytes, os.PathLike)):
            continue
        text = os.fsdecode(path)
        if isinstance(dir_fd, int) and dir_fd >= 0 and not text.startswith("/"):
            try:  # shutil.rmtree removes entries by name relative to an open folder
                text = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), text)
            except OSError:
                continue
        paths.append(os.path.abspath(text))
    return paths


def publish_step_label(event: str, args: tuple[Any, ...], out: str) -> str | None:
    """What a file event does to the publication of ``out``: e.g. ``os.rename workspace->out``,
    ``open workspace/manifest.json (write)``; None for a file elsewhere."""
    parent, name = os.path.split(out)

    def role(path: str) -> str | None:
        if path == out or path.startswith(out + "/"):
            return "out"
        head = path[len(parent) + 1 :].split("/", 1)[0] if path.startswith(parent + "/") else ""
        if head.startswith(f".{name}{TMP_MARK}"):
            return "spill" if head.endswith(".spill") else "workspace"
        if head.startswith(f".{name}{OLD_MARK}"):
            return "old"
        return None

    paths = _event_paths(args, event)
    roles = [role(p) for p in paths]
    if not paths or None in roles:
        return None
    label = f"{event} {'->'.join(r or '' for r in roles)}"
    if event == "open":
        writes = (isinstance(args[1], str) and any(c in args[1] for c in "wax+")) or (
            isinstance(args[2], int) and args[2] & (os.O_WRONLY | os.O_RDWR)
        )
        base = os.path.basename(paths[0])
        label += f"/{base}" if base == "manifest.json" else ""
        label += " (write)" if writes else " (read)"
    return label


def hooked_build(spec: str, trace_file: str, out: str, cli_args: list[str]) -> None:
    """``chaos.py _build SPEC TRACE OUT ARGS...``: run ``tamis ARGS`` in this process and SIGKILL
    it just before one step of the publication, seen through Python's audit events.

    The publication's steps are the file events on the snapshot's files from the moment the
    manifest is opened for writing in the workspace: the manifest's write, the opens of
    ``fsync_tree``, the renames or the exchange, the removal of the replaced snapshot. SPEC
    ``trace`` kills nothing and appends every step's label to TRACE; ``N`` appends the N-th step's
    label to TRACE and kills the process before that step runs.
    """
    kill_at = 0 if spec == "trace" else int(spec)
    state = {"armed": False, "steps": 0, "busy": False}

    def note(label: str) -> None:
        with open(trace_file, "a", encoding="utf-8") as handle:
            handle.write(label + "\n")

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event not in FILE_EVENTS or state["busy"]:
            return
        state["busy"] = True
        try:
            label = publish_step_label(event, args, out)
            if label is None:
                return
            if not state["armed"] and label.startswith("open workspace/manifest.json (write)"):
                state["armed"] = True
            if not state["armed"]:
                return
            state["steps"] += 1
            if kill_at == 0:
                note(label)
            elif state["steps"] == kill_at:
                note(label)
                os.kill(os.getpid(), signal.SIGKILL)
        finally:
            state["busy"] = False

    sys.addaudithook(hook)
    sys.argv = ["tamis", *cli_args]
    from tamis.cli import main as tamis_main

    tamis_main()


class SnapshotChaos:
    """The snapshot campaign: kills, what each left at ``--out``, reruns against the reference."""

    def __init__(
        self,
        work: Path,
        members: int,
        policy: str,
        rng: random.Random,
        env: dict[str, str],
        stages: bool,
    ) -> None:
        self.work = work
        self.rng = rng
        self.env = env
        self.export = work / "export"
        self.builds = work / "builds"  # --out and its siblings only: leftovers are counted here
        self.builds.mkdir()
        self.out = self.builds / "killed"
        synth = ["synth", "--members", str(members), "--seed", "7", "--out", str(self.export)]
        _tamis(*synth, env=env)
        self.build = ["snapshot", "build", "--export", str(self.export), "--policy", policy]
        self.build += ["--cutoff", CUTOFF, "-q"]
        self.stages = stages
        if not stages:
            self.build.append("--no-stages")
        self.tally: dict[str, Any] = {"kills": 0, "timed_kills": 0, "publish_kills": 0}
        self.tally |= {"finished_before_kill": 0, "fresh_builds": 0, "replacing_builds": 0}
        self.tally |= {"out_absent": 0, "out_previous": 0, "out_new": 0, "half_published": 0}
        self.tally |= {"previous_gone_from_out": 0, "other_processes_killed": 0}
        self.tally |= {"reruns": 0, "reruns_identical": 0, "reruns_different": 0}
        self.timed_phase: collections.Counter[str] = collections.Counter()
        self.publish_steps: collections.Counter[str] = collections.Counter()
        self.stale_after_rerun: collections.Counter[str] = collections.Counter()

    def _run(self, argv: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            argv,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: workers it spawned die with it
        )

    def _plain(self, out: Path) -> list[str]:
        return [sys.executable, "-m", "tamis.cli", *self.build, "--out", str(out), "--force"]

    def _hooked(self, spec: str, trace: Path, out: Path) -> list[str]:
        args = [*self.build, "--out", str(out), "--force"]
        return [sys.executable, SCRIPT, "_build", spec, str(trace), str(out.absolute()), *args]

    def calibrate(self) -> None:
        """A reference build (timed), then a traced fresh build and a traced replacing build:
        the publication's steps of each kind of build, and two more reruns to compare."""
        started = time.monotonic()
        cpu = _children_cpu()
        reference = self.work / "reference"
        proc = self._run(self._plain(reference))
        if not self._workspace_appears(proc, reference):
            raise SystemExit(f"the reference build made no workspace (exit {proc.returncode})")
        before_workspace = time.monotonic() - started
        if proc.wait() != 0:
            raise SystemExit(f"the reference build failed (exit {proc.returncode})")
        self.duration = time.monotonic() - started
        self.in_workspace = self.duration - before_workspace
        self.tally["build_seconds"] = round(self.duration, 1)
        self.tally["build_seconds_in_workspace"] = round(self.in_workspace, 1)
        self.tally["build_cpu_seconds"] = round(_children_cpu() - cpu, 1)
        self.reference = _fingerprint(self.work / "reference")
        self.steps: dict[str, list[str]] = {}
        for scenario in ("fresh", "replacing"):
            trace = self.work / f"trace-{scenario}.txt"
            trace.unlink(missing_ok=True)
            if scenario == "fresh":
                shutil.rmtree(self.out, ignore_errors=True)
            proc = self._run(self._hooked("trace", trace, self.out))
            if proc.wait() != 0:
                raise SystemExit(f"the traced {scenario} build failed (exit {proc.returncode})")
            self.steps[scenario] = trace.read_text().splitlines()
            self._compare_rerun(self.out)
        for scenario, steps in self.steps.items():
            print(f"  publication steps of a {scenario} build: {len(steps)}", flush=True)
            for label, n in collections.Counter(steps).items():
                print(f"    {n:3} x {label}", flush=True)
        if not self.stages:
            self._full_builds_identical()

    def _full_builds_identical(self) -> None:
        """The killed builds skip the text stages (they write nothing a build without them does
        not: batches into the same workspace, then the same publication); two complete builds
        with the stages must still be byte-identical."""
        full = [a for a in self.build if a != "--no-stages"]
        prints = []
        for name in ("full-1", "full-2"):
            cpu = _children_cpu()
            _tamis(*full, "--out", str(self.work / name), env=self.env)
            self.tally["full_build_cpu_seconds"] = round(_children_cpu() - cpu, 1)
            prints.append(_fingerprint(self.work / name))
        self.tally["full_builds_identical"] = prints[0] == prints[1]
        print(f"  two builds with the text stages identical: {prints[0] == prints[1]}", flush=True)

    def _workspace_appears(self, proc: subprocess.Popen[bytes], out: Path) -> bool:
        """Wait (polling every 5 ms) until ``proc`` has made its workspace beside ``out``."""
        prefix = f".{out.name}{TMP_MARK}{proc.pid}-"
        while proc.poll() is None:
            if any(e.name.startswith(prefix) for e in os.scandir(out.parent)):
                return True
            time.sleep(0.005)
        return False

    def _compare_rerun(self, out: Path) -> None:
        self.tally["reruns"] += 1
        same = _fingerprint(out) == self.reference
        self.tally["reruns_identical" if same else "reruns_different"] += 1
        if not same:
            print(f"  rerun {self.tally['reruns']}: NOT byte-identical to the reference")

    def _siblings(self) -> collections.Counter[str]:
        """Leftovers beside --out: workspaces, spill folders and replaced snapshots."""
        found: collections.Counter[str] = collections.Counter()
        for entry in self.builds.iterdir():
            if entry.name.startswith(f".{self.out.name}{TMP_MARK}"):
                found["spill" if entry.name.endswith(".spill") else "workspace"] += 1
            elif entry.name.startswith(f".{self.out.name}{OLD_MARK}"):
                found["replaced snapshot"] += 1
        return found

    def _prepare(self) -> tuple[str, str | None]:
        """Half the builds start on an empty --out, half replace a complete snapshot (--force)."""
        if self.rng.random() < 0.5:
            shutil.rmtree(self.out, ignore_errors=True)
            self.tally["fresh_builds"] += 1
            return "fresh", None
        if not self.out.exists():
            shutil.copytree(self.work / "reference", self.out)
        self.tally["replacing_builds"] += 1
        return "replacing", _run_id(self.out)

    def attempt(self, publish: bool) -> bool:
        """One build killed at a random moment (or a random step of its publication); False if
        it finished first."""
        scenario, previous = self._prepare()
        pid_note = self.work / "killed-at.txt"
        pid_note.unlink(missing_ok=True)
        if publish:
            # A kind of step at random (a rename as often as an fsync open), then one of its
            # occurrences: the step number to die at.
            steps = self.steps[scenario]
            kind = self.rng.choice(sorted(set(steps)))
            step = self.rng.choice([n for n, label in enumerate(steps, 1) if label == kind])
            proc = self._run(self._hooked(str(step), pid_note, self.out))
            proc.wait()
        else:
            # Half at a moment of the whole run (interpreter start and imports included), half
            # at a moment of the part spent in the workspace (reading, writing, publishing).
            proc = self._run(self._plain(self.out))
            window = self.duration
            if self.rng.random() < 0.5 and self._workspace_appears(proc, self.out):
                window = self.in_workspace
            try:
                proc.wait(timeout=self.rng.uniform(0.0, window))
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # what it spawned (stage workers), if any
            self.tally["other_processes_killed"] += 1
        except ProcessLookupError:
            pass
        if proc.returncode != -signal.SIGKILL:
            if proc.returncode != 0:
                raise SystemExit(f"a build failed by itself (exit {proc.returncode})")
            self.tally["finished_before_kill"] += 1
            return False
        self.tally["kills"] += 1
        workspace = f".{self.out.name}{TMP_MARK}{proc.pid}-"
        in_workspace = any(e.name.startswith(workspace) for e in self.builds.iterdir())
        outcome = self._check(previous)
        if publish:
            self.tally["publish_kills"] += 1
            self.publish_steps[pid_note.read_text().strip()] += 1
        else:
            self.tally["timed_kills"] += 1
            phase = "before its workspace" if not in_workspace else "in its workspace"
            self.timed_phase["after publication" if outcome == "out_new" else phase] += 1
        return True

    def _check(self, previous: str | None) -> str:
        """What the kill left at --out: absent, the previous snapshot, the new one (or worse)."""
        if not self.out.exists():
            if previous is not None:
                self.tally["previous_gone_from_out"] += 1
            outcome = "out_absent"
        elif _tamis("snapshot", "verify", str(self.out), env=self.env, check=False).returncode:
            print(f"  kill {self.tally['kills']}: HALF-PUBLISHED snapshot at --out", flush=True)
            shutil.rmtree(self.out)
            outcome = "half_published"
        else:
            outcome = "out_previous" if _run_id(self.out) == previous else "out_new"
        self.tally[outcome] += 1
        return outcome

    def rerun(self) -> None:
        """After the crashes, the same build to completion at the same --out: identical bytes."""
        proc = self._run(self._plain(self.out))
        if proc.wait() != 0:
            raise SystemExit(f"the rerun after a crash failed (exit {proc.returncode})")
        if _tamis("snapshot", "verify", str(self.out), env=self.env, check=False).returncode:
            self.tally["half_published"] += 1
        self._compare_rerun(self.out)
        self.stale_after_rerun = self._siblings()

    def summary(self) -> dict[str, Any]:
        tally = dict(self.tally)
        tally["timed_kills_by_phase"] = dict(sorted(self.timed_phase.items()))
        tally["publish_kills_by_step"] = dict(sorted(self.publish_steps.items()))
        tally["left_beside_out_after_last_rerun"] = dict(sorted(self.stale_after_rerun.items()))
        return tally


def _run_id(snapshot: Path) -> str | None:
    try:
        return str(json.loads((snapshot / "manifest.json").read_bytes()).get("run_id"))
    except (OSError, ValueError):
        return None


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def snapshot_campaign(
    work: Path,
    kills: int,
    members: int,
    policy: str,
    rng: random.Random,
    rerun_every: int,
    publish_share: float,
    stages: bool,
) -> dict[str, Any]:
    env = {**os.environ, "TAMIS_PSEUDONYM_KEY": secrets.token_hex(32)}
    env.pop("TAMIS_DB", None)  # consent from the export: no registry to share with the writers
    chaos = SnapshotChaos(work, members, policy, rng, env, stages)
    chaos.calibrate()
    attempts = 0
    while chaos.tally["kills"] < kills:
        attempts += 1
        if attempts > 3 * kills:
            raise SystemExit(f"only {chaos.tally['kills']} kills in {attempts - 1} attempts")
        if not chaos.attempt(publish=rng.random() < publish_share):
            continue
        done = chaos.tally["kills"]
        if done % rerun_every == 0 or done == kills:
            chaos.rerun()
        if done % 10 == 0 or done == kills:
            brief = {k: chaos.tally[k] for k in ("kills", "out_absent", "half_published")}
            brief |= {k: chaos.tally[k] for k in ("reruns", "reruns_different")}
            print(f"  builds: {done}/{kills} {json.dumps(brief)}", flush=True)
    return chaos.summary()


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
    """The verdict of ``tamis log verify --db URL`` (the command an auditor runs)."""
    result = _tamis("log", "verify", "--db", db, env=dict(os.environ), check=False)
    said = " ".join((result.stdout + result.stderr).split())
    return f"{'ok' if result.returncode == 0 else 'FAILED'} (tamis log verify: {said})"


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
        ack = str(ack_dir / f"{incarnation}.ack")
        argv = [sys.executable, SCRIPT, "_writer", db, ack, str(rng.randrange(2**31))]
        procs[slot] = subprocess.Popen([*argv, str(members)], stderr=subprocess.DEVNULL)

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


def timed(campaign: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """The campaign's tally with its wall time and the CPU time of this process and its children."""

    def run(*args: Any) -> dict[str, Any]:
        started, cpu = time.monotonic(), _children_cpu() + time.process_time()
        tally = campaign(*args)
        tally["campaign_wall_s"] = round(time.monotonic() - started)
        tally["campaign_cpu_s"] = round(_children_cpu() + time.process_time() - cpu)
        return tally

    return run


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_writer":
        writer(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "_build":
        hooked_build(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--members", type=int, default=100, help="synthetic members to build")
    parser.add_argument("--policy", default="minimal", help="policy of the snapshot builds")
    parser.add_argument(
        "--publish-share",
        type=float,
        default=0.25,
        help="share of the snapshot kills aimed at a random step of the publication",
    )
    parser.add_argument(
        "--stages",
        action="store_true",
        help="kill builds that run the text stages (PII redaction; about 4x the CPU of a build "
        "without them, most of it loading the PII models); by default the killed builds skip "
        "them and two complete builds with them are compared",
    )
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
        # Every command runs here: a registry in the current folder (./.tamis/registry.db, which
        # a build uses when it exists) must neither be written to nor change the snapshots.
        os.chdir(work)
        if args.only in (None, "snapshot"):
            (work / "snap").mkdir()
            results["snapshot builds"] = timed(snapshot_campaign)(
                work / "snap",
                args.kills,
                args.members,
                args.policy,
                rng,
                args.rerun_every,
                args.publish_share,
                args.stages,
            )
        if args.only in (None, "registry", "sqlite"):
            db = f"sqlite:///{work / 'registry.db'}"
            results["registry sqlite"] = timed(registry_campaign)(
                "sqlite", db, work, args.kills, args.writers, 50, rng
            )
        if args.only in (None, "registry", "postgres"):
            url, drop = _pg_database()
            try:
                results["registry postgres"] = timed(registry_campaign)(
                    "postgres", url, work, args.kills, args.writers, 50, rng
                )
            finally:
                drop()
    print("\nchaos tallies")
    failed = False
    for campaign, tally in results.items():
        print(f"  {campaign}: " + ", ".join(f"{k}={v}" for k, v in tally.items()))
        failed |= bool(tally.get("half_published") or tally.get("reruns_different"))
        failed |= tally.get("full_builds_identical") is False
        failed |= bool(tally.get("acknowledged_lost"))
        failed |= str(tally.get("chain", "ok")).startswith("FAILED")
    snap = results.get("snapshot builds", {})
    if snap.get("previous_gone_from_out"):
        print(
            f"WARNING: {snap['previous_gone_from_out']} kill(s) during a --force replacement left "
            "no snapshot at --out (the previous one was already renamed aside, the new one not "
            "yet in place: a file system that cannot exchange folders): not half-published, and "
            f"the next build restores the previous snapshot from the '.NAME{OLD_MARK}*' folder"
        )
    if snap.get("left_beside_out_after_last_rerun"):
        print(
            "WARNING: after the last rerun, crashed builds still left beside --out: "
            f"{snap['left_beside_out_after_last_rerun']} (a rerun does not remove them)"
        )
    print("FAILED" if failed else "OK: no half-published snapshot, no acknowledged write lost")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
