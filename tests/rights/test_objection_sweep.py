"""Objections made as choices (the settings switch, ``consent set --object``, imports) swept into
answered Art. 21 requests with their impact, on SQLite and PostgreSQL.

The synthetic platform's imported consent holds objections of its own: each test sweeps them
first (they are choices too), then looks at what the sweep does with the events it adds.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from rights_testing import rights as _rights
from tamis.consent import ConsentRegistry, open_registry
from tamis.consent.log import verify_registry
from tamis.consent.model import GENAI_TRAINING, NONMEMBER_PREFIX
from tamis.keys import load_key
from tamis.lineage.store import LineageStore
from tamis.rights import RightsDesk
from tamis.rights._tables import rights_requests

platform = _rights.platform
pg_database = _rights.pg_database
pg_url = _rights.pg_url
registry_url = _rights.registry_url
S1_CUTOFF, OBJECTION_AT, S2_CUTOFF = _rights.S1_CUTOFF, _rights.OBJECTION_AT, _rights.S2_CUTOFF
REALLOWED_AT = "2025-10-15T12:00:00Z"  # after the objection, before S2's cutoff


def _never_objected(registry: ConsentRegistry, members: list[str]) -> list[str]:
    """Members without an objection in the registry: the sweep records nothing else for them."""
    return [m for m in members if all(e.value for e in registry.history(m, GENAI_TRAINING))]


def _switch_off(registry: ConsentRegistry, member: str, at: datetime | str | None = None) -> str:
    """The settings page's switch turned off (a choice: no request); returns the event id."""
    event_id = f"switch-{uuid.uuid4().hex}"
    registry.append(
        event_id, member, GENAI_TRAINING, False, at or datetime.now(UTC), "settings_page"
    )
    return event_id


def _s1_with_a_model(platform: Path, tmp_path: Path, db: str) -> tuple[str, str]:
    """S1 built and recorded, model-1 registered on it, the imported objections swept: (S1's
    snapshot id, a member in S1 who never objected)."""
    _rights._import(db, platform)
    s1 = tmp_path / "s1"
    manifest = _rights._build(platform, s1, S1_CUTOFF, db)
    with open_registry(db) as registry:
        LineageStore(registry).register_model("model-1", [s1])
        RightsDesk(registry, load_key()).record_objection_choices()
        member = _never_objected(registry, _rights._included_members(s1, platform))[0]
    return manifest["snapshot_id"], member


def test_a_switch_objection_gets_one_answered_request_and_its_model_queued(
    platform: Path, tmp_path: Path, registry_url: str
) -> None:
    s1_id, member = _s1_with_a_model(platform, tmp_path, registry_url)
    with open_registry(registry_url) as registry:
        event_id = _switch_off(registry, member)
        (event,) = [e for e in registry.history(member) if e.event_id == event_id]
        desk = RightsDesk(registry, load_key())
        swept = desk.record_objection_choices(batch=7)
        assert (swept.objections, swept.requests, swept.misspelt) == (1, 1, 0)
        assert (swept.models_queued, swept.snapshots, swept.warnings) == (1, (s1_id,), 0)
        (request,) = desk.requests(member_id=member)
        assert (request.kind, request.status, request.consent_event_id) == (
            "objection",
            "answered",
            event_id,
        )
        assert request.received_at == event.ts and request.answered_at is not None
        assert "member's choice (settings_page" in (request.answer or "")
        assert "every build whose cutoff is at or after" in (request.answer or "")
        (entry,) = [q for q in desk.affected_models() if q.request_id == request.request_id]
        assert (entry.model, entry.snapshots) == ("model-1", (s1_id,))
        assert entry.member_ref == load_key().member_ref(member)

        again = desk.record_objection_choices()
        assert (again.objections, again.requests, again.models_queued) == (0, 0, 0)
        assert again.through == swept.through
        assert len(desk.requests(member_id=member)) == 1
        report = verify_registry(registry)
        assert report.ok, report.problem


def test_objections_that_have_their_request_are_passed_over(
    platform: Path, tmp_path: Path, registry_url: str
) -> None:
    """The objection form's request (recorded with its event) and ``tamis rights object``'s are
    not recorded a second time by the sweep; nor is a non-member's objection recorded at all."""
    _, member = _s1_with_a_model(platform, tmp_path, registry_url)
    with open_registry(registry_url) as registry:
        desk = RightsDesk(registry, load_key())
        form_id = f"objection-{uuid.uuid4().hex}"
        registry.append(form_id, member, GENAI_TRAINING, False, datetime.now(UTC), "objection_form")
        (form_event,) = [e for e in registry.history(member) if e.event_id == form_id]
        form = desk.object_recorded(form_event, f"recorded through the form; receipt {form_id}")
        desk_made = desk.object(member)
        nonmember = NONMEMBER_PREFIX + "0" * 32
        _switch_off(registry, nonmember)

        swept = desk.record_objection_choices()
        assert (swept.objections, swept.requests, swept.models_queued) == (0, 0, 0)
        # nothing left to find: a sweep from the start reads, and finds nothing to write
        assert desk.record_objection_choices(batch=1).objections == 0
        assert sorted(r.request_id for r in desk.requests(member_id=member)) == sorted(
            [form.request.request_id, desk_made.request.request_id]
        )
        assert desk.requests(member_id=nonmember) == []
        # the form's request again (a retry after a sweep took its event): nothing recorded
        assert desk.object_recorded(form_event, "again").request == form.request
        assert len(desk.requests(member_id=member)) == 2


