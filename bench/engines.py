"""Engine benchmark: the same synthetic platform through the embedded engine and Spark.

For each size (content records) a synthetic platform is generated once in Parquet (cached under
``bench/.data``, shared with ``bench/snapshot.py``). Each build runs in its own process; its peak
memory is the largest sum of RSS over the whole process tree (driver, JVM and Python workers),
and its CPU seconds the sum of user and system time of every process of the tree, both sampled
from /proc every 0.2 s. Configurations:

- ``embedded``: the default engine (DuckDB + Arrow, one process);
- ``spark[2]``: Spark ``local[2]`` (2 executor cores, the machine's cores);
- ``spark[1]``: Spark ``local[1]``, to show how Spark scales with cores.

Builds skip the text stages by default (``--stages`` runs them): the comparison is about the
engines, and the stages are the same Python code in both. ``--policy minimal --stages`` adds the
PII stage and deduplication (exact and MinHash LSH) to both. Prints wall time, CPU seconds,
records/s, peak memory, the Spark/embedded wall ratio and whether the ``content_digest`` is the
embedded engine's, and writes ``bench/.data/engines.json``.

    python bench/engines.py --sizes 1000000,10000000 --members 50000
    python bench/engines.py --sizes 100000 --policy minimal --stages
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from snapshot import CUTOFF, DATA, platform  # noqa: E402

CONFIGS = {"embedded": ("embedded", None), "spark[2]": ("spark", "local[2]"),
           "spark[1]": ("spark", "local[1]")}  # fmt: skip

RUNNER = """
import sys, time
from datetime import datetime
from pathlib import Path
from tamis.keys import load_key
from tamis.pipeline.build import BuildRequest
from tamis.pipeline.engines import run_build
from tamis.policy import load_policy
engine, master, export, out, cutoff, stages, policy = sys.argv[1:8]
request = BuildRequest(export_dir=Path(export), out=Path(out), policy=load_policy(policy),
    cutoff=datetime.fromisoformat(cutoff.replace("Z", "+00:00")), key=load_key(), force=True,
    run_stages=stages == "1")
spark_conf = {"spark.driver.memory": "6g", "spark.sql.shuffle.partitions": "8"}
conf = spark_conf if engine == "spark" else None
started = time.perf_counter()
manifest = run_build(request, engine, None if master == "-" else master, conf).manifest
print("BUILD", time.perf_counter() - started, manifest["records"]["input"],
      manifest["content_digest"], flush=True)
"""


def _tree(root: int) -> tuple[int, dict[int, float]]:
    """Sum of RSS (bytes) of ``root`` and all its descendants, and the CPU seconds (user +
    system) of each of them so far, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    cpu: dict[int, float] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/statm") as handle:
                resident = int(handle.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = resident
        cpu[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    total, stack, seen = 0, [root], {}
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        seen[pid] = cpu.get(pid, 0.0)
        stack.extend(children.get(pid, []))
    return total, seen


def measure(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run a build in a child process: wall seconds (whole process, JVM start included),
    build seconds (as the child timed it), CPU seconds of the process tree and its peak RSS in
    MB (a process's CPU time is its last sample: at most 0.2 s of each is missed)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **env}
    )
    peak = [0]
    cpu: dict[int, float] = {}
    load: list[float] = []

    def sample() -> None:
        while proc.poll() is None:
            rss, seconds = _tree(proc.pid)
            peak[0] = max(peak[0], rss)
            for pid, used in seconds.items():  # cumulative: keep the largest (a zombie reads 0)
                cpu[pid] = max(cpu.get(pid, 0.0), used)
            load.append(os.getloadavg()[0])
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{argv[2:5]} failed:\n{err[-3000:]}")
    line = next(x for x in out.splitlines() if x.startswith("BUILD "))
    _tag, seconds, records, digest = line.split()
    return {
        "wall_s": wall,
        "build_s": float(seconds),
        "records": int(records),
        "cpu_s": sum(cpu.values()),
        "load": sum(load) / max(1, len(load)),  # the machine's mean 1-minute load meanwhile
        "rss_mb": peak[0] / 2**20,
        "digest": digest,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--stages", action="store_true", help="run the text stages too")
    parser.add_argument("--policy", default="linkedin-2025", help="preset (minimal deduplicates)")
    args = parser.parse_args()
    env = {"TAMIS_PSEUDONYM_KEY": "ab" * 32}
    results = []
    for size in (int(float(s)) for s in args.sizes.split(",")):
        export = platform(size, args.members)
        for name in args.configs.split(","):
            engine, master = CONFIGS[name]
            out = DATA / "engines-runs" / name  # not runs/: bench/snapshot.py empties it
            argv = [sys.executable, "-c", RUNNER, engine, master or "-", str(export), str(out),
                    CUTOFF, "1" if args.stages else "0", args.policy]  # fmt: skip
            row = {"size": size, "config": name, "policy": args.policy, "stages": args.stages,
                   **measure(argv, env)}  # fmt: skip
            results.append(row)
            print(json.dumps(row), flush=True)
    (DATA / "engines.json").write_text(json.dumps(results, indent=2) + "\n")
    print(
        f"\n{'records':>12} {'config':>9} {'wall s':>8} {'build s':>8} {'CPU s':>8} "
        f"{'records/s':>10} {'peak MB':>8} {'vs embedded':>11} {'same digest':>11} {'load':>5}"
    )
    for row in results:
        base = next(
            (r for r in results if r["size"] == row["size"] and r["config"] == "embedded"), None
        )
        ratio = f"{row['wall_s'] / base['wall_s']:.2f}" if base else "-"
        same = "yes" if base and base["digest"] == row["digest"] else ("-" if not base else "NO")
        print(
            f"{row['records']:>12,} {row['config']:>9} {row['wall_s']:>8.1f} "
            f"{row['build_s']:>8.1f} {row['cpu_s']:>8.1f} {row['records'] / row['wall_s']:>10,.0f} "
            f"{row['rss_mb']:>8,.0f} {ratio:>11} {same:>11} {row['load']:>5.1f}"
        )


if __name__ == "__main__":
    main()
