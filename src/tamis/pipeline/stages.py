"""Stages: small objects over Arrow record batches.

A stage has one job and one method, :meth:`Stage.process`, that takes a batch of training records
and returns a :class:`StageResult`: the batch (same rows, possibly rewritten text), an optional
per-row drop reason (null = kept) and counters. Engines (embedded, Spark) only schedule stages:
they call ``process`` on every batch, drop the rows with a reason and add the counters up.

Batches that flow through text stages have the columns of :data:`RECORD_SCHEMA`.

Stages are registered by versioned name in :data:`stages` and built from a name and options
(``stages.get("redact.contact.v1")(context, **options)``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

import pyarrow as pa

from tamis.keys import PseudonymKey
from tamis.registry import Registry
from tamis.timefmt import ARROW_TS

# The records that text stages see: one training record each.
RECORD_SCHEMA = pa.schema(
    [
        pa.field("record_id", pa.string()),
        pa.field("member_ref", pa.string()),
        pa.field("kind", pa.string()),
        pa.field("category", pa.string()),
        pa.field("created_at", ARROW_TS),
        pa.field("lang", pa.string()),
        pa.field("text", pa.string()),
    ]
)


@dataclass(frozen=True)
class StageContext:
    """What a stage may know about the build it runs in."""

    key: PseudonymKey
    purpose: str
    policy_sha256: str
    export_dir: Path | None = None  # where a stage may read the member directory (``members``)
    # Built only to check its options (``tamis policy validate``): read nothing, load nothing.
    checking_only: bool = False


@dataclass
class StageResult:
    """The outcome of one stage on one batch.

    ``batch`` has the same rows as the input (text may be rewritten). ``dropped`` is null for rows
    kept and a reason code (e.g. ``sensitive``) for rows to exclude. ``counts`` are counters to add
    into the manifest under the stage's name (e.g. entities found per type).
    """

    batch: pa.RecordBatch
    dropped: pa.Array | None = None
    counts: Counter[str] = field(default_factory=Counter)


class Stage(Protocol):
    """A per-record stage: stateless across batches, so engines may run batches in any process."""

    name: ClassVar[str]

    def process(self, batch: pa.RecordBatch) -> StageResult: ...


class StageFactory(Protocol):
    def __call__(self, context: StageContext, **options: object) -> Stage: ...


stages: Registry[StageFactory] = Registry("stage")