def test_an_objection_under_a_misspelt_setting_is_swept_as_an_objection(
    platform: Path, tmp_path: Path, registry_url: str
) -> None:
    """An import may hold ``GenAI-Training = false``: builds read it as a possible objection
    (the member is out as invalid), so the sweep makes it a request with its impact too, and
    says it was misspelt; no to another setting's name (``research``) is no objection to this
    one, and a misspelt allow is none either."""
    s1_id, member = _s1_with_a_model(platform, tmp_path, registry_url)
    with open_registry(registry_url) as registry:
        desk = RightsDesk(registry, load_key())
        desk.record_objection_choices()  # the platform's own imported objections
        registry.append("typo-1", member, "GenAI-Training", False, OBJECTION_AT, "import")
        registry.append("typo-2", member, "genai.training", True, OBJECTION_AT, "import")
        registry.append("other-1", member, "research", False, OBJECTION_AT, "import")
        swept = desk.record_objection_choices(batch=2)
        assert (swept.objections, swept.misspelt, swept.models_queued) == (1, 1, 1)
        assert swept.snapshots == (s1_id,)
        (request,) = desk.requests(member_id=member)
        assert request.consent_event_id == "typo-1"
        assert "a misspelt form of 'genai_training'" in (request.answer or "")
        research = RightsDesk(registry, load_key(), "research").record_objection_choices()
        assert (research.objections, research.misspelt) == (1, 0)
        assert desk.record_objection_choices().objections == 0


def test_an_objection_allowed_again_before_a_later_cutoff_affects_only_the_earlier_snapshot(
    platform: Path, tmp_path: Path, registry_url: str
) -> None:
    db = registry_url
    s1_id, _ = _s1_with_a_model(platform, tmp_path, db)
    with open_registry(db) as registry:
        member = _never_objected(registry, _rights._included_members(tmp_path / "s1", platform))[1]
        event_id = _switch_off(registry, member, OBJECTION_AT)
        registry.append(
            f"switch-{uuid.uuid4().hex}", member, GENAI_TRAINING, True, REALLOWED_AT, "api"
        )
    s2 = tmp_path / "s2"
    _rights._build(platform, s2, S2_CUTOFF, db)
    assert member in _rights._included_members(s2, platform)  # allowed again before S2's cutoff
    with open_registry(db) as registry:
        LineageStore(registry).register_model("model-2", [s2])
        desk = RightsDesk(registry, load_key())
        swept = desk.record_objection_choices(batch=3)
        assert swept.requests >= 1 and s1_id in swept.snapshots
        (request,) = desk.requests(member_id=member)
        assert request.consent_event_id == event_id
        queued = [q for q in desk.affected_models() if q.request_id == request.request_id]
        assert [(q.model, q.snapshots) for q in queued] == [("model-1", (s1_id,))]


@pytest.mark.postgres
def test_two_sweeps_at_once_record_one_request_per_objection(pg_url: str) -> None:
    """The service's sweeper and a ``tamis rights sweep`` run together: each takes the consent
    log's head before it selects, so they take turns and no event gets two requests."""
    members = [f"m{i:03d}" for i in range(120)]
    with open_registry(pg_url) as registry:
        events = {_switch_off(registry, m) for m in members}
    start = threading.Barrier(2)
    results: list[Any] = []
    errors: list[BaseException] = []

    def sweep() -> None:
        try:
            with open_registry(pg_url) as registry:
                desk = RightsDesk(registry, load_key())
                start.wait()
                results.append(desk.record_objection_choices(batch=4))
        except BaseException as exc:  # reported below, with the other thread's result
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sum(r.requests for r in results) == len(members)
    with open_registry(pg_url) as registry:
        with registry.reading("counting") as connection:
            r = rights_requests
            counts = connection.execute(
                sa.select(r.c.consent_event_id, sa.func.count()).group_by(r.c.consent_event_id)
            ).all()
        assert {event for event, _ in counts} == events
        assert {n for _, n in counts} == {1}
        report = verify_registry(registry)
        assert report.ok, report.problem


def test_a_sweep_holds_the_lock_it_is_given_around_its_writes_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The member service passes its writer's lock: held while a sweep writes, so that the two
    take turns, and never while it looks for events (a first sweep reads the whole log)."""
    held = threading.Lock()
    with open_registry(f"sqlite:///{tmp_path / 'r.db'}") as registry:
        for i in range(5):
            _switch_off(registry, f"m{i}")
        reads, writes = [], []
        real_reading, real_writing = registry.reading, registry.writing

        def reading(action: str) -> Any:
            reads.append(held.locked())
            return real_reading(action)

        def writing(action: str) -> Any:
            writes.append(held.locked())
            return real_writing(action)

        monkeypatch.setattr(registry, "reading", reading)
        monkeypatch.setattr(registry, "writing", writing)
        tallies = list(RightsDesk(registry, load_key()).sweep_objection_choices(2, lock=held))
    assert [t.requests for t in tallies] == [2, 2, 1]
    assert writes == [True, True, True] and reads and not any(reads)
