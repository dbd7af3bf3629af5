"""Benchmark: membership receipts for a snapshot of 10^6 members.

Builds a snapshot directory with ``--members`` synthetic members (``members.parquet`` and a
``manifest.json`` carrying ``members_root``), then times:

* reading the members and building the Merkle tree (checked against ``members_root``);
* issuing and signing one receipt file per asked member id (``--receipts``; one in ten is not in
  the snapshot, so both proof kinds are exercised) with ``ReceiptIssuer.dump_many``: the bytes
  ``tamis receipt`` writes, in worker processes;
* the same through the dict API (``issue_many`` then ``dump_receipt``) for ``--dict-receipts``
  of them, for comparison;
* verifying a sample of them offline;
* ``tamis receipt issue-all`` end to end, as a user runs it (a new process: reading the member
  list and the snapshot, issuing in worker processes, writing the JSONL file and renaming it).

CPU seconds (this process and its workers) are printed beside wall times: on the shared 2-core
development machine, wall time mostly says how busy the machine was.

Run: ``.venv/bin/python bench/receipts.py`` (``--members 100000`` for a quick run).
The acceptance target is 10^6 receipts in under a minute on a 2-core machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tamis.keys import PseudonymKey
from tamis.lineage import (
    MerkleTree,
    ReceiptIssuer,
    SigningKey,
    SnapshotMembers,
    dump_receipt,
    parse_receipt,
    verify_receipt,
)


def build_snapshot(directory: Path, key: PseudonymKey, members: int) -> tuple[str, float]:
    """Write members.parquet and manifest.json; return the root and the time to hash the refs."""
    started = time.perf_counter()
    refs = sorted(key.member_ref(f"M-{i:08d}") for i in range(members))
    ref_seconds = time.perf_counter() - started
    root = MerkleTree(refs).root_hex
    pq.write_table(
        pa.table({"member_ref": refs, "records": pa.array([1] * members, pa.int32())}),
        directory / "members.parquet",
    )
    manifest = {"snapshot_id": "bench", "members_root": root, "key_id": key.key_id}
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return root, ref_seconds


def _cpu_seconds() -> float:
    """User + system CPU time of this process and of its finished workers."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--receipts", type=int, default=None, help="default: --members")
    parser.add_argument("--workers", type=int, default=None, help="default: one per CPU")
    parser.add_argument("--sample", type=int, default=1000, help="receipts to verify")
    parser.add_argument(
        "--dict-receipts", type=int, default=100_000, help="receipts through the dict API"
    )
    args = parser.parse_args()
    receipts = args.members if args.receipts is None else args.receipts
    cores = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )
    print(f"cores {cores}; load average {os.getloadavg()[0]:.1f} (other work slows the figures)")

    key = PseudonymKey(hashlib.sha256(b"bench pseudonym key").digest(), "bench")
    signer = SigningKey.from_seed(hashlib.sha256(b"bench signing key").digest(), "bench")
    with tempfile.TemporaryDirectory(prefix="tamis-bench-") as tmp:
        directory = Path(tmp)
        root, ref_seconds = build_snapshot(directory, key, args.members)
        print(f"members                 {args.members:>12,}")
        print(f"member refs (HMAC)      {ref_seconds:>11.2f}s  (setup)")

        cpu_before = _cpu_seconds()
        started = time.perf_counter()
        tree = MerkleTree([f"{i:032x}" for i in range(args.members)])
        print(
            f"tree build only         {time.perf_counter() - started:>11.2f}s  "
            f"(CPU {_cpu_seconds() - cpu_before:.2f}s)"
        )
        del tree

        cpu_before = _cpu_seconds()
        started = time.perf_counter()
        members = SnapshotMembers.load(directory)
        load_seconds = time.perf_counter() - started
        load_cpu = _cpu_seconds() - cpu_before
        print(
            f"read + build + check    {load_seconds:>11.2f}s  (CPU {load_cpu:.2f}s; "
            "members.parquet -> tree = root)"
        )

        # one asked id in ten is not a member (ids past the end of the snapshot)
        first = args.members - receipts + receipts // 10
        asked = [f"M-{i:08d}" for i in range(first, first + receipts)]
        issuer = ReceiptIssuer(members, key, signer)
        every = max(1, receipts // args.sample)
        sample = []
        inclusion = size = 0
        cpu_before = _cpu_seconds()
        started = time.perf_counter()
        for n, data in enumerate(issuer.dump_many(asked, workers=args.workers)):
            size += len(data)
            inclusion += b'"kind":"inclusion"' in data
            if n % every == 0:
                sample.append(data)
        issue_seconds = time.perf_counter() - started
        issue_cpu = _cpu_seconds() - cpu_before
        print(
            f"receipt files           {issue_seconds:>11.2f}s  for {receipts:,} receipts "
            f"({issue_seconds / max(receipts, 1) * 1e6:.1f} us each; {inclusion:,} inclusion, "
            f"{receipts - inclusion:,} non-inclusion; {size / 1e6:.0f} MB)"
        )
        print(
            f"  CPU time              {issue_cpu:>11.2f}s  (this process and its workers: "
            f"{issue_cpu / max(receipts, 1) * 1e6:.1f} us a receipt; on {cores} idle cores "
            f"about {issue_cpu / cores:.1f}s)"
        )
        print(
            f"total (read .. last)    {load_seconds + issue_seconds:>11.2f}s  "
            f"(CPU {load_cpu + issue_cpu:.2f}s; on {cores} idle cores about "
            f"{load_cpu + (issue_cpu / cores):.1f}s)"
        )

        some = asked[: args.dict_receipts]
        cpu_before = _cpu_seconds()
        started = time.perf_counter()
        for receipt in issuer.issue_many(some, workers=args.workers):
            dump_receipt(receipt)
        dict_seconds = time.perf_counter() - started
        dict_cpu = _cpu_seconds() - cpu_before
        print(
            f"dict API + dump         {dict_seconds:>11.2f}s  for {len(some):,} receipts "
            f"(CPU {dict_cpu:.2f}s: {dict_cpu / max(len(some), 1) * 1e6:.1f} us a receipt)"
        )

        pem = signer.public_pem()
        rng = random.Random(0)
        rng.shuffle(sample)
        started = time.perf_counter()
        for data in sample:
            verify_receipt(parse_receipt(data), root, pem)
        verify_seconds = time.perf_counter() - started
        print(
            f"verify sample           {verify_seconds:>11.2f}s  for {len(sample):,} receipts "
            f"({verify_seconds / max(len(sample), 1) * 1e6:.0f} us each)"
        )
        cli_command(directory, key, signer, asked, args.workers)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


def cli_command(
    directory: Path, key: PseudonymKey, signer: SigningKey, asked: list[str], workers: int | None
) -> None:
    """Time ``tamis receipt issue-all --members FILE`` in a new process, keys from the env."""
    listing = directory / "members.txt"
    listing.write_text("".join(f"{m}\n" for m in asked))
    out = directory / "receipts.jsonl"
    env = {
        **os.environ,
        "TAMIS_PSEUDONYM_KEY": key.secret.hex(),
        "TAMIS_SIGNING_KEY": signer._seed().hex(),
    }
    command = [sys.executable, "-m", "tamis.cli", "receipt", "issue-all"]
    command += ["--snapshot", str(directory), "--members", str(listing), "--out", str(out)]
    if workers is not None:
        command += ["--workers", str(workers)]
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)  # nosec B603
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_before
    lines = sum(1 for _ in out.open("rb"))
    print(
        f"tamis receipt issue-all {seconds:>11.2f}s  for {lines:,} receipts, end to end "
        f"(CPU {cpu:.2f}s; {out.stat().st_size / 1e6:.0f} MB JSONL)"
    )


if __name__ == "__main__":
    main()
