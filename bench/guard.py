"""Output-guard latency with a 10^6-member directory: p50/p99 for 1 KB generations.

Usage: .venv/bin/python bench/guard.py [--members 1000000] [--checks 2000] [--rare-names 0]

Builds a member directory of synthetic members (names drawn from Faker's pools in several
locales, unique e-mails, unique phones in French and foreign spellings), from Arrow columns as
``MemberDirectory.from_arrow`` gets them from an export, compiles its automaton, then times
``Guard.check`` on ~1 KB texts, half of them with member data. ``--rare-names N`` gives N members
a made-up last name of their own (a long tail of distinct names, some accented), which is what
makes the automaton grow. Prints the directory build time (wall and CPU) and wall-clock and CPU
(thread) time percentiles per check: on a shared machine the CPU figures are the ones that say
what the guard costs; the load average is printed beside them.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import time

import pyarrow as pa
from faker import Faker

from tamis.guard import Guard
from tamis.pii import MemberDirectory

LOCALES = ["fr_FR", "en_US", "en_GB", "de_DE", "es_ES", "it_IT", "pt_BR", "nl_NL"]
FILLER = (
    "Great to see the team ship the new data platform this quarter. ",
    "Nous recrutons des ingénieurs data à Lyon et à Paris, postulez ! ",
    "The workshop on Kubernetes and observability starts at 18:30 in room 4. ",
    "Merci pour ce partage, très instructif. ",
    "Version 2.4.1 is out with 35 fixes and a faster build. ",
)


PHONE_SPELLINGS = ("07{0}", "07 {1}", "+33 7{0}", "+44 7{0}", "(212) {0}", "+49 15{0}")
SYLLABLES = ("ba", "ko", "ré", "lu", "mi", "sa", "to", "vé", "nø", "ga", "ri", "zu", "chè", "ad")


def build_members(
    n: int, seed: int, rare: int = 0
) -> tuple[list[str], list[str], list[str], list[str]]:
    faker = Faker(LOCALES)
    faker.seed_instance(seed)
    firsts = sorted({faker.first_name() for _ in range(6000)})
    lasts = sorted({faker.last_name() for _ in range(12000)})
    rng = random.Random(seed)
    f = [rng.choice(firsts) for _ in range(n)]
    la = [rng.choice(lasts) for _ in range(n)]
    for i in range(min(rare, n)):  # a made-up name of their own: syllables + a number spelt out
        la[i] = "".join(rng.choice(SYLLABLES) for _ in range(3)).title() + "-" + _spell(i)
    emails = [f"member{i}@example.net" for i in range(n)]
    phones = []
    for i in range(n):
        digits = f"{i:08d}"
        pairs = " ".join(digits[k : k + 2] for k in range(0, 8, 2))
        phones.append(PHONE_SPELLINGS[i % len(PHONE_SPELLINGS)].format(digits, pairs))
    return f, la, emails, phones


def _spell(i: int) -> str:
    letters = "abcdefghij"
    return "".join(letters[int(d)] for d in str(i))


def texts(first: list[str], last: list[str], emails: list[str], n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for k in range(n):
        parts: list[str] = []
        while sum(map(len, parts)) < 1000:
            parts.append(rng.choice(FILLER))
        if k % 2:
            i = rng.randrange(len(first))
            parts.insert(
                rng.randrange(len(parts)), f"Contact {first[i]} {last[i]} at {emails[i]}. "
            )
        out.append("".join(parts)[:1024])
    return out


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--checks", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rare-names", type=int, default=0, help="members with a name of their own")
    args = ap.parse_args()

    print(f"load average at the start {os.getloadavg()[0]:.1f} (2 cores shared: wall > CPU)")
    t0 = time.perf_counter()
    first, last, emails, phones = build_members(args.members, args.seed, args.rare_names)
    table = pa.table(
        {"first_name": first, "last_name": last, "email": emails, "phone": phones},
    )
    t1, c1 = time.perf_counter(), time.process_time()
    directory = MemberDirectory.from_arrow(table)
    t2, c2 = time.perf_counter(), time.process_time()
    guard = Guard(directory)
    guard.warm()
    t3, c3 = time.perf_counter(), time.process_time()
    sample = texts(first, last, emails, args.checks, args.seed + 1)
    for text in sample[:50]:
        guard.check(text)
    wall: list[float] = []
    cpu: list[float] = []
    flagged = 0
    for text in sample:
        w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        result = guard.check(text, "redact")
        cpu.append((time.thread_time_ns() - c0) / 1e6)
        wall.append((time.perf_counter_ns() - w0) / 1e6)
        flagged += result.action != "allow"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"members: {args.members:,}  (generate {t1 - t0:.1f} s)")
    print(
        f"directory build: wall {t3 - t1:.2f} s, CPU {c3 - c1:.2f} s  (columns -> names, pairs, "
        f"e-mails, phones: wall {t2 - t1:.2f} s, CPU {c2 - c1:.2f} s; automaton of "
        f"{directory.distinct_names:,} distinct names: wall {t3 - t2:.2f} s, CPU {c3 - c2:.2f} s; "
        f"{directory.full_names:,} full-name pairs)"
    )
    print(f"peak RSS: {rss:,.0f} MiB")
    print(
        f"checks: {len(sample)} texts of ~{sum(map(len, sample)) // len(sample)} chars, "
        f"flagged {flagged}"
    )
    print(f"wall ms: p50 {pct(wall, 0.5):.3f}  p99 {pct(wall, 0.99):.3f}  max {max(wall):.3f}")
    print(f"cpu  ms: p50 {pct(cpu, 0.5):.3f}  p99 {pct(cpu, 0.99):.3f}  max {max(cpu):.3f}")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
