"""The fast path of ``PUT /api/v1/me/setting`` answers exactly as the FastAPI route does.

Every request below goes to two services on the same registry, one with the fast path and one
without; their answers must match (status, body with the new event's id and instant set aside,
content type, security headers). The fast path must answer the hot shape itself and hand every
other request to the application.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from tamis.consent import open_registry
from tamis.service.app import SECURITY_HEADERS, ServiceApp
from tamis.service.identity import DemoIdentityProvider, Principal

CSRF = "X-CSRF-Token"
PATH = "/api/v1/me/setting"
GOOD = "good"  # placeholder for the session's real CSRF token
DPO = "dpo"  # placeholder for the DPO's bearer token
JSON = {"Content-Type": "application/json"}


class Counting:
    """Wraps the fast path's fallback (the whole application) to count what it hands on."""

    def __init__(self, app: ServiceApp) -> None:
        assert app.fast_path is not None
        self.fallback = app.fast_path.app
        self.handed_on = 0
        app.fast_path.app = self

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.handed_on += 1
        await self.fallback(scope, receive, send)


@pytest.fixture
def clients(make_app: Callable[..., Any]) -> Iterator[tuple[TestClient, TestClient, Counting]]:
    fast, plain = make_app(), make_app(fast_path=False)
    assert isinstance(fast, ServiceApp) and fast.fast_path is not None
    assert plain.fast_path is None
    counting = Counting(fast)
    with TestClient(fast) as a, TestClient(plain) as b:
        yield a, b, counting


def _signed_in(client: TestClient, member: str) -> str:
    response = client.post("/api/v1/session", json={"member_id": member})
    assert response.status_code == 200
    return str(response.json()["csrf_token"])


def _shape(response: Any) -> tuple[int, Any, str | None, list[str]]:
    """What must match: status, body (the new event's id, receipt and instant set aside),
    content type, and which security headers are there."""
    try:
        body: Any = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = response.text
    if isinstance(body, dict) and "event_id" in body:
        body = {k: v for k, v in body.items() if k not in ("event_id", "receipt", "ts")}
    security = [name.decode() for name, _ in SECURITY_HEADERS if name.decode() in response.headers]
    return response.status_code, body, response.headers.get("content-type"), security


