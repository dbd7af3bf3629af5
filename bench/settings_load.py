"""Settings load benchmark: concurrent members toggle their setting over loopback.

Starts the member service (``python -m tamis.service``) on a free port with a fresh registry,
then ``--clients`` simulated members (spread over ``--procs`` client processes, each an asyncio
loop with a minimal keep-alive HTTP/1.1 client, so that the client costs little CPU) sign in and
``PUT /api/v1/me/setting`` in a loop for ``--seconds``. A write counts as *acknowledged* when the
service answered 200 with its event id. Afterwards the registry is read directly and every
acknowledged event id must be there.

``--kill-every S`` kills the service with SIGKILL every S seconds and restarts it (clients retry
on connection errors; requests cut off by the kill are not acknowledged, so they may or may not be
recorded). Sessions survive the restart (the session secret is fixed).

Prints acknowledged writes/s, p50/p99/max latency of acknowledged writes, and the count of
acknowledged writes missing from the registry. Targets (issue 4, SQLite WAL): >= 1,000 writes/s,
p99 <= 50 ms, 0 missing.

    python bench/settings_load.py --seconds 10 --clients 64
    python bench/settings_load.py --seconds 20 --clients 64 --kill-every 4
    python bench/settings_load.py --db postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SECRET = "bench-session-secret-" + "k" * 32
KEY_HEX = "42" * 32


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_members(export: Path, n: int) -> list[str]:
    export.mkdir(parents=True, exist_ok=True)
    ids = [f"bench-{i:06d}" for i in range(n)]
    with (export / "members.jsonl").open("w") as handle:
        for member in ids:
            row = {"member_id": member, "country": "FR", "created_at": "2020-01-01T00:00:00Z"}
            handle.write(json.dumps(row) + "\n")
    return ids


# -- the service process ---------------------------------------------------------------------------


class Server:
    """The service under test, in its own process (so that it can be SIGKILLed)."""

    def __init__(self, port: int, db: str, export: Path, log: Path) -> None:
        self.port, self.db, self.export, self.log = port, db, export, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "TAMIS_SESSION_SECRET": SECRET, "TAMIS_PSEUDONYM_KEY": KEY_HEX}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tamis.service", "--port", str(self.port), "--db",
                 self.db, "--export", str(self.export)],
                env=env, stdout=log, stderr=log,
            )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the service exited; see {self.log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(
                        b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                    )
                    if s.recv(64).startswith(b"HTTP/1.1 200"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise SystemExit("the service did not start within 120 s")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the service process so far (Linux /proc)."""
        if self.process is None:
            return 0.0
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def kill(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


# -- clients ---------------------------------------------------------------------------------------


class Connection:
    """A minimal keep-alive HTTP/1.1 client for fixed-shape requests (Content-Length bodies)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, head: bytes, body: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        try:
            self.writer.write(
                head + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            await self.writer.drain()
            status_line = await self.reader.readuntil(b"\r\n")
            headers: dict[bytes, bytes] = {}
            while (line := await self.reader.readuntil(b"\r\n")) != b"\r\n":
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            payload = await self.reader.readexactly(int(headers.get(b"content-length", b"0")))
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            self.close()
            raise ConnectionError from None
        return int(status_line.split()[1]), headers, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def member_loop(port: int, member: str, deadline: float, out: dict[str, Any]) -> None:
    conn = Connection(port)
    cookie = csrf = b""
    value = False
    while time.monotonic() < deadline:
        try:
            if not cookie:
                body = json.dumps({"member_id": member}).encode()
                status, headers, payload = await conn.request(
                    b"POST /api/v1/session HTTP/1.1\r\nHost: bench\r\n"
                    b"Content-Type: application/json\r\n", body)  # fmt: skip
                if status != 200:
                    raise SystemExit(f"sign-in failed: {status} {payload[:200]!r}")
                cookie = headers[b"set-cookie"].split(b";", 1)[0]
                csrf = json.loads(payload)["csrf_token"].encode()
            value = not value
            body = b'{"value": true}' if value else b'{"value": false}'
            started = time.perf_counter()
            status, _, payload = await conn.request(
                b"PUT /api/v1/me/setting HTTP/1.1\r\nHost: bench\r\n"
                b"Content-Type: application/json\r\nCookie: " + cookie + b"\r\n"
                b"X-CSRF-Token: " + csrf + b"\r\n", body)  # fmt: skip
            elapsed = time.perf_counter() - started
            if status == 200:
                out["latencies"].append(elapsed)
                out["acked"].append(json.loads(payload)["event_id"])
            else:
                out["errors"] += 1
        except ConnectionError:
            out["connection_errors"] += 1
            await asyncio.sleep(0.05)  # the service is restarting
    conn.close()


def client_process(port: int, members: list[str], seconds: float, queue: Any) -> None:
    out: dict[str, Any] = {"latencies": [], "acked": [], "errors": 0, "connection_errors": 0}

    async def main() -> None:
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(member_loop(port, m, deadline, out) for m in members))

    asyncio.run(main())
    queue.put(out)


# -- the run ---------------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="tamis-settings-load-"))
    members = write_members(work / "export", args.clients)
    db = args.db or f"sqlite:///{work / 'registry.db'}"
    port = free_port()
    server = Server(port, db, work / "export", work / "service.log")
    server.start()
    startup_cpu = server.cpu_seconds()  # imports and set-up, not the load
    queue: Any = mp.get_context("spawn").Queue()
    procs = []
    for i in range(args.procs):
        chunk = members[i :: args.procs]
        p = mp.get_context("spawn").Process(
            target=client_process, args=(port, chunk, args.seconds, queue)
        )
        p.start()
        procs.append(p)
    started = time.monotonic()
    kills = 0
    server_cpu = 0.0
    if args.kill_every:
        while time.monotonic() - started + args.kill_every < args.seconds:
            time.sleep(args.kill_every)
            server_cpu += server.cpu_seconds() - startup_cpu
            server.kill()
            kills += 1
            server.start()
            startup_cpu = server.cpu_seconds()
    results = [queue.get() for _ in procs]
    server_cpu += server.cpu_seconds() - startup_cpu
    for p in procs:
        p.join()
    elapsed = time.monotonic() - started
    server.stop()

    latencies = sorted(x for r in results for x in r["latencies"])
    acked = [e for r in results for e in r["acked"]]
    from tamis.consent import open_registry

    os.environ["TAMIS_PSEUDONYM_KEY"] = KEY_HEX
    stored: set[str] = set()
    with open_registry(db) as registry:
        for member in members:
            stored.update(e.event_id for e in registry.history(member))
    missing = [e for e in acked if e not in stored]
    return {
        "backend": db.split(":", 1)[0],
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "acknowledged": len(acked),
        "writes_per_s": round(len(acked) / args.seconds, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round((latencies[-1] if latencies else float("nan")) * 1000, 1),
        "errors": sum(r["errors"] for r in results),
        "connection_errors": sum(r["connection_errors"] for r in results),
        "kills": kills,
        "server_cpu_ms_per_write": round(server_cpu * 1000 / max(1, len(acked)), 2),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "cpus": os.cpu_count(),
        "in_registry": len(stored),
        "missing_acknowledged": len(missing),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=64, help="concurrent members")
    parser.add_argument("--procs", type=int, default=2, help="client processes")
    parser.add_argument("--db", default=None, help="registry URL (default: a fresh SQLite file)")
    parser.add_argument("--kill-every", type=float, default=0.0, help="SIGKILL period, seconds")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = run(args)
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"{result['backend']}: {result['acknowledged']:,} acknowledged writes in "
        f"{args.seconds:g} s by {args.clients} clients = {result['writes_per_s']:,.0f} writes/s; "
        f"latency p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, max {result['max_ms']} ms"
    )
    print(
        f"service CPU per acknowledged write (start-up excluded): "
        f"{result['server_cpu_ms_per_write']} ms "
        f"(machine: {result['cpus']} CPUs, load average {result['load_average_1m']})"
    )
    print(
        f"SIGKILLs: {result['kills']}, refused/failed requests: {result['errors']}, "
        f"connection errors: {result['connection_errors']}; acknowledged writes missing from the "
        f"registry: {result['missing_acknowledged']}"
    )
    if result["missing_acknowledged"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
