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

Pseudonym keys rotate: a snapshot lists its members under the pseudonym key it was built with
(its ``key_id``). The member is looked for in each snapshot under the pseudonym of that key
(:func:`member_refs`: one per key of the key ring; and :func:`recorded_refs`, those recorded with
the member's requests). A snapshot built with a key that is in none of them cannot be searched:
it is *unverifiable*. Failing closed, a request it would affect if it held the member's data
queues the models trained on it all the same, their snapshot marked ``(unverifiable)`` in the
queue entry, and gets a warning entry in the consent log (:func:`record_unverifiable`): the DPO
decides (put the retired key back and check, or retrain, unlearn, document), never silently
nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from tamis.consent import log as consent_log
from tamis.consent.model import GENAI_TRAINING
from tamis.consent.schema import consent_events
from tamis.errors import InputError
from tamis.keys import KeyRing, PseudonymKey, load_keyring
from tamis.lineage.store import model_snapshots, models, snapshot_members, snapshots
from tamis.rights._tables import affected_models, rights_requests
from tamis.timefmt import format_instant

ACTIONS = ("retrain", "unlearn", "documented")
WARNING = "warning"  # the action of a request's warning entries in the consent log
UNVERIFIABLE = "unverifiable_snapshots"
UNVERIFIABLE_MARK = " (unverifiable)"  # after a snapshot id in a queue entry: not checked
_IN_CHUNK = 500  # pseudonyms per IN (...) query
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


def objection_setting(connection: sa.Connection, request: Any) -> str:
    """The setting an objection request objects to: its consent event's (a policy may govern
    its purpose by a setting of another name); ``genai_training`` for a request without one."""
    if request.consent_event_id is None:
        return GENAI_TRAINING
    setting = connection.execute(
        sa.select(consent_events.c.setting).where(
            consent_events.c.event_id == request.consent_event_id
        )
    ).scalar()
    return GENAI_TRAINING if setting is None else str(setting)


def _reallowed(connection: sa.Connection, request: Any) -> list[datetime]:
    """When the member allowed the objected setting again after the objection."""
    ce = consent_events
    return list(
        connection.execute(
            sa.select(ce.c.ts).where(
                ce.c.member_id == request.member_id,
                ce.c.setting == objection_setting(connection, request),
                ce.c.value.is_(True),
                ce.c.ts > request.received_at,
            )
        ).scalars()
    )


def as_ring(keys: KeyRing | PseudonymKey) -> KeyRing:
    """A key ring: ``keys`` itself, or a ring of that one key."""
    return keys if isinstance(keys, KeyRing) else KeyRing(keys)


def member_refs(keys: KeyRing | PseudonymKey, member_id: str) -> dict[str, str]:
    """The member's pseudonym under each key of the ring, by ``key_id``."""
    return {key.key_id: key.member_ref(member_id) for key in as_ring(keys).keys}


def recorded_refs(
    connection: sa.Connection, member_ids: Collection[str]
) -> dict[str, dict[str, str]]:
    """The pseudonyms recorded with the members' requests (any kind), by member and ``key_id``:
    still right for their key after it has left the key ring."""
    found: dict[str, dict[str, str]] = {}
    ids = sorted(member_ids)
    for start in range(0, len(ids), _IN_CHUNK):
        rows = connection.execute(
            sa.select(_r.c.member_id, _r.c.key_id, _r.c.member_ref)
            .distinct()
            .where(_r.c.member_id.in_(ids[start : start + _IN_CHUNK]))
        )
        for member_id, key_id, member_ref in rows:
            found.setdefault(member_id, {})[key_id] = member_ref
    return found


def request_refs(
    request: Any,
    keys: KeyRing | PseudonymKey | None,
    recorded: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Where to look for a request's member: their pseudonym under each key of the ring, the
    ones ``recorded`` with their requests (:func:`recorded_refs`) and the one recorded with this
    request (each still right for its key if that key has left the ring)."""
    refs = dict(recorded or {})
    refs.update({} if keys is None else member_refs(keys, request.member_id))
    refs[request.key_id] = request.member_ref
    return refs


def _affecting(connection: sa.Connection, request: Any, rows: Iterable[Any]) -> list[Any]:
    """The snapshot rows that the request affects if they hold the member's data."""
    if request.kind not in ("objection", "erasure"):
        return []
    holding = list(rows)
    if request.kind == "erasure" or not holding:  # nothing to weigh against a re-allow
        return holding
    allows = _reallowed(connection, request)
    return [
        row
        for row in holding
        if row.cutoff < request.received_at
        or not any(request.received_at < ts <= row.cutoff for ts in allows)
    ]


def _holding(refs: Mapping[str, str]) -> sa.ColumnElement[bool]:
    """Snapshots that list the member under the pseudonym of the key they were built with."""
    return sa.or_(
        *(
            sa.and_(
                _s.c.key_id == key_id,
                _s.c.snapshot_pk.in_(
                    sa.select(_sm.c.snapshot_pk).where(_sm.c.member_ref == member_ref)
                ),
            )
            for key_id, member_ref in sorted(refs.items())
        )
    )


def affected_snapshots(
    connection: sa.Connection, request: Any, refs: Mapping[str, str] | None = None
) -> list[Any]:
    """The snapshot rows affected by ``request`` (a ``rights_requests`` row), oldest first.

    ``refs`` (``key_id`` -> the member's pseudonym, :func:`request_refs`) says where to look; by
    default only under the key the request was recorded with.
    """
    if request.kind not in ("objection", "erasure"):
        return []
    refs = refs or request_refs(request, None)
    rows = connection.execute(
        sa.select(_s).where(_holding(refs)).order_by(_s.c.cutoff, _s.c.snapshot_pk)
    ).all()
    return _affecting(connection, request, rows)


def unverifiable_snapshots(
    connection: sa.Connection, request: Any, refs: Mapping[str, str]
) -> list[Any]:
    """Snapshot rows that ``request`` would affect if they held the member's data, but that were
    built with a pseudonym key in none of ``refs``: whether they do cannot be checked."""
    rows = connection.execute(
        sa.select(_s)
        .where(_s.c.key_id.not_in(sorted(refs)))
        .order_by(_s.c.cutoff, _s.c.snapshot_pk)
    ).all()
    return _affecting(connection, request, rows)


def _model_names(connection: sa.Connection, snapshot_pks: Collection[int]) -> dict[int, list[str]]:
    rows = connection.execute(
        sa.select(_ms.c.snapshot_pk, _m.c.name)
        .join(_m, _m.c.model_pk == _ms.c.model_pk)
        .where(_ms.c.snapshot_pk.in_(sorted(snapshot_pks)))
        .order_by(_m.c.model_pk)
    ).all()
    names: dict[int, list[str]] = {}
    for snapshot_pk, name in rows:
        names.setdefault(int(snapshot_pk), []).append(name)
    return names


def unverifiable_warning(rows: Sequence[Any], models: Mapping[int, list[str]]) -> dict[str, Any]:
    """The warning payload of unverifiable snapshots: what they are, what was trained on them,
    and a sentence for people."""
    keys = sorted({row.key_id for row in rows})
    trained = sorted({name for row in rows for name in models.get(int(row.snapshot_pk), [])})
    message = (
        f"{len(rows)} training snapshot(s) could not be checked for the member's data: they were "
        f"built with pseudonym key(s) {', '.join(keys)}, which the key ring no longer holds"
        + (f"; models trained on them: {', '.join(trained)}" if trained else "")
        + ". They are treated as holding the member's data: their models are in the "
        "affected-models queue, marked (unverifiable). Put the retired key back in the key ring "
        "(docs/trust.md) to check them."
    )
    return {
        "action": WARNING,
        "warning": UNVERIFIABLE,
        "message": message,
        "snapshots": [
            {
                "snapshot_id": row.snapshot_id,
                "manifest_sha256": row.manifest_sha256,
                "cutoff": format_instant(row.cutoff),
                "key_id": row.key_id,
                "models": models.get(int(row.snapshot_pk), []),
            }
            for row in rows
        ],
    }


def record_unverifiable(
    connection: sa.Connection, found: Sequence[tuple[Any, Sequence[Any]]]
) -> list[dict[str, Any]]:
    """Log a warning with each request (a ``rights_requests`` row) for its unverifiable snapshot
    rows, in one append; returns the payloads, in the order of ``found``."""
    found = [(request, rows) for request, rows in found if rows]
    if not found:
        return []
    models = _model_names(connection, {int(r.snapshot_pk) for _, rows in found for r in rows})
    payloads = [unverifiable_warning(rows, models) for _, rows in found]
    consent_log.append(
        connection,
        consent_log.lock_head(connection),
        [
            consent_log.Entry(consent_log.REQUEST, request.request_id, consent_log.dumps(payload))
            for (request, _), payload in zip(found, payloads, strict=True)
        ],
    )
    return payloads


def request_warnings(connection: sa.Connection, request_id: str) -> list[dict[str, Any]]:
    """The warnings logged with a request, oldest first."""
    log = consent_log.consent_log
    payloads = connection.execute(
        sa.select(log.c.payload)
        .where(log.c.kind == consent_log.REQUEST, log.c.ref == request_id)
        .order_by(log.c.seq)
    ).scalars()
    entries = [orjson.loads(p) for p in payloads]
    return [e for e in entries if e.get("action") == WARNING]


def _found_under(rows: Iterable[Any], refs: Mapping[str, str], request: Any) -> str:
    """The member's pseudonyms in these snapshot rows (under each one's key), comma-separated in
    the rows' order: what the DPO looks for in those snapshots. The request's own (the active
    key's when it was recorded) when none of the rows can be searched."""
    found = list(dict.fromkeys(refs[row.key_id] for row in rows if row.key_id in refs))
    return ",".join(found) or str(request.member_ref)


def _queue(
    connection: sa.Connection,
    request: Any,
    model_pk: int,
    snapshot_ids: list[str],
    member_ref: str,
) -> int:
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
            member_ref=member_ref,
            snapshots=",".join(snapshot_ids),
            status="open",
            created_at=datetime.now(UTC),
        )
    )
    return 1