# (what the request is, cookie: "session" / "none" / "tampered", headers, body, answered by the
# fast path itself)
CASES: list[tuple[str, str, dict[str, str], bytes, bool]] = [
    ("object", "session", {CSRF: GOOD, **JSON}, b'{"value": false}', True),
    ("allow, compact JSON", "session", {CSRF: GOOD, **JSON}, b'{"value":true}', True),
    ("charset in the content type", "session",
     {CSRF: GOOD, "Content-Type": "application/json; charset=utf-8"}, b'{"value": false}', True),
    ("no session", "none", {CSRF: GOOD, **JSON}, b'{"value": false}', False),
    ("tampered cookie", "tampered", {CSRF: GOOD, **JSON}, b'{"value": false}', False),
    ("no CSRF header", "session", JSON, b'{"value": false}', False),
    ("wrong CSRF token", "session", {CSRF: "nope", **JSON}, b'{"value": false}', False),
    ("a string for a boolean", "session", {CSRF: GOOD, **JSON}, b'{"value": "false"}', False),
    ("a number for a boolean", "session", {CSRF: GOOD, **JSON}, b'{"value": 0}', False),
    ("null", "session", {CSRF: GOOD, **JSON}, b'{"value": null}', False),
    ("an extra field", "session", {CSRF: GOOD, **JSON}, b'{"value": false, "x": 1}', False),
    ("no field", "session", {CSRF: GOOD, **JSON}, b"{}", False),
    ("a list", "session", {CSRF: GOOD, **JSON}, b"[false]", False),
    ("not JSON", "session", {CSRF: GOOD, **JSON}, b'{"value": fal', False),
    ("the field twice", "session", {CSRF: GOOD, **JSON}, b'{"value": false, "value": true}', False),
    ("the field twice, escaped", "session", {CSRF: GOOD, **JSON},
     b'{"value": true, "\\u0076alue": false}', False),
    ("NaN", "session", {CSRF: GOOD, **JSON}, b'{"value": NaN}', False),
    ("no body", "session", {CSRF: GOOD, **JSON}, b"", False),
    ("form encoded", "session", {CSRF: GOOD, "Content-Type": "application/x-www-form-urlencoded"},
     b"value=false", False),
    ("no content type", "session", {CSRF: GOOD}, b'{"value": false}', False),
    ("padded past the longest valid body", "session", {CSRF: GOOD, **JSON},
     b'{"value":' + b" " * 80 + b"false}", False),
    ("the DPO token, no session", "none",
     {"Authorization": DPO, **JSON}, b'{"value": false}', False),
    ("the DPO token and a session", "session",
     {CSRF: GOOD, "Authorization": DPO, **JSON}, b'{"value": false}', True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("cookie", "headers", "body", "hot"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_the_fast_path_answers_as_the_route(
    clients: tuple[TestClient, TestClient, Counting],
    helpers: Any,
    db_url: str,
    cookie: str,
    headers: dict[str, str],
    body: bytes,
    hot: bool,
) -> None:
    fast, plain, counting = clients
    answers = []
    for client in (fast, plain):
        token = _signed_in(client, "m-alice")
        session = client.cookies["tamis_session"]
        client.cookies.clear()  # the cookie goes as a header, as the case says
        sent = {
            k: {GOOD: token, DPO: helpers.dpo["Authorization"]}.get(v, v)
            for k, v in headers.items()
        }
        if cookie == "session":
            sent["Cookie"] = f"tamis_session={session}"
        elif cookie == "tampered":
            sent["Cookie"] = f"tamis_session={session[:-2]}{'A' if session[-2] != 'A' else 'B'}"
        answers.append(client.put(PATH, content=body, headers=sent))
    assert _shape(answers[0]) == _shape(answers[1])
    assert counting.handed_on == (0 if hot else 1)
    if answers[0].status_code == 200:
        events = {a.json()["event_id"] for a in answers}
        with open_registry(db_url) as registry:
            stored = {e.event_id: e for e in registry.history("m-alice")}
        assert events <= set(stored)  # both committed before they answered
        assert {stored[e].channel for e in events} == {"api"}


def test_a_member_the_provider_no_longer_knows_is_handed_on(make_app: Callable[..., Any]) -> None:
    class Forgetful(DemoIdentityProvider):
        """Signs members in, then no longer knows them (removed from the platform)."""

        forget = False

        def member(self, member_id: str) -> Principal | None:
            return None if self.forget else super().member(member_id)

    provider = Forgetful({"m-x": Principal("m-x", "FR", "X")})
    for fast_path in (True, False):
        app = make_app(fast_path=fast_path)
        app.state.tamis.provider = provider  # the context the fast path holds too
        provider.forget = False
        with TestClient(app) as client:
            token = _signed_in(client, "m-x")
            provider.forget = True
            answer = client.put(PATH, json={"value": False}, headers={CSRF: token})
        assert answer.status_code == 401, fast_path


def test_the_fast_path_reports_a_registry_failure_as_the_app_does(
    make_app: Callable[..., Any],
) -> None:
    answers = []
    for fast_path in (True, False):
        with TestClient(make_app(fast_path=fast_path)) as client:
            token = _signed_in(client, "m-alice")
            client.app.state.tamis.service.writer.close()  # type: ignore[attr-defined]
            answers.append(client.put(PATH, json={"value": False}, headers={CSRF: token}))
    assert [a.status_code for a in answers] == [503, 503]
    assert answers[0].json() == answers[1].json() == {"detail": "the consent writer is not running"}
