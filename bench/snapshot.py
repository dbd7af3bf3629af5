"""Snapshot benchmark: tamis' embedded engine against a bare DuckDB query on the same data.

For each size (content records), a synthetic platform is generated once in Parquet (cached under
``bench/.data``), then, each in its own process so that peak RSS is its own:

- ``duckdb``: a bare query that joins content to an as-of consent state and writes Parquet;
- ``tamis``: ``tamis snapshot build --no-stages`` (validation, semantics, manifest, Merkle root);
- ``tamis+redaction``: the same with the policy's text stages.

It prints records/s (content records read), peak RSS, the ratios (tamis / duckdb, RSS at the
largest size / RSS at the smallest) and the rows each wrote: tamis also writes the text records
made of profile fields (some 300,000 for 50,000 members), which the baseline does not.
Targets (issue 2): ratio <= 2.0 without redaction, RSS(10M) <= 1.5 x RSS(1M).

To tell fixed costs from per-record costs it also times both on the smallest platform's members
with only its first 1,000 content records (``fixed``), and prints the ratio of the extra time the
largest size takes over the smallest (``per record``).

    python bench/snapshot.py --sizes 1000000,10000000 --members 50000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DATA = ROOT / ".data"
CUTOFF = "2026-01-01T00:00:00Z"

BASELINE = """
import duckdb, sys
export, out = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
con.execute(f'''
COPY (
  WITH state AS (
    SELECT member_id, value FROM (
      SELECT member_id, value, row_number() OVER (
               PARTITION BY member_id ORDER BY ts DESC, value ASC, event_id) AS rn
      FROM read_parquet('{export}/consent_events.parquet')
      WHERE setting = 'genai_training' AND ts <= TIMESTAMPTZ '2026-01-01 00:00:00+00')
    WHERE rn = 1)
  SELECT c.record_id, c.member_id, c.kind, c.created_at, c.lang, c.text
  FROM read_parquet('{export}/content.parquet') c
  JOIN read_parquet('{export}/members.parquet') m USING (member_id)
  LEFT JOIN state s USING (member_id)
  WHERE COALESCE(s.value, true) AND c.created_at <= TIMESTAMPTZ '2026-01-01 00:00:00+00'
) TO '{out}' (FORMAT parquet, COMPRESSION zstd)''')
"""


def measure(argv: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """Run a command in a child process; wall seconds and the child's peak RSS in MB.

    The child runs in an empty directory with no ``TAMIS_DB``: no consent registry, so the build
    records no lineage (the baseline has nothing of the kind either)."""
    wrapper = (
        "import resource, subprocess, sys, json;"
        "r = subprocess.run(sys.argv[1:]);"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN);"
        "print(json.dumps({'rc': r.returncode, 'rss_mb': u.ru_maxrss / 1024,"
        " 'cpu_s': u.ru_utime + u.ru_stime}))"
    )
    started = time.perf_counter()
    child_env = {**os.environ, **(env or {})}
    child_env.pop("TAMIS_DB", None)
    child_env["PYTHONPATH"] = str(ROOT.parent / "src")
    with tempfile.TemporaryDirectory(prefix="tamis-bench-") as cwd:
        result = subprocess.run(
            [sys.executable, "-c", wrapper, *argv],
            capture_output=True,
            text=True,
            env=child_env,
            cwd=cwd,
        )
    wall = time.perf_counter() - started
    info = json.loads(result.stdout.strip().splitlines()[-1])
    if info["rc"] != 0:
        raise SystemExit(f"{argv[:4]} failed:\n{result.stderr[-3000:]}")
    return {"wall_s": wall, "rss_mb": info["rss_mb"], "cpu_s": info["cpu_s"]}


def rows_out(path: Path) -> int:
    """Rows in a Parquet file, or in the ``data/`` files of a snapshot (read in a child process,
    so that this one never imports pyarrow)."""
    files = [path] if path.is_file() else sorted((path / "data").glob("*.parquet"))
    script = (
        "import pyarrow.parquet as pq, sys; "
        "print(sum(pq.ParquetFile(f).metadata.num_rows for f in sys.argv[1:]))"
    )
    found = subprocess.run(
        [sys.executable, "-c", script, *map(str, files)], capture_output=True, text=True, check=True
    )
    return int(found.stdout)


def platform(records: int, members: int) -> Path:
    path = DATA / f"platform-{records}-{members}"
    if not (path / "content.parquet").exists():
        shutil.rmtree(path, ignore_errors=True)
        print(f"generating {records:,} records for {members:,} members in {path} ...", flush=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "tamis.cli",
                "synth",
                "--members",
                str(members),
                "--seed",
                "1",
                "--format",
                "parquet",
                "--records-per-member",
                str(records / members),
                "--out",
                str(path),
            ],
            check=True,
        )
    return path


def few_records(export: Path, records: int = 1_000) -> Path:
    """The same members and consent with only the first ``records`` content records."""
    path = export.with_name(f"{export.name}-first{records}")
    if not (path / "content.parquet").exists():
        import pyarrow as pa
        import pyarrow.parquet as pq

        shutil.rmtree(path, ignore_errors=True)
        path.mkdir()
        for table in export.glob("*.parquet"):
            if table.name != "content.parquet":
                shutil.copy(table, path / table.name)
        content = pq.ParquetFile(export / "content.parquet")
        first = next(content.iter_batches(batch_size=records))
        pq.write_table(pa.Table.from_batches([first]), path / "content.parquet")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--skip-redaction", action="store_true")
    args = parser.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    env = {"TAMIS_PSEUDONYM_KEY": "ab" * 32}
    rows = []
    exports = [(size, platform(size, args.members)) for size in sizes]
    exports.insert(0, (0, few_records(exports[0][1])))
    for size, export in exports:
        work = DATA / "runs"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        n_content = int(
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import pyarrow.parquet as pq, sys; "
                    "print(pq.ParquetFile(sys.argv[1]).metadata.num_rows)",
                    str(export / "content.parquet"),
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        base = measure([sys.executable, "-c", BASELINE, str(export), str(work / "duckdb.parquet")])
        build = [
            sys.executable,
            "-m",
            "tamis.cli",
            "snapshot",
            "build",
            "--export",
            str(export),
            "--policy",
            "linkedin-2025",
            "--cutoff",
            CUTOFF,
            "-q",
            "--force",
        ]
        bare = measure([*build, "--out", str(work / "bare"), "--no-stages"], env)
        # tamis writes the text records made of profile fields too (issue 2), which the
        # baseline does not: say how many rows each wrote
        base["rows_out"] = rows_out(work / "duckdb.parquet")
        bare["rows_out"] = rows_out(work / "bare")
        row = {"records": n_content, "duckdb": base, "tamis": bare, "fixed": size == 0}
        if not args.skip_redaction and size:
            row["tamis+redaction"] = measure([*build, "--out", str(work / "redacted")], env)
            row["tamis+redaction"]["rows_out"] = rows_out(work / "redacted")
        rows.append(row)
        print(json.dumps(row), flush=True)
    print()
    print(
        f"{'records':>12} {'engine':>16} {'wall s':>8} {'records/s':>11} "
        f"{'peak RSS MB':>12} {'ratio':>6} {'CPU s':>7} {'CPU ratio':>9} {'rows out':>11}"
    )
    for row in rows:
        for name in ("duckdb", "tamis", "tamis+redaction"):
            if name not in row:
                continue
            m = row[name]
            ratio = m["wall_s"] / row["duckdb"]["wall_s"]
            cpu_ratio = m["cpu_s"] / row["duckdb"]["cpu_s"]
            print(
                f"{row['records']:>12,} {name:>16} {m['wall_s']:>8.1f} "
                f"{row['records'] / m['wall_s']:>11,.0f} {m['rss_mb']:>12,.0f} {ratio:>6.2f} "
                f"{m['cpu_s']:>7.1f} {cpu_ratio:>9.2f} {m['rows_out']:>11,}"
            )
    fixed, rows = rows[0], rows[1:]
    print(
        f"\nfixed cost (the same members, {fixed['records']:,} records): "
        f"tamis {fixed['tamis']['wall_s']:.1f} s, duckdb {fixed['duckdb']['wall_s']:.1f} s"
    )
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        extra = {name: last[name]["wall_s"] - first[name]["wall_s"] for name in ("tamis", "duckdb")}
        print(
            f"per record, from {first['records']:,} to {last['records']:,}: tamis "
            f"{extra['tamis']:.1f} s, duckdb {extra['duckdb']:.1f} s, "
            f"ratio {extra['tamis'] / extra['duckdb']:.2f}"
        )
        growth = last["tamis"]["rss_mb"] / first["tamis"]["rss_mb"]
        print(
            f"\npeak RSS tamis at {last['records']:,} / at {first['records']:,}: {growth:.2f} "
            "(target <= 1.5)"
        )
        worst = max(r["tamis"]["wall_s"] / r["duckdb"]["wall_s"] for r in rows)
        print(f"worst tamis / duckdb wall ratio without redaction: {worst:.2f} (target <= 2.0)")


if __name__ == "__main__":
    main()