def queue_request(
    connection: sa.Connection,
    request: Any,
    refs: Mapping[str, str] | None = None,
    unverifiable: Sequence[Any] = (),
) -> tuple[list[Any], int]:
    """Queue every model on a snapshot affected by ``request``; returns (snapshots, new entries).

    ``refs``: where to look for the member (:func:`request_refs`), as for
    :func:`affected_snapshots`. Models on the ``unverifiable`` snapshot rows
    (:func:`unverifiable_snapshots`) are queued too, those snapshots marked
    :data:`UNVERIFIABLE_MARK` in the entry: what cannot be checked counts as affected.
    """
    refs = refs or request_refs(request, None)
    affected = affected_snapshots(connection, request, refs)
    ids = {row.snapshot_pk: row.snapshot_id for row in affected}
    ids.update({row.snapshot_pk: row.snapshot_id + UNVERIFIABLE_MARK for row in unverifiable})
    rows = {row.snapshot_pk: row for row in [*affected, *unverifiable]}
    if not ids:
        return affected, 0
    pairs = connection.execute(
        sa.select(_ms.c.model_pk, _ms.c.snapshot_pk)
        .join(_s, _s.c.snapshot_pk == _ms.c.snapshot_pk)
        .where(_ms.c.snapshot_pk.in_(list(ids)))
        .order_by(_ms.c.model_pk, _s.c.cutoff, _ms.c.snapshot_pk)
    ).all()
    by_model: dict[int, list[int]] = {}
    for model_pk, snapshot_pk in pairs:
        by_model.setdefault(int(model_pk), []).append(snapshot_pk)
    added = sum(
        _queue(
            connection,
            request,
            model,
            [ids[pk] for pk in pks],
            _found_under([rows[pk] for pk in pks], refs, request),
        )
        for model, pks in by_model.items()
    )
    return affected, added


