"""The impact of an objection or an erasure: which snapshots and models used the member's data.

A snapshot is *affected* by a request when it holds the member's data (its ``members.parquet``
lists the member's pseudonym) and:

* erasure: always (the data must go, whenever it was used);
* objection: the snapshot's cutoff is before the objection, or the member did not allow the use
  again between the objection and the cutoff (a later snapshot that still holds the member's data
  without a new consent took it against the objection: it is affected too).

Each model trained on an affected snapshot gets one entry in the *affected-models queue* per
request: the DPO decides to retrain, unlearn, or document why neither is needed, and resolves it.
A model registered later on an affected snapshot is queued when it is registered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tamis.consent.model import GENAI_TRAINING
from tamis.consent.schema import consent_events
from tamis.errors import InputError
from tamis.lineage.store import model_snapshots, models, snapshot_members, snapshots
from tamis.rights._tables import affected_models, rights_requests
from tamis.timefmt import format_instant

ACTIONS = ("retrain", "unlearn", "documented")
_s, _sm, _m, _ms, _q, _r = (
    snapshots,
    snapshot_members,
    models,
    model_snapshots,
    affected_models,
    rights_requests,
)


@dataclass(frozen=True)
class AffectedModel:
    """One entry of the affected-models queue."""

    item_id: int
    model: str
    trained_at: datetime | None
    request_id: str
    request_kind: str
    member_ref: str
    snapshots: tuple[str, ...]
    status: str
    action: str | None
    note: str | None
    created_at: datetime
    resolved_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "model": self.model,
            "trained_at": None if self.trained_at is None else format_instant(self.trained_at),
            "request_id": self.request_id,
            "request_kind": self.request_kind,
            "member_ref": self.member_ref,
            "snapshots": list(self.snapshots),
            "status": self.status,
            "action": self.action,
            "note": self.note,
            "created_at": format_instant(self.created_at),
            "resolved_at": None if self.resolved_at is None else format_instant(self.resolved_at),
        }


def _reallowed(connection: sa.Connection, member_id: str, after: datetime) -> list[datetime]:
    ce = consent_events
    return list(
        connection.execute(
            sa.select(ce.c.ts).where(
                ce.c.member_id == member_id,
                ce.c.setting == GENAI_TRAINING,
                ce.c.value.is_(True),
                ce.c.ts > after,
            )
        ).scalars()
    )


def affected_snapshots(connection: sa.Connection, request: Any) -> list[Any]:
    """The snapshot rows affected by ``request`` (a ``rights_requests`` row), oldest first."""
    if request.kind not in ("objection", "erasure"):
        return []
    holding = sa.select(_sm.c.snapshot_pk).where(_sm.c.member_ref == request.member_ref)
    rows = connection.execute(
        sa.select(_s)
        .where(_s.c.snapshot_pk.in_(holding), _s.c.key_id == request.key_id)
        .order_by(_s.c.cutoff, _s.c.snapshot_pk)
    ).all()
    if request.kind == "erasure":
        return list(rows)
    allows = _reallowed(connection, request.member_id, request.received_at)
    return [
        row
        for row in rows
        if row.cutoff < request.received_at
        or not any(request.received_at < ts <= row.cutoff for ts in allows)
    ]


def _queue(connection: sa.Connection, request: Any, model_pk: int, snapshot_ids: list[str]) -> int:
    exists = connection.execute(
        sa.select(_q.c.item_id).where(
            _q.c.model_pk == model_pk, _q.c.request_id == request.request_id
        )
    ).first()
    if exists is not None:
        return 0
    connection.execute(
        sa.insert(_q).values(
            model_pk=model_pk,
            request_id=request.request_id,
            member_ref=request.member_ref,
            snapshots=",".join(snapshot_ids),
            status="open",
            created_at=datetime.now(UTC),
        )
    )
    return 1


def queue_request(connection: sa.Connection, request: Any) -> tuple[list[Any], int]:
    """Queue every model on a snapshot affected by ``request``; returns (snapshots, new entries)."""
    affected = affected_snapshots(connection, request)
    if not affected:
        return [], 0
    ids = {row.snapshot_pk: row.snapshot_id for row in affected}
    pairs = connection.execute(
        sa.select(_ms.c.model_pk, _ms.c.snapshot_pk)
        .where(_ms.c.snapshot_pk.in_(list(ids)))
        .order_by(_ms.c.model_pk, _ms.c.snapshot_pk)
    ).all()
    by_model: dict[int, list[str]] = {}
    for model_pk, snapshot_pk in pairs:
        by_model.setdefault(int(model_pk), []).append(ids[snapshot_pk])
    added = sum(_queue(connection, request, pk, snaps) for pk, snaps in by_model.items())
    return affected, added


def queue_model(connection: sa.Connection, model_pk: int) -> int:
    """Queue a newly registered model for every objection and erasure it is affected by."""
    candidates = connection.execute(
        sa.select(_r)
        .where(
            _r.c.kind.in_(["objection", "erasure"]),
            sa.exists(
                sa.select(1)
                .select_from(
                    _ms.join(_sm, _sm.c.snapshot_pk == _ms.c.snapshot_pk).join(
                        _s, _s.c.snapshot_pk == _ms.c.snapshot_pk
                    )
                )
                .where(
                    _ms.c.model_pk == model_pk,
                    _sm.c.member_ref == _r.c.member_ref,
                    _s.c.key_id == _r.c.key_id,
                )
            ),
        )
        .order_by(_r.c.received_at, _r.c.request_id)
    ).all()
    mine = set(
        connection.execute(sa.select(_ms.c.snapshot_pk).where(_ms.c.model_pk == model_pk)).scalars()
    )
    added = 0
    for request in candidates:
        snaps = [
            row.snapshot_id
            for row in affected_snapshots(connection, request)
            if row.snapshot_pk in mine
        ]
        if snaps:
            added += _queue(connection, request, model_pk, snaps)
    return added


def list_affected(
    connection: sa.Connection, *, include_resolved: bool = False
) -> list[AffectedModel]:
    """The queue (open entries, or all), oldest first."""
    query = (
        sa.select(_q, _m.c.name, _m.c.trained_at, _r.c.kind)
        .join(_m, _m.c.model_pk == _q.c.model_pk)
        .join(_r, _r.c.request_id == _q.c.request_id)
        .order_by(_q.c.item_id)
    )
    if not include_resolved:
        query = query.where(_q.c.status == "open")
    return [
        AffectedModel(
            int(row.item_id),
            row.name,
            row.trained_at,
            row.request_id,
            row.kind,
            row.member_ref,
            tuple(s for s in row.snapshots.split(",") if s),
            row.status,
            row.action,
            row.note,
            row.created_at,
            row.resolved_at,
        )
        for row in connection.execute(query)
    ]


def resolve_affected(connection: sa.Connection, item_id: int, action: str, note: str) -> None:
    """Close a queue entry with the DPO's decision (retrain, unlearn or documented) and a note."""
    if action not in ACTIONS:
        raise InputError(
            f"action must be one of {', '.join(ACTIONS)}, not {action!r}", field="action"
        )
    if action == "documented" and not note.strip():
        raise InputError("say why neither retraining nor unlearning is needed", field="note")
    row = connection.execute(sa.select(_q).where(_q.c.item_id == item_id)).first()
    if row is None:
        raise InputError(f"no affected-models entry {item_id}")
    if row.status != "open":
        raise InputError(f"affected-models entry {item_id} is already resolved ({row.action})")
    connection.execute(
        sa.update(_q)
        .where(_q.c.item_id == item_id)
        .values(status="resolved", action=action, note=note, resolved_at=datetime.now(UTC))
    )
