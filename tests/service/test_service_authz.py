"""Authorization matrix: anonymous / member / another member / DPO x every endpoint.

Member A (``m-alice``) has recorded an event before the matrix runs; "another member" is
``m-bruno``, who must get their own (empty) data from every member endpoint and never A's.
Every API endpoint of the OpenAPI document must appear here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tamis.service.identity import Principal
from tamis.service.security import CSRF_HEADER as CSRF
from tamis.service.security import SESSION_COOKIE

ROLES = ("anonymous", "member", "other", "dpo")

# (method, path, json body, expected status per role: anonymous, member, other member, DPO)
MATRIX: list[tuple[str, str, Any, tuple[int, int, int, int]]] = [
    ("GET", "/api/v1/health", None, (200, 200, 200, 200)),
    ("GET", "/api/v1/me", None, (401, 200, 200, 403)),
    ("GET", "/api/v1/me/setting", None, (401, 200, 200, 403)),
    ("PUT", "/api/v1/me/setting", {"value": False}, (401, 200, 200, 403)),
    ("GET", "/api/v1/me/history", None, (401, 200, 200, 403)),
    ("GET", "/api/v1/me/data-use", None, (401, 200, 200, 403)),
    ("POST", "/api/v1/objections", {"email": "z@z.example"}, (202, 201, 201, 202)),
    ("POST", "/api/v1/objections/verify", {"token": "forged"}, (400, 400, 400, 400)),
    ("GET", "/api/v1/dpo/stats", None, (401, 403, 403, 200)),
    ("GET", "/api/v1/dpo/export", None, (401, 403, 403, 200)),
    ("GET", "/api/v1/dpo/export?format=jsonl&as_of=2030-01-01T00:00:00Z", None,
     (401, 403, 403, 200)),
    ("POST", "/api/v1/session", {"member_id": "m-nobody"}, (401, 401, 401, 401)),
    ("DELETE", "/api/v1/session", None, (401, 204, 204, 403)),
    # pages: signed-out visitors are sent to the sign-in page
    ("GET", "/settings", None, (303, 200, 200, 303)),
    ("GET", "/data-use", None, (303, 200, 200, 303)),
    ("GET", "/notice", None, (200, 200, 200, 200)),
    ("GET", "/object", None, (200, 200, 200, 200)),
    ("GET", "/login", None, (200, 200, 200, 200)),
    ("GET", "/api/v1/openapi.json", None, (200, 200, 200, 200)),
]  # fmt: skip


@pytest.fixture
def clients(app: Any, helpers: Any) -> Iterator[dict[str, Any]]:
    """One client per role, and A's event id (recorded before the matrix)."""
    with TestClient(app, follow_redirects=False) as anonymous:
        member = TestClient(app, follow_redirects=False)
        other = TestClient(app, follow_redirects=False)
        dpo = TestClient(app, follow_redirects=False, headers=helpers.dpo)
        tokens = {
            "member": helpers.sign_in(member, "m-alice"),
            "other": helpers.sign_in(other, "m-bruno"),
        }
        for role, c in (("member", member), ("other", other)):
            c.headers["X-CSRF-Token"] = tokens[role]
        first = member.put("/api/v1/me/setting", json={"value": True}).json()["event_id"]
        yield {"anonymous": anonymous, "member": member, "other": other, "dpo": dpo,
               "a_event": first}  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "expected"), MATRIX,
                         ids=[f"{m} {p}" for m, p, _, _ in MATRIX])  # fmt: skip
def test_matrix(
    clients: dict[str, Any], method: str, path: str, body: Any, expected: tuple[int, ...]
) -> None:
    got = {}
    for role in ROLES:
        response = clients[role].request(method, path, json=body)
        got[role] = response.status_code
        if role == "other" and response.status_code == 200:
            assert clients["a_event"] not in response.text, f"{path} leaks A's data to B"
            if path != "/login":  # the demo sign-in lists sample members on purpose
                assert "m-alice" not in response.text, f"{path} leaks A's member id to B"
        if role == "member" and path.startswith("/settings") and response.status_code == 200:
            assert clients["a_event"] in response.text
    assert got == dict(zip(ROLES, expected, strict=True))


def test_matrix_covers_every_api_endpoint(app: Any) -> None:
    with TestClient(app) as client:
        spec = client.get("/api/v1/openapi.json").json()
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    tested = {(m, p.split("?")[0]) for m, p, _, _ in MATRIX}
    assert documented <= tested, f"untested endpoints: {sorted(documented - tested)}"


def test_member_never_writes_for_another(clients: dict[str, Any], db_url: str) -> None:
    from tamis.consent import open_registry

    clients["other"].put("/api/v1/me/setting", json={"value": False, "member_id": "m-alice"})
    clients["other"].put("/api/v1/me/setting?member_id=m-alice", json={"value": False})
    with open_registry(db_url) as registry:
        assert [e.event_id for e in registry.history("m-alice")] == [clients["a_event"]]


class _Gateway:
    """A platform deployment's provider: the platform's gateway names the member in a header."""

    name = "gateway"
    interactive = False

    def authenticate(self, request: Any) -> Principal | None:
        member = request.headers.get("x-platform-member")
        return Principal(member, "FR") if member else None

    def login(self, username: str) -> Principal | None:
        return None

    def member(self, member_id: str) -> Principal | None:
        return Principal(member_id, "FR")

    def find_by_email(self, email: str) -> Principal | None:
        return None


@pytest.mark.parametrize("fast_path", [True, False])
def test_a_platform_deployment_ignores_the_member_of_a_session_cookie(
    make_app: Callable[..., Any], helpers: Any, fast_path: bool
) -> None:
    """A cookie signed by a demo service (any member by id, no password) that shares the
    session secret must not speak for a member the platform did not authenticate."""
    with TestClient(make_app()) as demo:
        csrf = helpers.sign_in(demo, "m-alice")
        cookie = demo.cookies.get(SESSION_COOKIE)
    platform = make_app(fast_path=fast_path)
    platform.state.tamis.provider = _Gateway()  # the context the fast path holds too
    with TestClient(platform) as client:
        client.cookies.set(SESSION_COOKIE, cookie)
        refused = client.put("/api/v1/me/setting", json={"value": True}, headers={CSRF: csrf})
        assert refused.status_code == 401
        bruno = {"x-platform-member": "m-bruno"}
        assert client.get("/api/v1/me", headers=bruno).json()["member_id"] == "m-bruno"
        alice = {"x-platform-member": "m-alice"}
        assert client.get("/api/v1/me/history", headers=alice).json()["events"] == []
