"""Fuzzing the member service's request bodies (JSON API and HTML forms) through FastAPI's
TestClient: any body gets a 2xx/4xx answer, never a 5xx or an exception in the app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tamis_fuzz import budget, count

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from tamis.service import MemorySender, ServiceConfig, create_app

FUZZ = settings(
    max_examples=budget(),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)
SESSION_SECRET = "fuzz-" + "s" * 40
DPO_TOKEN = "dpo-" + "t" * 40

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = ["member_id", "value", "email", "token", "lang", "csrf_token"]
bodies = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), json_values, max_size=4).map(
        orjson.dumps
    ),
    json_values.map(orjson.dumps),
    st.binary(max_size=60),
)
JSON_ROUTES = [
    ("POST", "/api/v1/session"),
    ("PUT", "/api/v1/me/setting"),
    ("POST", "/api/v1/objections"),
    ("POST", "/api/v1/objections/verify"),
]
FORM_ROUTES = ["/login", "/settings", "/object", "/object/verify"]


@pytest.fixture(scope="module")
def clients(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, TestClient, str]]:
    root = tmp_path_factory.mktemp("fuzz-api")
    export = root / "export"
    export.mkdir()
    rows = [
        {"member_id": "m-alice", "country": "FR", "created_at": "2020-01-01T00:00:00Z",
         "email": "alice@example.org", "birth_date": "1990-01-01"},
        {"member_id": "m-carol", "country": "US", "created_at": "2020-01-01T00:00:00Z",
         "email": "carol@example.com", "birth_date": "1970-07-07"},
    ]  # fmt: skip
    (export / "members.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    config = ServiceConfig(
        db=f"sqlite:///{Path(root) / 'registry.db'}",
        export=export,
        session_secret=SESSION_SECRET,
        dpo_token=DPO_TOKEN,
        objection_burst=10**9,
        objection_per_hour=1e12,
    )
    app = create_app(config, sender=MemorySender())
    with TestClient(app) as anonymous, TestClient(app) as member:
        answer = member.post("/api/v1/session", json={"member_id": "m-alice"})
        assert answer.status_code == 200, answer.text
        yield anonymous, member, str(answer.json()["csrf_token"])


def _check(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if response.headers.get("content-type", "").startswith("application/json"):
        response.json()  # a JSON answer is JSON


@FUZZ
@given(st.sampled_from(JSON_ROUTES), bodies, st.booleans(), st.booleans())
def test_json_bodies(
    clients: tuple[TestClient, TestClient, str],
    route: tuple[str, str],
    body: bytes,
    signed_in: bool,
    with_csrf: bool,
) -> None:
    count("api.json")
    anonymous, member, csrf = clients
    client = member if signed_in else anonymous
    headers = {"content-type": "application/json"}
    if with_csrf:
        headers["x-csrf-token"] = csrf
    method, path = route
    _check(client.request(method, path, content=body, headers=headers))


@FUZZ
@given(
    st.sampled_from(FORM_ROUTES),
    st.dictionaries(
        st.sampled_from(FIELDS) | st.text(max_size=6), st.text(max_size=40), max_size=4
    ),
    st.booleans(),
    st.sampled_from(["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"]),
)
def test_form_bodies(
    clients: tuple[TestClient, TestClient, str],
    path: str,
    form: dict[str, str],
    signed_in: bool,
    content_type: str,
) -> None:
    count("api.forms")
    anonymous, member, _ = clients
    client = member if signed_in else anonymous
    if content_type == "application/x-www-form-urlencoded":
        response = client.post(path, data=form, follow_redirects=False)
    elif content_type == "multipart/form-data":
        response = client.post(
            path, files={k: (None, v) for k, v in form.items()}, follow_redirects=False
        )
    else:
        response = client.post(
            path,
            content=repr(form).encode(),
            headers={"content-type": content_type},
            follow_redirects=False,
        )
    _check(response)
