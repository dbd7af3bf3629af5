"""Settings load benchmark: concurrent members toggle their setting over loopback.

Starts the member service (``python -m tamis.service``) on a free port with a fresh registry,
then ``--clients`` simulated members (spread over ``--procs`` client processes, each an asyncio
loop, uvloop when installed, with a minimal keep-alive HTTP/1.1 client, so that the client costs
little CPU) sign in, then ``PUT /api/v1/me/setting`` for ``--seconds``. A write counts as
*acknowledged* when the service answered 200 with its event id. Afterwards the registry is read
directly and every acknowledged event id must be there.

Two kinds of load:

- closed loop (default): each member writes again as soon as it is answered. Throughput is what
  the service sustains; latency is then fixed by the number of clients (Little's law: mean
  latency = clients / throughput; 64 clients at 1,000 writes/s wait 64 ms on average).
- open loop (``--rate R``): R writes/s in all, each member on a fixed schedule, whatever the
  answers; a write that has to wait for its member's previous one counts its wait from its
  scheduled instant (no coordinated omission). This is the latency of a service offered R
  writes/s, what the target means.

``--kill-every S`` kills the service with SIGKILL every S seconds and restarts it (clients retry
on connection errors; requests cut off by the kill are not acknowledged, so they may or may not be
recorded). Sessions survive the restart (the session secret is fixed).

Prints acknowledged writes/s, p50/p99/max latency of acknowledged writes, the CPU per write of
the service and of the load clients (they share the machine), and the count of acknowledged
writes missing from the registry. Targets (issue 4, SQLite WAL): >= 1,000 writes/s, p99 <= 50 ms,
0 missing.

    python bench/settings_load.py --seconds 15 --clients 64 --procs 1
    python bench/settings_load.py --seconds 15 --clients 64 --procs 1 --rate 1000
    python bench/settings_load.py --seconds 40 --clients 64 --procs 1 --rate 1000 --kill-every 8
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


class Member:
    """One simulated member: a keep-alive connection and a session (cookie and CSRF token)."""

    def __init__(self, port: int, member_id: str) -> None:
        self.member_id = member_id
        self.conn = Connection(port)
        self.cookie = self.csrf = b""
        self.value = False

    async def sign_in(self) -> None:
        body = json.dumps({"member_id": self.member_id}).encode()
        status, headers, payload = await self.conn.request(
            b"POST /api/v1/session HTTP/1.1\r\nHost: bench\r\n"
            b"Content-Type: application/json\r\n", body)  # fmt: skip
        if status != 200:
            raise SystemExit(f"sign-in failed: {status} {payload[:200]!r}")
        self.cookie = headers[b"set-cookie"].split(b";", 1)[0]
        self.csrf = json.loads(payload)["csrf_token"].encode()

    async def toggle(self, started: float, out: dict[str, Any]) -> None:
        """One write; its latency counts from ``started`` (its scheduled instant, open loop)."""
        try:
            if not self.cookie:
                await self.sign_in()
            self.value = not self.value
            body = b'{"value": true}' if self.value else b'{"value": false}'
            status, _, payload = await self.conn.request(
                b"PUT /api/v1/me/setting HTTP/1.1\r\nHost: bench\r\n"
                b"Content-Type: application/json\r\nCookie: " + self.cookie + b"\r\n"
                b"X-CSRF-Token: " + self.csrf + b"\r\n", body)  # fmt: skip
            elapsed = time.perf_counter() - started
            if status == 200:
                out["latencies"].append(elapsed)
                out["acked"].append(json.loads(payload)["event_id"])
            else:
                out["errors"] += 1
        except ConnectionError:
            out["connection_errors"] += 1
            await asyncio.sleep(0.05)  # the service is restarting


async def closed_loop(member: Member, deadline: float, out: dict[str, Any]) -> None:
    """Write again as soon as the last write is answered."""
    while time.monotonic() < deadline:
        await member.toggle(time.perf_counter(), out)


async def open_loop(
    member: Member, start: float, interval: float, offset: float, end: float, out: dict[str, Any]
) -> None:
    """Write on a fixed schedule (``start + offset + k * interval``), whatever the answers: a
    write that has to wait for the one before counts its wait (no coordinated omission)."""
    k = 0
    while (scheduled := start + offset + k * interval) < end:
        k += 1
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await member.toggle(scheduled, out)


def client_process(port: int, members: list[str], seconds: float, rate: float, queue: Any) -> None:
    """One client process: sign its members in, then load for ``seconds`` (closed loop, or
    ``rate`` writes/s spread evenly over its members); put what it saw, and its CPU, on queue."""
    out: dict[str, Any] = {"latencies": [], "acked": [], "errors": 0, "connection_errors": 0}

    async def main() -> None:
        clients = [Member(port, m) for m in members]
        await asyncio.gather(*(c.sign_in() for c in clients))
        cpu, began = time.process_time(), time.perf_counter()
        if rate:
            interval = len(clients) / rate
            start = time.perf_counter() + 0.05
            end = start + seconds
            await asyncio.gather(
                *(
                    open_loop(c, start, interval, i * interval / len(clients), end, out)
                    for i, c in enumerate(clients)
                )
            )
        else:
            deadline = time.monotonic() + seconds
            await asyncio.gather(*(closed_loop(c, deadline, out) for c in clients))
        out["cpu_s"] = time.process_time() - cpu
        out["load_s"] = time.perf_counter() - began  # to the last answer (open loop: may be late)
        for c in clients:
            c.conn.close()

    try:
        import uvloop  # a cheaper event loop for the client, when installed
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())
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
            target=client_process,
            args=(port, chunk, args.seconds, args.rate / args.procs, queue),
        )
        p.start()
        procs.append(p)
    started = time.monotonic()
    kills = 0
    downtime = 0.0  # from each SIGKILL until the restarted service answers
    server_cpu = 0.0
    if args.kill_every:
        while time.monotonic() - started + args.kill_every < args.seconds:
            time.sleep(args.kill_every)
            server_cpu += server.cpu_seconds() - startup_cpu
            server.kill()
            kills += 1
            down = time.monotonic()
            server.start()
            downtime += time.monotonic() - down
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
    client_cpu = sum(r["cpu_s"] for r in results)
    load_s = max(args.seconds, *(r["load_s"] for r in results))
    return {
        "backend": db.split(":", 1)[0],
        "clients": args.clients,
        "offered_per_s": args.rate or None,
        "seconds": round(elapsed, 1),
        "acknowledged": len(acked),
        "load_seconds": round(load_s, 1),
        "writes_per_s": round(len(acked) / load_s, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round((latencies[-1] if latencies else float("nan")) * 1000, 1),
        "errors": sum(r["errors"] for r in results),
        "connection_errors": sum(r["connection_errors"] for r in results),
        "kills": kills,
        "restart_s": round(downtime / kills, 1) if kills else None,
        "server_cpu_ms_per_write": round(server_cpu * 1000 / max(1, len(acked)), 3),
        "server_cpu_s": round(server_cpu, 2),
        "client_cpu_ms_per_write": round(client_cpu * 1000 / max(1, len(acked)), 3),
        "client_cpu_s": round(client_cpu, 2),
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
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="open loop: offer this many writes/s in all, on a fixed schedule (default: closed "
        "loop, each client writes again once answered)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = run(args)
    if args.json:
        print(json.dumps(result))
        return
    load = f"open loop, {args.rate:,.0f} writes/s offered" if args.rate else "closed loop"
    print(
        f"{result['backend']} ({load}): {result['acknowledged']:,} acknowledged writes in "
        f"{result['load_seconds']:g} s by {args.clients} clients = "
        f"{result['writes_per_s']:,.0f} writes/s; "
        f"latency p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, max {result['max_ms']} ms"
    )
    print(
        f"CPU per acknowledged write: service {result['server_cpu_ms_per_write']} ms "
        f"({result['server_cpu_s']} s, start-up excluded), load clients "
        f"{result['client_cpu_ms_per_write']} ms ({result['client_cpu_s']} s) "
        f"(machine: {result['cpus']} CPUs, load average {result['load_average_1m']})"
    )
    print(
        f"SIGKILLs: {result['kills']}"
        + (f" (back after {result['restart_s']} s on average)" if result["kills"] else "")
        + f", "
        f"refused/failed requests: {result['errors']}, "
        f"connection errors: {result['connection_errors']}; acknowledged writes missing from the "
        f"registry: {result['missing_acknowledged']}"
    )
    if result["missing_acknowledged"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