def _refs_in(connection: sa.Connection, snapshot_pks: list[int], refs: list[str]) -> set[str]:
    """Which of ``refs`` these snapshots list."""
    found: set[str] = set()
    for start in range(0, len(refs), _IN_CHUNK):
        chunk = refs[start : start + _IN_CHUNK]
        found.update(
            connection.execute(
                sa.select(_sm.c.member_ref)
                .distinct()
                .where(_sm.c.snapshot_pk.in_(snapshot_pks), _sm.c.member_ref.in_(chunk))
            ).scalars()
        )
    return found


def queue_model(
    connection: sa.Connection, model_pk: int, keys: KeyRing | PseudonymKey | None = None
) -> int:
    """Queue a newly registered model for every objection and erasure it is affected by.

    Members are looked for in each of the model's snapshots under the pseudonym of the key the
    snapshot was built with, from ``keys`` (default: the key ring of :func:`tamis.keys.
    load_keyring`) or the one recorded with the request. A request that one of the model's
    snapshots would affect but that cannot be checked (its key is in neither) gets a warning in
    the consent log.
    """
    mine = connection.execute(
        sa.select(_s)
        .join(_ms, _ms.c.snapshot_pk == _s.c.snapshot_pk)
        .where(_ms.c.model_pk == model_pk)
        .order_by(_s.c.cutoff, _s.c.snapshot_pk)
    ).all()
    if not mine:
        return 0
    requests = connection.execute(
        sa.select(_r)
        .where(_r.c.kind.in_(["objection", "erasure"]))
        .order_by(_r.c.received_at, _r.c.request_id)
    ).all()
    if not requests:
        return 0
    ring = as_ring(keys) if keys is not None else load_keyring()
    recorded = recorded_refs(connection, {r.member_id for r in requests})
    by_key: dict[str, list[int]] = {}
    for row in mine:
        by_key.setdefault(row.key_id, []).append(int(row.snapshot_pk))
    ring_keys = {key.key_id: key for key in ring.keys}
    holding: set[str] = set()  # request ids whose member some snapshot of the model lists
    unchecked: dict[str, set[str]] = {}  # request id -> key ids it cannot be checked under
    for key_id, pks in by_key.items():
        key = ring_keys.get(key_id)
        refs: dict[str, list[str]] = {}  # the member's pseudonym under this key -> request ids
        for request in requests:
            ref = recorded.get(request.member_id, {}).get(key_id)
            if ref is None and key is not None:
                ref = key.member_ref(request.member_id)
            if ref is not None:
                refs.setdefault(ref, []).append(request.request_id)
            else:
                unchecked.setdefault(request.request_id, set()).add(key_id)
        for ref in _refs_in(connection, pks, sorted(refs)):
            holding.update(refs[ref])
    added = 0
    warnings: list[tuple[Any, list[Any]]] = []
    mine_pks = {int(row.snapshot_pk) for row in mine}
    for request in requests:
        snaps: list[str] = []
        refs_of = request_refs(request, ring, recorded.get(request.member_id))
        held: list[Any] = []
        if request.request_id in holding:
            held = [
                row
                for row in affected_snapshots(connection, request, refs_of)
                if row.snapshot_pk in mine_pks
            ]
            snaps = [row.snapshot_id for row in held]
        if request.request_id in unchecked:
            keys_out = unchecked[request.request_id]
            rows = _affecting(connection, request, [row for row in mine if row.key_id in keys_out])
            warnings.append((request, rows))
            snaps += [row.snapshot_id + UNVERIFIABLE_MARK for row in rows]  # fail closed
        if snaps:
            added += _queue(
                connection, request, model_pk, snaps, _found_under(held, refs_of, request)
            )
    record_unverifiable(connection, warnings)
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
