"""The lineage store: published snapshots, who is in them, and the models trained on them.

It lives in the registry database (tables of migration 0002), next to the consent events and the
rights requests, so that a rights request can be answered from one place:

* ``snapshots``: every published snapshot (id, purpose, policy sha256, cutoff, manifest sha256,
  members root, pseudonym key id, the consent log head it applied); a snapshot is identified by
  the sha256 of its ``manifest.json`` (two builds with the same inputs share a ``snapshot_id``
  but not a manifest);
* ``snapshot_members``: per snapshot, its ``members.parquet`` (member pseudonym, category,
  record count);
* ``models`` and ``model_snapshots``: models registered against snapshots.

Each recorded publication is an entry of the consent log (:mod:`tamis.consent.log`). Every table
is append-only. :class:`LineageRecorder` records a snapshot when its build completes.

>>> with open_registry() as registry:                     # doctest: +SKIP
...     store = LineageStore(registry)
...     store.register_model("assistant-v3", ["snapshots/2025-11"], trained_at="2025-12-01T00:00Z")
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from tamis.consent import log as consent_log
from tamis.consent.registry import ConsentRegistry, open_registry
from tamis.consent.schema import Instant, ident, instant_text
from tamis.errors import InputError, TamisError, VerificationError
from tamis.pipeline.build import BuildObserver, BuildRun
from tamis.timefmt import format_instant, parse_instant

MANIFEST_FILE = "manifest.json"
MEMBERS_FILE = "members.parquet"
_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData()
snapshots = sa.Table(
    "snapshots",
    metadata,
    sa.Column("snapshot_pk", _SERIAL, primary_key=True),
    sa.Column("snapshot_id", ident(), nullable=False),
    sa.Column("manifest_sha256", sa.String(64), nullable=False),
    sa.Column("purpose", ident(), nullable=False),
    sa.Column("policy_name", sa.Text(), nullable=False),
    sa.Column("policy_sha256", sa.String(64), nullable=False),
    sa.Column("cutoff", Instant(), nullable=False),
    sa.Column("members_root", sa.String(64), nullable=False),
    sa.Column("key_id", ident(), nullable=False),
    sa.Column("built_at", Instant(), nullable=True),
    sa.Column("members_included", sa.BigInteger(), nullable=False),
    sa.Column("records_included", sa.BigInteger(), nullable=False),
    sa.Column("location", sa.Text(), nullable=True),
    sa.Column("consent_log_seq", sa.BigInteger(), nullable=True),
    sa.Column("consent_log_head", sa.String(64), nullable=True),
    sa.Column("recorded_at", Instant(), nullable=False),
)
snapshot_members = sa.Table(
    "snapshot_members",
    metadata,
    sa.Column("snapshot_pk", _SERIAL, primary_key=True),
    sa.Column("member_ref", ident(), primary_key=True),
    sa.Column("category", ident(), primary_key=True),
    sa.Column("records", sa.BigInteger(), nullable=False),
)
models = sa.Table(
    "models",
    metadata,
    sa.Column("model_pk", _SERIAL, primary_key=True),
    sa.Column("name", ident(), nullable=False),
    sa.Column("trained_at", Instant(), nullable=True),
    sa.Column("registered_at", Instant(), nullable=False),
)
model_snapshots = sa.Table(
    "model_snapshots",
    metadata,
    sa.Column("model_pk", _SERIAL, primary_key=True),
    sa.Column("snapshot_pk", _SERIAL, primary_key=True),
)
_s, _sm, _m, _ms = snapshots, snapshot_members, models, model_snapshots


@dataclass(frozen=True)
class SnapshotRecord:
    """A published snapshot as the lineage store knows it."""

    snapshot_pk: int
    snapshot_id: str
    manifest_sha256: str
    purpose: str
    policy_name: str
    policy_sha256: str
    cutoff: datetime
    members_root: str
    key_id: str
    built_at: datetime | None
    members_included: int
    records_included: int
    location: str | None
    consent_log_seq: int | None
    consent_log_head: str | None
    recorded_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> SnapshotRecord:
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})

    def as_dict(self) -> dict[str, Any]:
        return {
            "snapshot_id": self.snapshot_id,
            "manifest_sha256": self.manifest_sha256,
            "purpose": self.purpose,
            "policy": self.policy_name,
            "policy_sha256": self.policy_sha256,
            "cutoff": format_instant(self.cutoff),
            "built_at": None if self.built_at is None else format_instant(self.built_at),
            "members_root": self.members_root,
            "members_included": self.members_included,
            "records_included": self.records_included,
            "location": self.location,
        }


@dataclass(frozen=True)
class ModelRecord:
    """A model registered against snapshots (by their manifest sha256 and id)."""

    model_pk: int
    name: str
    trained_at: datetime | None
    registered_at: datetime
    snapshots: tuple[SnapshotRecord, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "trained_at": None if self.trained_at is None else format_instant(self.trained_at),
            "registered_at": format_instant(self.registered_at),
            "snapshots": [s.snapshot_id for s in self.snapshots],
        }


@dataclass(frozen=True)
class Registration:
    """What :meth:`LineageStore.register_model` did."""

    model: ModelRecord
    status: str  # "registered" or "already registered"
    affected: int  # new entries in the affected-models queue (open objections and erasures)


def publication_payload(row: Any) -> dict[str, Any]:
    """The consent log payload of a publication (what the log commits to about a snapshot)."""
    return {
        "snapshot_id": row.snapshot_id,
        "manifest_sha256": row.manifest_sha256,
        "purpose": row.purpose,
        "policy_sha256": row.policy_sha256,
        "cutoff": instant_text(row.cutoff),
        "members_root": row.members_root,
        "key_id": row.key_id,
        "members_included": int(row.members_included),
        "records_included": int(row.records_included),
        "consent_log_seq": None if row.consent_log_seq is None else int(row.consent_log_seq),
        "consent_log_head": row.consent_log_head,
    }


def read_snapshot(snapshot_dir: str | os.PathLike[str]) -> tuple[dict[str, Any], str, pa.Table]:
    """A snapshot's manifest, the sha256 of ``manifest.json``, and ``members.parquet``.

    The members must hash to the manifest's ``members_root`` (a store never records a snapshot
    whose member list does not match what it committed to).
    """
    from tamis.lineage.merkle import merkle_root

    root = Path(snapshot_dir)
    path = root / MANIFEST_FILE
    try:
        raw = path.read_bytes()
        manifest = json.loads(raw)
    except FileNotFoundError:
        raise InputError(
            "no manifest here; is this a snapshot directory?", file=str(path)
        ) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the manifest: {exc}", file=str(path)) from None
    try:
        members = pq.read_table(root / MEMBERS_FILE, columns=["member_ref", "category", "records"])
    except (OSError, KeyError, pa.ArrowException) as exc:
        raise InputError(f"cannot read the members: {exc}", file=str(root / MEMBERS_FILE)) from None
    refs = sorted(set(members.column("member_ref").to_pylist()))
    if merkle_root(refs) != manifest.get("members_root"):
        raise VerificationError(
            f"{root / MEMBERS_FILE} does not hash to the manifest's members_root; "
            "the snapshot was altered"
        )
    return manifest, hashlib.sha256(raw).hexdigest(), members


class LineageStore:
    """Snapshots, their members and models, in the registry behind ``registry``."""

    def __init__(self, registry: ConsentRegistry) -> None:
        self.registry = registry

    # -- snapshots -----------------------------------------------------------------------------

    def record_snapshot(self, snapshot_dir: str | os.PathLike[str]) -> SnapshotRecord:
        """Record a published snapshot (idempotent: a snapshot already recorded is returned).

        One transaction: the snapshot, one row per member and category, and a publication entry
        in the consent log.
        """
        manifest, digest, members = read_snapshot(snapshot_dir)
        location = str(Path(snapshot_dir).resolve())
        missing = [f for f in ("snapshot_id", "purpose", "policy", "cutoff", "members_root",
                               "key_id", "members", "records") if f not in manifest]  # fmt: skip
        if missing:
            # key_id above all: a member is looked for in a snapshot under the pseudonym of the
            # key it was built with; guessed, rights would search under the wrong one and tell
            # members their data is not there
            raise InputError(
                f"the manifest has no {', '.join(missing)} (an older format?): the lineage store "
                "cannot record this snapshot; rebuild it with this version of tamis",
                file=str(Path(snapshot_dir) / "manifest.json"),
            )
        with self.registry.writing("recording a snapshot") as connection:
            head = consent_log.lock_head(connection)
            existing = connection.execute(
                sa.select(_s).where(_s.c.manifest_sha256 == digest)
            ).first()
            if existing is not None:
                return SnapshotRecord.from_row(existing)
            log_section = manifest.get(consent_log.MANIFEST_FIELD) or {}
            values = {
                "snapshot_id": str(manifest["snapshot_id"]),
                "manifest_sha256": digest,
                "purpose": str(manifest["purpose"]),
                "policy_name": str(manifest["policy"]["name"]),
                "policy_sha256": str(manifest["policy"]["sha256"]),
                "cutoff": parse_instant(manifest["cutoff"], what="cutoff"),
                "members_root": str(manifest["members_root"]),
                "key_id": str(manifest["key_id"]),
                "built_at": parse_instant(manifest["built_at"], what="built_at")
                if manifest.get("built_at")
                else None,
                "members_included": int(manifest["members"]["included"]),
                "records_included": int(manifest["records"]["included"]),
                "location": location,
                "consent_log_seq": log_section.get("seq"),
                "consent_log_head": log_section.get("head"),
                "recorded_at": datetime.now(UTC),
            }
            pk = connection.execute(
                sa.insert(_s).values(values).returning(_s.c.snapshot_pk)
            ).scalar_one()
            _insert_members(connection, int(pk), members)
            row = connection.execute(sa.select(_s).where(_s.c.snapshot_pk == pk)).one()
            consent_log.append(
                connection,
                head,
                [
                    consent_log.Entry(
                        consent_log.PUBLICATION, digest, consent_log.dumps(publication_payload(row))
                    )
                ],
            )
            return SnapshotRecord.from_row(row)

    def find_snapshot(self, snapshot_dir: str | os.PathLike[str]) -> SnapshotRecord | None:
        """The record of the snapshot in ``snapshot_dir`` (by its manifest's sha256), if any."""
        path = Path(snapshot_dir) / MANIFEST_FILE
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            raise InputError(f"cannot read the manifest: {exc.strerror}", file=str(path)) from None
        with self.registry.reading("looking up a snapshot") as connection:
            row = connection.execute(sa.select(_s).where(_s.c.manifest_sha256 == digest)).first()
        return None if row is None else SnapshotRecord.from_row(row)

    def snapshots(self) -> list[SnapshotRecord]:
        """Every recorded snapshot, by cutoff then recording order."""
        with self.registry.reading("listing snapshots") as connection:
            rows = connection.execute(sa.select(_s).order_by(_s.c.cutoff, _s.c.snapshot_pk)).all()
        return [SnapshotRecord.from_row(r) for r in rows]

    # -- models --------------------------------------------------------------------------------

    def register_model(
        self,
        name: str,
        snapshot_dirs: Sequence[str | os.PathLike[str]],
        *,
        trained_at: datetime | str | None = None,
    ) -> Registration:
        """Register model ``name`` as trained on the snapshots in ``snapshot_dirs``.

        Snapshots not yet in the store are recorded first. Registering the same name on the same
        snapshots again changes nothing; on other snapshots it is an error. Open objections and
        erasures of members whose data is in those snapshots put the model in the affected-models
        queue (:mod:`tamis.rights`).
        """
        if not name.strip():
            raise InputError("a model needs a name", field="name")
        if not snapshot_dirs:
            raise InputError("name at least one snapshot the model was trained on")
        when = (
            parse_instant(trained_at, what="trained_at")
            if isinstance(trained_at, str)
            else trained_at
        )
        records = [self.record_snapshot(d) for d in snapshot_dirs]
        pks = sorted({r.snapshot_pk for r in records})
        with self.registry.writing("registering a model") as connection:
            existing = connection.execute(sa.select(_m).where(_m.c.name == name)).first()
            if existing is not None:
                have = sorted(
                    connection.execute(
                        sa.select(_ms.c.snapshot_pk).where(_ms.c.model_pk == existing.model_pk)
                    ).scalars()
                )
                if have != pks:
                    raise TamisError(
                        f"model {name!r} is already registered on other snapshots; a model's "
                        "lineage never changes: register the new one under its own name"
                    )
                return Registration(self._model(connection, existing), "already registered", 0)
            pk = connection.execute(
                sa.insert(_m)
                .values(name=name, trained_at=when, registered_at=datetime.now(UTC))
                .returning(_m.c.model_pk)
            ).scalar_one()
            connection.execute(sa.insert(_ms), [{"model_pk": pk, "snapshot_pk": s} for s in pks])
            from tamis.rights.impact import queue_model

            affected = queue_model(connection, int(pk))
            row = connection.execute(sa.select(_m).where(_m.c.model_pk == pk)).one()
            return Registration(self._model(connection, row), "registered", affected)

    def _model(self, connection: sa.Connection, row: Any) -> ModelRecord:
        snaps = connection.execute(
            sa.select(_s)
            .join(_ms, _ms.c.snapshot_pk == _s.c.snapshot_pk)
            .where(_ms.c.model_pk == row.model_pk)
            .order_by(_s.c.cutoff, _s.c.snapshot_pk)
        ).all()
        return ModelRecord(
            int(row.model_pk),
            row.name,
            row.trained_at,
            row.registered_at,
            tuple(SnapshotRecord.from_row(s) for s in snaps),
        )

    def models(self) -> list[ModelRecord]:
        """Every registered model, in registration order."""
        with self.registry.reading("listing models") as connection:
            rows = connection.execute(sa.select(_m).order_by(_m.c.model_pk)).all()
            return [self._model(connection, r) for r in rows]

    # -- a member's data use -------------------------------------------------------------------

    def member_uses(
        self, member_ref: str, key_id: str
    ) -> list[tuple[SnapshotRecord, dict[str, int], list[ModelRecord]]]:
        """Snapshots holding the member's data (records by category) and models on each."""
        with self.registry.reading("reading a member's data use") as connection:
            return member_uses(connection, member_ref, key_id, self._model)


def member_uses(
    connection: sa.Connection, member_ref: str, key_id: str, model_of: Any = None
) -> list[tuple[SnapshotRecord, dict[str, int], list[ModelRecord]]]:
    """:meth:`LineageStore.member_uses` inside a transaction, oldest cutoff first."""
    rows = connection.execute(
        sa.select(_s, _sm.c.category, _sm.c.records)
        .join(_sm, _sm.c.snapshot_pk == _s.c.snapshot_pk)
        .where(_sm.c.member_ref == member_ref, _s.c.key_id == key_id)
        .order_by(_s.c.cutoff, _s.c.snapshot_pk, _sm.c.category)
    ).all()
    out: list[tuple[SnapshotRecord, dict[str, int], list[ModelRecord]]] = []
    for row in rows:
        if not out or out[-1][0].snapshot_pk != row.snapshot_pk:
            out.append((SnapshotRecord.from_row(row), {}, []))
        out[-1][1][row.category] = int(row.records)
    if model_of is not None:
        for record, _cats, model_list in out:
            model_rows = connection.execute(
                sa.select(_m)
                .join(_ms, _ms.c.model_pk == _m.c.model_pk)
                .where(_ms.c.snapshot_pk == record.snapshot_pk)
                .order_by(_m.c.model_pk)
            ).all()
            model_list.extend(model_of(connection, r) for r in model_rows)
    return out


def _insert_members(connection: sa.Connection, pk: int, members: pa.Table) -> None:
    refs = members.column("member_ref").to_pylist()
    cats = members.column("category").to_pylist()
    counts = members.column("records").to_pylist()
    raw: Any = connection.connection.driver_connection
    columns = "snapshot_pk, member_ref, category, records"
    if connection.dialect.name == "postgresql":
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY snapshot_members ({columns}) FROM STDIN") as copy,
        ):
            for ref, cat, n in zip(refs, cats, counts, strict=True):
                copy.write_row((pk, ref, cat, n))
        return
    cursor = raw.cursor()
    try:
        cursor.executemany(
            f"INSERT INTO snapshot_members ({columns}) VALUES (?, ?, ?, ?)",  # nosec B608  # constant names, quoted literals
            ((pk, ref, cat, n) for ref, cat, n in zip(refs, cats, counts, strict=True)),
        )
    finally:
        cursor.close()


class LineageRecorder(BuildObserver):
    """Build observer: records each published snapshot in the lineage store.

    The registry is ``db``, else the build's ``--db``, else ``$TAMIS_DB`` or the default registry;
    it must exist (a mistyped ``--db`` is not made into an empty registry). Recording happens
    after publication; if it fails, the snapshot stays
    published and the error says how to record it (``tamis model register`` records the
    snapshots it names, too).
    """

    def __init__(self, db: str | None = None) -> None:
        self.db = db

    def build_completed(self, run: BuildRun, manifest: dict[str, Any]) -> None:
        try:
            with open_registry(self.db or run.request.registry_url, existing=True) as registry:
                LineageStore(registry).record_snapshot(run.request.out)
        except TamisError as exc:
            raise TamisError(
                f"the snapshot is published at {run.request.out} but could not be recorded in "
                f"the lineage store: {exc}"
            ) from exc
