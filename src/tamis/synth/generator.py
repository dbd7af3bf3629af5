"""Generate a synthetic platform export (data contract v1) with its ground truth.

Two streaming passes, each made of numbered batches that are written as soon as they are made:

1. people: members, with their technical events and consent events. Only a few bytes per
   member are kept (:class:`~tamis.synth._members.MemberIndex`) for pass 2.
2. content: records in chronological order (``reply_to`` always points to an earlier record);
   authors are drawn by activity; texts are filled templates that mention other members and
   carry personal data; what was inserted goes to ``_truth/``.

Every batch has its own RNG streams derived from the seed (``random.Random`` seeded with a
string, which is hashed with SHA-512: nothing depends on ``PYTHONHASHSEED``), so the same seed
and parameters give byte-identical files, whether the batches are made in this process or in
worker processes (large runs use up to 8; ``TAMIS_SYNTH_WORKERS=1`` keeps everything in this
process). Workers are started with ``forkserver``/``spawn``: a script that calls
:func:`generate_platform` at import time needs the usual ``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import random
import shutil
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import MappingProxyType
from typing import Any

import orjson

from tamis.errors import TamisError
from tamis.sources.schema import CONSENT_EVENTS, CONTENT, MEMBERS, TECHNICAL_EVENTS
from tamis.synth._consent import UNKNOWN_MEMBER_LABEL, labels_for
from tamis.synth._content import KINDS, ContentBatch, ContentMaker, ContentParams
from tamis.synth._io import JsonlWriter, TableWriter, open_table
from tamis.synth._members import MemberIndex
from tamis.synth._parallel import default_workers, run_batches
from tamis.synth._people import PeopleBatch, PeopleMaker, PeopleParams
from tamis.synth._pools import build_pools
from tamis.synth._world import CONSENT_CUTOFF, COUNTRIES, MAIN_START, OTHER_START, region_start

DEFAULT_START = datetime(2024, 1, 1, tzinfo=UTC)
DEFAULT_END = datetime(2026, 3, 1, tzinfo=UTC)
BATCH_ROWS = 20_000
"""Content records per batch (members: a fifth of it). Part of the output's definition."""
PARALLEL_FROM = 4  # batches: fewer run in this process (starting workers costs seconds)
FORMATS = ("jsonl", "parquet")
TRUTH_DIR = "_truth"
CONSENT_DIR = "_consent"


@dataclass(frozen=True)
class SynthSummary:
    """What :func:`generate_platform` wrote.

    Row counts per table (``consent_events`` includes the duplicate and malformed lines) and per
    content kind, lines per ground-truth file, and where each file is. ``seconds`` is the wall
    time; it is not written anywhere, so that the files stay byte-identical run to run.
    """

    out: Path
    fmt: str
    seed: int
    members: int
    content: int
    content_by_kind: Mapping[str, int]
    technical_events: int
    consent_events: int
    consent_malformed: int
    consent_in_export: bool
    truth: Mapping[str, int]
    paths: Mapping[str, Path]
    seconds: float = field(compare=False)

    @property
    def tables(self) -> dict[str, int]:
        return {
            "members": self.members,
            "content": self.content,
            "technical_events": self.technical_events,
            "consent_events": self.consent_events,
        }

    @property
    def content_per_second(self) -> float:
        return self.content / self.seconds if self.seconds > 0 else 0.0


