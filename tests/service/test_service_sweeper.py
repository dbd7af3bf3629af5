"""The service's objection sweeper: the settings switch turned off becomes an Art. 21 request with
its impact, in the background, without the switch's answer waiting for it; on SQLite and
PostgreSQL."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rights_testing import rights as _rights
from tamis.consent import open_registry
from tamis.consent.model import GENAI_TRAINING
from tamis.errors import RegistryError
from tamis.keys import load_key
from tamis.lineage.store import LineageStore
from tamis.rights import RightsDesk
from tamis.service import ServiceConfig, create_app

CSRF = "X-CSRF-Token"

platform = _rights.platform


def _eventually(what: str, check: Callable[[], Any], timeout_s: float = 30.0) -> Any:
    """``check()``'s first truthy answer, polled until ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout_s:g} s: {what}")
        time.sleep(0.05)


def _request_of(db: str, event_id: str) -> Any:
    with open_registry(db) as registry:
        requests = RightsDesk(registry, load_key()).requests()
    return next((r for r in requests if r.consent_event_id == event_id), None)


def test_the_switch_turned_off_queues_the_models_within_seconds(
    platform: Path, tmp_path: Path, db_url: str
) -> None:
    _rights._import(db_url, platform)
    s1 = tmp_path / "snapshots" / "s1"
    _rights._build(platform, s1, _rights.S1_CUTOFF, db_url)
    with open_registry(db_url) as registry:
        LineageStore(registry).register_model("switch-model", [s1])
        members = _rights._included_members(s1, platform)
        member = next(m for m in members if all(e.value for e in registry.history(m)))
    config = ServiceConfig(
        db=db_url, export=platform, snapshots=s1.parent, session_secret="x" * 40
    )  # the default interval (30 s): the switch itself wakes the sweeper
    with TestClient(create_app(config)) as client:
        csrf = client.post("/api/v1/session", json={"member_id": member}).json()["csrf_token"]
        answer = client.put("/api/v1/me/setting", json={"value": False}, headers={CSRF: csrf})
        assert answer.status_code == 200, answer.text
        event_id = answer.json()["event_id"]
        request = _eventually("the switch's request", lambda: _request_of(db_url, event_id))
        assert request.member_id == member and request.status == "answered"
        assert "member's choice (api" in (request.answer or "")
        with open_registry(db_url) as registry:
            queue = RightsDesk(registry, load_key()).affected_models()
        assert [q.model for q in queue if q.request_id == request.request_id] == ["switch-model"]
        # allowing again records no request; objecting again does, once
        client.put("/api/v1/me/setting", json={"value": True}, headers={CSRF: csrf})
        again = client.put("/api/v1/me/setting", json={"value": False}, headers={CSRF: csrf})
        _eventually("the second request", lambda: _request_of(db_url, again.json()["event_id"]))
    with open_registry(db_url) as registry:
        assert len(RightsDesk(registry, load_key()).requests(member_id=member)) == 2


def test_the_switch_does_not_wait_for_a_sweep(
    make_app: Callable[..., Any], helpers: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sweep held up (a slow registry, a long backlog) holds up no answer of the switch."""
    started, release = threading.Event(), threading.Event()
    real = RightsDesk.sweep_objection_choices

    def held(desk: RightsDesk, *args: Any, **kwargs: Any) -> Iterator[Any]:
        started.set()
        release.wait(60)
        yield from real(desk, *args, **kwargs)

    monkeypatch.setattr(RightsDesk, "sweep_objection_choices", held)
    try:
        with TestClient(make_app()) as client:
            assert started.wait(30)  # the sweep at start-up is held
            token = helpers.sign_in(client, "m-alice")
            began = time.monotonic()
            for value in (False, True, False):
                answer = client.put(
                    "/api/v1/me/setting", json={"value": value}, headers={CSRF: token}
                )
                assert answer.status_code == 200, answer.text
            assert time.monotonic() - began < 10
            assert not release.is_set()
            release.set()
    finally:
        release.set()


def test_a_failed_sweep_is_logged_and_the_next_one_records_the_objection(
    make_app: Callable[..., Any],
    helpers: Any,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    real = RightsDesk.sweep_objection_choices
    failures = iter([RegistryError("the registry is busy")])

    def fails_once(desk: RightsDesk, *args: Any, **kwargs: Any) -> Iterator[Any]:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        yield from real(desk, *args, **kwargs)

    monkeypatch.setattr(RightsDesk, "sweep_objection_choices", fails_once)
    with (
        caplog.at_level(logging.WARNING, logger="tamis.service.sweeper"),
        TestClient(make_app()) as client,
    ):
        _eventually("the failure logged", lambda: "registry is busy" in caplog.text)
        token = helpers.sign_in(client, "m-bruno")
        answer = client.put("/api/v1/me/setting", json={"value": False}, headers={CSRF: token})
        event_id = answer.json()["event_id"]
        request = _eventually("the objection's request", lambda: _request_of(db_url, event_id))
        assert request.member_id == "m-bruno"
    assert "sweeping objection choices into requests failed" in caplog.text


def test_objections_recorded_beside_the_service_are_swept_on_its_interval(
    make_app: Callable[..., Any], db_url: str
) -> None:
    """``tamis consent import`` or ``consent set --object`` next to the service: no switch wakes
    the sweeper, its interval does."""
    with TestClient(make_app(sweep_interval_s=0.2)):
        event_id = f"imported-{uuid.uuid4().hex}"
        with open_registry(db_url) as registry:
            registry.append(event_id, "m-carol", GENAI_TRAINING, False, datetime.now(UTC), "import")
        request = _eventually(
            "the imported objection's request", lambda: _request_of(db_url, event_id)
        )
        assert request.member_id == "m-carol" and request.status == "answered"