def generate_platform(
    out: Path,
    *,
    members: int,
    seed: int,
    fmt: str = "jsonl",
    records_per_member: float = 10.0,
    consent_in_export: bool = True,
    start: datetime | None = None,
    end: datetime | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> SynthSummary:
    """Write a synthetic platform export to ``out`` (a new or empty directory).

    ``members`` members and ``round(members * records_per_member)`` content records created
    between ``start`` and ``end`` (default 2024-01-01 .. 2026-03-01 UTC). Tables are
    ``<table>.jsonl`` or ``<table>.parquet`` (``fmt``). Consent events go to the
    ``consent_events`` table when ``consent_in_export``; otherwise to
    ``_consent/consent_events.jsonl``, a folder readers ignore, standing for what a consent
    registry would import. Ground truth goes to ``_truth/``. The directory appears complete or
    not at all (it is built beside ``out`` and renamed).

    ``progress(table, done, total)`` is called with ``members`` then ``content`` at the start
    and after every batch, and once with ``technical_events`` and ``consent_events`` (done =
    total = rows written) when the members pass ends. Raises :class:`~tamis.errors.TamisError`
    for bad arguments or a non-empty ``out``.
    """
    return _Synth(
        Path(out),
        members=members,
        seed=seed,
        fmt=fmt,
        records_per_member=records_per_member,
        consent_in_export=consent_in_export,
        start=start,
        end=end,
        progress=progress,
    ).run()


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise TamisError(message)


def _aware(value: datetime | None, default: datetime, name: str) -> datetime:
    if value is None:
        return default
    _check(value.tzinfo is not None, f"{name} {value.isoformat()} has no time zone; give UTC")
    return value.astimezone(UTC)


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:  # pragma: no cover - source tree without metadata
        return "unknown"


class _Synth:
    def __init__(
        self,
        out: Path,
        *,
        members: int,
        seed: int,
        fmt: str,
        records_per_member: float,
        consent_in_export: bool,
        start: datetime | None,
        end: datetime | None,
        progress: Callable[[str, int, int], None] | None,
        batch_rows: int = BATCH_ROWS,
        workers: int | None = None,
    ) -> None:
        _check(
            isinstance(members, int) and not isinstance(members, bool) and members >= 1,
            f"members must be a whole number >= 1, not {members!r}",
        )
        _check(isinstance(seed, int), f"seed must be an integer, not {seed!r}")
        _check(fmt in FORMATS, f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        _check(
            records_per_member >= 0, f"records per member must be >= 0, not {records_per_member}"
        )
        _check(batch_rows >= 5, "batch_rows must be >= 5")
        self.out = out
        self.members = members
        self.seed = seed
        self.fmt = fmt
        self.records_per_member = float(records_per_member)
        self.consent_in_export = consent_in_export
        self.start = _aware(start, DEFAULT_START, "start")
        self.end = _aware(end, DEFAULT_END, "end")
        _check(self.end > self.start, "end must be after start")
        self.progress = progress
        self.batch_rows = batch_rows
        self.workers = default_workers() if workers is None else workers
        self.total_content = round(members * self.records_per_member)

    def _tick(self, table: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(table, done, total)

    def _workers(self, batches: int) -> int:
        return self.workers if batches >= PARALLEL_FROM else 1

    def run(self) -> SynthSummary:
        out = self.out
        _check(
            not out.exists() or (out.is_dir() and not any(out.iterdir())),
            f"{out} exists and is not empty; choose a new directory or remove it",
        )
        began = time.perf_counter()
        tmp = out.parent / f".{out.name}.synth-partial"
        if tmp.exists():
            shutil.rmtree(tmp)  # left over from an interrupted run of ours
        (tmp / TRUTH_DIR).mkdir(parents=True)
        try:
            counts, paths = self._write(tmp)
            if out.exists():
                out.rmdir()
            tmp.rename(out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return SynthSummary(
            out=out,
            fmt=self.fmt,
            seed=self.seed,
            members=counts["members"],
            content=counts["content"],
            content_by_kind=MappingProxyType(counts["content_by_kind"]),
            technical_events=counts["technical_events"],
            consent_events=counts["consent_events"],
            consent_malformed=counts["consent_malformed"],
            consent_in_export=self.consent_in_export,
            truth=MappingProxyType(counts["truth"]),
            paths=MappingProxyType({k: out / p.relative_to(tmp) for k, p in paths.items()}),
            seconds=time.perf_counter() - began,
        )

    def _write(self, root: Path) -> tuple[dict[str, Any], dict[str, Path]]:
        pools = build_pools(self.seed)
        index = MemberIndex(pools, self.seed)
        truth_dir = root / TRUTH_DIR
        consent_fmt = self.fmt if self.consent_in_export else "jsonl"
        consent_dir = root
        if not self.consent_in_export:
            consent_dir = root / CONSENT_DIR
            consent_dir.mkdir()

        # every consent rule at least once, at random members (when there are enough members)
        labels = [k for k in labels_for(consent_fmt) if k != UNKNOWN_MEMBER_LABEL]
        forced: dict[int, str] = {}
        if self.members >= 2 * len(labels):
            chosen = random.Random(f"tamis.synth:{self.seed}:forced").sample(  # nosec B311  # seeded, not for secrets
                range(self.members), len(labels)
            )
            forced = dict(zip(chosen, labels, strict=True))

        start_s, end_s = int(self.start.timestamp()), int(self.end.timestamp())
        people = PeopleParams(
            seed=self.seed,
            members=self.members,
            batch=max(1, self.batch_rows // 5),
            fmt=self.fmt,
            consent_fmt=consent_fmt,
            start_s=start_s,
            end_s=end_s,
            forced=forced,
        )
        writers: list[TableWriter | JsonlWriter] = []
        members_w = open_table(root, MEMBERS, self.fmt)
        writers.append(members_w)
        technical_w = open_table(root, TECHNICAL_EVENTS, self.fmt)
        writers.append(technical_w)
        consent_w = open_table(consent_dir, CONSENT_EVENTS, consent_fmt)
        writers.append(consent_w)
        edges_w = JsonlWriter(truth_dir / "consent_edge_cases.jsonl")
        writers.append(edges_w)
        mentions_w = JsonlWriter(truth_dir / "mentions.jsonl")
        writers.append(mentions_w)
        duplicates_w = JsonlWriter(truth_dir / "duplicates.jsonl")
        writers.append(duplicates_w)
        sensitive_w = JsonlWriter(truth_dir / "sensitive.jsonl")
        writers.append(sensitive_w)
        consent_labels: Counter[str] = Counter()
        malformed = 0
        by_kind: Counter[str] = Counter()
        try:

            def take_people(b: int, batch: PeopleBatch) -> None:
                nonlocal malformed
                rows = min(people.batch, self.members - b * people.batch)
                members_w.write(batch.members, rows)
                technical_w.write(batch.technical, batch.technical_rows)
                consent_w.write(batch.consent, batch.consent_rows)
                edges_w.write(batch.edges, batch.edge_rows)
                consent_labels.update(batch.consent_labels)
                malformed += batch.consent_malformed
                index.extend(batch.fragment)
                self._tick("members", len(index), self.members)

            member_batches = -(-self.members // people.batch)
            self._tick("members", 0, self.members)
            run_batches(
                PeopleMaker,
                (people, pools),
                member_batches,
                self._workers(member_batches),
                take_people,
            )
            index.finalize()
            self._tick("technical_events", technical_w.rows, technical_w.rows)
            self._tick("consent_events", consent_w.rows, consent_w.rows)

            content = ContentParams(
                seed=self.seed,
                fmt=self.fmt,
                total=self.total_content,
                batch=self.batch_rows,
                start_s=start_s,
                end_s=end_s,
            )
            content_w = open_table(root, CONTENT, self.fmt)
            writers.append(content_w)

            def take_content(b: int, batch: ContentBatch) -> None:
                content_w.write(batch.content, batch.rows)
                mentions_w.write(batch.mentions, batch.mention_rows)
                duplicates_w.write(batch.duplicates, batch.duplicate_rows)
                sensitive_w.write(batch.sensitive, batch.sensitive_rows)
                by_kind.update(batch.by_kind)
                self._tick("content", content_w.rows, self.total_content)

            content_batches = -(-self.total_content // content.batch)
            self._tick("content", 0, self.total_content)
            run_batches(
                ContentMaker,
                (content, index),
                content_batches,
                self._workers(content_batches),
                take_content,
            )
        finally:
            for writer in writers:
                writer.close()

        counts: dict[str, Any] = {
            "members": members_w.rows,
            "content": content_w.rows,
            "content_by_kind": {kind: by_kind[kind] for kind in KINDS},
            "technical_events": technical_w.rows,
            "consent_events": consent_w.rows,
            "consent_malformed": malformed,
            "truth": {
                "consent_edge_cases": edges_w.rows,
                "mentions": mentions_w.rows,
                "duplicates": duplicates_w.rows,
                "sensitive": sensitive_w.rows,
            },
        }
        parameters = {
            "generator": "tamis.synth",
            "tamis_version": _version("tamis"),
            "faker_version": _version("faker"),
            "seed": self.seed,
            "members": self.members,
            "records_per_member": self.records_per_member,
            "format": self.fmt,
            "consent_in_export": self.consent_in_export,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "consent_cutoff": _iso(CONSENT_CUTOFF),
            "region_starts": {"main": _iso(MAIN_START), "other": _iso(OTHER_START)},
            "main_region": sorted(c.code for c in COUNTRIES if region_start(c.code) == MAIN_START),
            "counts": {k: v for k, v in counts.items() if k != "truth"},
            "truth": counts["truth"],
            "consent_labels": {k: consent_labels[k] for k in labels_for(consent_fmt)},
        }
        synth_json = truth_dir / "synth.json"
        synth_json.write_bytes(
            orjson.dumps(parameters, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
        )
        paths = {
            "members": members_w.path,
            "content": content_w.path,
            "technical_events": technical_w.path,
            "consent_events": consent_w.path,
            "truth/consent_edge_cases": edges_w.path,
            "truth/mentions": mentions_w.path,
            "truth/duplicates": duplicates_w.path,
            "truth/sensitive": sensitive_w.path,
            "truth/synth": synth_json,
        }
        return counts, paths
