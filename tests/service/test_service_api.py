"""The member service through its REST API and pages, on SQLite and on PostgreSQL."""

from __future__ import annotations

import html
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tamis.consent import open_registry
from tamis.keys import KEY_ENV, RETIRED_KEYS_ENV, PseudonymKey
from tamis.service.i18n import negotiate
from tamis.service.pages import safe_next
from tamis.service.security import Session, SessionCodec, TokenBucketLimiter

CSRF = "X-CSRF-Token"


def _csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field in the page"
    return match.group(1)


def test_setting_default_then_objection_is_recorded_and_in_history(
    client: TestClient, helpers: Any, db_url: str
) -> None:
    token = helpers.sign_in(client, "m-alice")
    setting = client.get("/api/v1/me/setting").json()
    assert setting["value"] is True and setting["source"] == "default"
    assert setting["jurisdiction"]["name"] == "eu-eea-ch-uk-ca-hk"

    response = client.put("/api/v1/me/setting", json={"value": False}, headers={CSRF: token})
    assert response.status_code == 200
    event = response.json()
    assert event["value"] is False and event["channel"] == "api"

    # Acknowledged means committed: a separate connection sees it at once.
    with open_registry(db_url) as registry:
        stored = registry.history("m-alice")
    assert [e.event_id for e in stored] == [event["event_id"]]

    setting = client.get("/api/v1/me/setting").json()
    assert setting["value"] is False and setting["source"] == "choice"
    assert setting["decided_by"]["event_id"] == event["event_id"]
    history = client.get("/api/v1/me/history").json()["events"]
    assert [e["event_id"] for e in history] == [event["event_id"]]


def test_writes_need_the_csrf_token(client: TestClient, helpers: Any) -> None:
    helpers.sign_in(client, "m-alice")
    assert client.put("/api/v1/me/setting", json={"value": False}).status_code == 403
    bad = client.put("/api/v1/me/setting", json={"value": False}, headers={CSRF: "nope"})
    assert bad.status_code == 403
    assert client.get("/api/v1/me/history").json()["events"] == []


@pytest.mark.parametrize(
    "body",
    [
        b'{"value": false, "value": true}',
        b'{"value": true, "\\u0076alue": false}',
        b'{"value": NaN}',
    ],
    ids=["twice", "twice, escaped", "NaN"],
)
def test_an_ambiguous_body_is_refused_and_nothing_recorded(
    client: TestClient, helpers: Any, db_url: str, body: bytes
) -> None:
    token = helpers.sign_in(client, "m-alice")
    json_body = {"Content-Type": "application/json", CSRF: token}
    answer = client.put("/api/v1/me/setting", content=body, headers=json_body)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["type"] == "json_invalid"
    # every route of the API reads strict JSON, not only the one the fast path shadows
    twice = b'{"email": "a@example.org", "email": null}'
    objection = client.post("/api/v1/objections", content=twice, headers=json_body)
    assert objection.status_code == 422
    assert objection.json()["detail"][0]["type"] == "json_invalid"
    with open_registry(db_url) as registry:
        assert registry.history("m-alice") == []


def test_a_tampered_session_cookie_is_anonymous(client: TestClient, helpers: Any) -> None:
    helpers.sign_in(client, "m-alice")
    cookie = client.cookies.get("tamis_session")
    assert cookie
    forged = SessionCodec("another-secret-" + "x" * 32, 3600).dumps(
        Session("sid", "csrf", "m-bruno")
    )
    client.cookies.clear()
    client.cookies.set("tamis_session", forged)
    assert client.get("/api/v1/me").status_code == 401
    client.cookies.clear()
    client.cookies.set("tamis_session", cookie[:-2] + ("AA" if cookie[-2:] != "AA" else "BB"))
    assert client.get("/api/v1/me").status_code == 401


def test_session_cookie_flags(client: TestClient) -> None:
    response = client.post("/api/v1/session", json={"member_id": "m-alice"})
    header = response.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=lax" in header
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors" in response.headers["content-security-policy"]


def test_unknown_country_is_not_covered(client: TestClient, helpers: Any) -> None:
    helpers.sign_in(client, "m-nowhere")
    setting = client.get("/api/v1/me/setting").json()
    assert setting["source"] == "not_covered" and setting["value"] is False


def test_data_use_lists_the_snapshots_that_include_the_member(
    client: TestClient, helpers: Any
) -> None:
    helpers.sign_in(client, "m-carol")
    use = client.get("/api/v1/me/data-use").json()
    assert use["snapshots_checked"] == 2
    assert [s["snapshot_id"] for s in use["snapshots"]] == ["snap-2025-12", "snap-2026-01"]
    assert use["snapshots"][0]["categories"] == [{"category": "user.content.post", "records": 1}]
    helpers.sign_in(client, "m-bruno")
    assert client.get("/api/v1/me/data-use").json()["snapshots"] == []


def test_data_use_page_and_requests(client: TestClient, helpers: Any) -> None:
    token = helpers.sign_in(client, "m-alice")
    client.put("/api/v1/me/setting", json={"value": False}, headers={CSRF: token})
    client.put("/api/v1/me/setting", json={"value": True}, headers={CSRF: token})
    requests = client.get("/api/v1/me/data-use").json()["requests"]
    assert [r["state"] for r in requests] == ["in_effect", "superseded"]
    page = client.get("/data-use", headers={"Accept-Language": "en"})
    assert "snap-2025-12" in page.text and "Your posts: 3" in page.text


def test_member_objection_through_the_api_gets_a_receipt(
    client: TestClient, helpers: Any, db_url: str
) -> None:
    token = helpers.sign_in(client, "m-bruno")
    response = client.post("/api/v1/objections", json={}, headers={CSRF: token})
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "recorded" and body["receipt"]
    with open_registry(db_url) as registry:
        (event,) = registry.history("m-bruno")
    assert event.channel == "objection_form" and event.value is False
    assert event.event_id == body["receipt"]


def test_non_member_objection_by_verified_email(
    client: TestClient, sender: Any, db_url: str
) -> None:
    response = client.post("/api/v1/objections", json={"email": "Someone@Elsewhere.example"})
    assert response.status_code == 202
    sent = sender.last_for("someone@elsewhere.example")
    assert sent is not None and "/object/verify?token=" in sent.link
    token = sent.link.split("token=", 1)[1]
    # Nothing is recorded before the link is followed.
    with open_registry(db_url) as registry:
        assert registry.stats().events == 0
    first = client.post("/api/v1/objections/verify", json={"token": token})
    assert first.status_code == 201
    again = client.post("/api/v1/objections/verify", json={"token": token})
    assert again.status_code == 200 and again.json()["receipt"] == first.json()["receipt"]
    with open_registry(db_url) as registry:
        stats = registry.stats()
        assert stats.events == 1
    subject = first.json()["event"]
    assert subject["channel"] == "objection_form" and subject["value"] is False
    forged = client.post("/api/v1/objections/verify", json={"token": token + "x"})
    assert forged.status_code == 400


def test_verified_email_of_a_member_objects_for_that_member(
    client: TestClient, sender: Any, db_url: str
) -> None:
    client.post("/api/v1/objections", json={"email": "carol@example.com"})
    token = sender.last_for("carol@example.com").link.split("token=", 1)[1]
    assert client.post("/api/v1/objections/verify", json={"token": token}).status_code == 201
    with open_registry(db_url) as registry:
        (event,) = registry.history("m-carol")
    assert event.value is False


def test_a_verification_link_used_after_allowing_again_objects_again(
    client: TestClient, sender: Any, helpers: Any
) -> None:
    client.post("/api/v1/objections", json={"email": "alice@example.org"})
    token = sender.last_for("alice@example.org").link.split("token=", 1)[1]
    first = client.post("/api/v1/objections/verify", json={"token": token})
    assert first.status_code == 201
    csrf = helpers.sign_in(client, "m-alice")
    assert client.put("/api/v1/me/setting", json={"value": True}, headers={CSRF: csrf}).json()[
        "value"
    ]
    # the person objects again with the same link: recorded anew, not the old receipt
    again = client.post("/api/v1/objections/verify", json={"token": token})
    assert again.status_code == 201 and again.json()["receipt"] != first.json()["receipt"]
    assert client.get("/api/v1/me/setting").json()["value"] is False
    # while that objection decides, the link is a no-op again
    third = client.post("/api/v1/objections/verify", json={"token": token})
    assert third.status_code == 200 and third.json()["receipt"] == again.json()["receipt"]


def test_non_member_subject_is_a_pseudonym(client: TestClient, sender: Any, db_url: str) -> None:
    client.post("/api/v1/objections", json={"email": "x@y.example"})
    token = sender.last_for("x@y.example").link.split("token=", 1)[1]
    client.post("/api/v1/objections/verify", json={"token": token})
    with open_registry(db_url) as registry:
        table = registry.bulk_state("2999-01-01T00:00:00Z")
    (member_id,) = table.column("member_id").to_pylist()
    assert member_id.startswith("nonmember:") and "y.example" not in member_id


def test_objection_form_is_rate_limited(make_app: Any) -> None:
    with TestClient(make_app(objection_burst=2, objection_per_hour=1)) as client:
        codes = [
            client.post("/api/v1/objections", json={"email": f"p{i}@x.example"}).status_code
            for i in range(4)
        ]
        assert codes == [202, 202, 429, 429]
        page = client.get("/object")
        blocked = client.post(
            "/object", data={"csrf_token": _csrf_from(page.text), "email": "q@x.example"}
        )
        assert blocked.status_code == 429 and "Retry-After" in blocked.headers


def test_settings_form_one_click_objection(client: TestClient, db_url: str) -> None:
    client.headers["Accept-Language"] = "fr-FR,fr;q=0.9,en;q=0.5"  # as a browser sends it
    login = client.get("/login?next=/settings")
    assert "Connexion (démo)" in login.text
    response = client.post(
        "/login",
        data={"csrf_token": _csrf_from(login.text), "member_id": "m-alice", "next": "/settings"},
    )
    assert response.status_code == 200 and response.url.path == "/settings"
    page = html.unescape(response.text)
    assert "Activé" in page and "valeur par défaut de votre région" in page
    done = client.post("/settings", data={"csrf_token": _csrf_from(page), "value": "false"})
    assert done.status_code == 200 and "recorded=" in str(done.url)
    assert "vous vous opposez" in html.unescape(done.text) and "Désactivé" in done.text
    with open_registry(db_url) as registry:
        (event,) = registry.history("m-alice")
    assert event.channel == "settings_page" and event.value is False
    assert event.event_id in done.text


def test_forms_without_csrf_token_are_refused(client: TestClient, db_url: str) -> None:
    login = client.get("/login")
    client.post("/login", data={"csrf_token": _csrf_from(login.text), "member_id": "m-alice"})
    response = client.post("/settings", data={"value": "false"})
    assert response.status_code == 403
    with open_registry(db_url) as registry:
        assert registry.history("m-alice") == []


def test_login_rotates_the_csrf_token(client: TestClient) -> None:
    before = _csrf_from(client.get("/login").text)
    client.post("/login", data={"csrf_token": before, "member_id": "m-alice"})
    after = _csrf_from(client.get("/settings").text)
    assert before != after


def test_notice_renders_policy_in_both_languages(client: TestClient) -> None:
    en = client.get("/notice", headers={"Accept-Language": "en"}).text
    assert "Information notice" in en and "46 days" in en and "Private messages" in en
    fr = html.unescape(client.get("/notice?lang=fr").text)
    assert "Note d'information" in fr and "46 jours" in fr and "Messages privés" in fr
    # The switch is remembered in the session.
    assert "Note d'information" in html.unescape(client.get("/notice").text)


def test_concurrent_writes_are_all_committed(
    client: TestClient, helpers: Any, db_url: str, app: Any
) -> None:
    token = helpers.sign_in(client, "m-alice")

    def toggle(i: int) -> str:
        r = client.put("/api/v1/me/setting", json={"value": bool(i % 2)}, headers={CSRF: token})
        assert r.status_code == 200
        return str(r.json()["event_id"])

    with ThreadPoolExecutor(16) as pool:
        acked = set(pool.map(toggle, range(200)))
    with open_registry(db_url) as registry:
        stored = {e.event_id for e in registry.history("m-alice")}
    assert acked <= stored and len(acked) == 200
    assert app.state.tamis.service.writer.stats.committed == 200


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("fr", "fr"),
        ("fr-CA,en;q=0.5", "fr"),
        ("en-GB,fr;q=0.9", "en"),
        ("de,fr;q=0.3", "fr"),
        ("de", "en"),
        ("fr;q=0,en;q=0.1", "en"),
    ],
)
def test_accept_language(header: str | None, expected: str) -> None:
    assert negotiate(None, None, header) == expected


def test_language_switch_beats_header() -> None:
    assert negotiate("fr", None, "en") == "fr"
    assert negotiate(None, "fr", "en") == "fr"
    assert negotiate("xx", None, "en") == "en"


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/data-use", "/data-use"), ("//evil.example", "/settings"),
     ("https://evil.example", "/settings"), (None, "/settings"), ("/\\evil", "/settings")],
)  # fmt: skip
def test_next_is_local_only(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def test_token_bucket() -> None:
    limiter = TokenBucketLimiter(2, 1.0)
    assert limiter.allow("a", now=0.0)[0] and limiter.allow("a", now=0.0)[0]
    allowed, wait = limiter.allow("a", now=0.0)
    assert not allowed and wait == pytest.approx(1.0)
    assert limiter.allow("b", now=0.0)[0]  # per client
    assert limiter.allow("a", now=1.0)[0]  # refilled


def test_dpo_stats_and_exports(client: TestClient, helpers: Any) -> None:
    token = helpers.sign_in(client, "m-alice")
    event = client.put("/api/v1/me/setting", json={"value": False}, headers={CSRF: token}).json()
    client.cookies.clear()  # the DPO is not a member
    stats = client.get("/api/v1/dpo/stats", headers=helpers.dpo).json()
    assert stats["events"] == 1 and stats["counts"][0]["channel"] == "api"
    csv_text = client.get("/api/v1/dpo/export", headers=helpers.dpo).text
    assert csv_text.splitlines() == [
        "member_id,value,event_id,ts",
        f"m-alice,false,{event['event_id']},{event['ts']}",
    ]
    lines = client.get("/api/v1/dpo/export?format=jsonl", headers=helpers.dpo).text.splitlines()
    assert len(lines) == 1 and event["event_id"] in lines[0]
    past = client.get("/api/v1/dpo/export?as_of=2000-01-01T00:00:00Z", headers=helpers.dpo)
    assert past.text == "member_id,value,event_id,ts\n"
    bad = client.get("/api/v1/dpo/export?as_of=2000-01-01T00:00:00", headers=helpers.dpo)
    assert bad.status_code == 422


def test_dpo_export_says_503_when_the_registry_cannot_be_read(
    client: TestClient, helpers: Any
) -> None:
    # the query runs before the answer starts: not a 200 whose body stops after the header
    engine = client.app.state.tamis.service.registry._engine  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE consent_events RENAME TO consent_events_gone")
    try:
        for fmt in ("csv", "jsonl"):
            answer = client.get(f"/api/v1/dpo/export?format={fmt}", headers=helpers.dpo)
            assert answer.status_code == 503, (fmt, answer.text)
            assert "computing consent state failed" in answer.json()["detail"]
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE consent_events_gone RENAME TO consent_events")


def test_data_use_marks_the_deciding_event_in_effect(client: TestClient, helpers: Any) -> None:
    # two choices at the same instant: the objection decides (spec: it wins the tie), whatever
    # the order the events were recorded in
    registry = client.app.state.tamis.service.registry  # type: ignore[attr-defined]
    at = "2025-01-01T00:00:00Z"
    registry.append("zz-objection", "m-alice", "genai_training", False, at, "api")
    registry.append("aa-allow", "m-alice", "genai_training", True, at, "api")
    helpers.sign_in(client, "m-alice")
    requests = client.get("/api/v1/me/data-use").json()["requests"]
    states = {r["event_id"]: r["state"] for r in requests}
    assert states == {"zz-objection": "in_effect", "aa-allow": "superseded"}
    assert client.get("/api/v1/me/setting").json()["value"] is False


def test_a_choice_must_be_a_json_boolean(client: TestClient, helpers: Any) -> None:
    token = helpers.sign_in(client, "m-alice")
    for loose in ("yes", "on", "f", 1, 0, 1.0, None):  # lax parsing read these as choices
        answer = client.put("/api/v1/me/setting", json={"value": loose}, headers={CSRF: token})
        assert answer.status_code == 422, loose
    assert client.get("/api/v1/me/history").json()["events"] == []


def test_data_use_searches_each_snapshot_under_the_key_it_was_built_with(
    make_app: Any, snapshots_dir: Path, helpers: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a key rotation, the data-use API lists the snapshots built under the retired key;
    one built with a key the ring no longer holds, or that cannot be read, is counted as
    unverifiable, not as checked."""
    old, new, gone = (PseudonymKey(bytes([n]) * 32, f"key {n}") for n in (1, 2, 3))
    for folder in snapshots_dir.iterdir():
        shutil.rmtree(folder)
    post = "user.content.post"
    for name, cutoff, key, records in (
        ("old", "2025-10-01T00:00:00Z", old, 2),
        ("new", "2025-12-01T00:00:00Z", new, 1),
        ("gone", "2025-11-01T00:00:00Z", gone, 5),
    ):
        helpers.write_snapshot(snapshots_dir, name, cutoff, [("m-alice", post, records)], key)
    (snapshots_dir / "torn").mkdir()
    (snapshots_dir / "torn" / "manifest.json").write_text("{not json")
    monkeypatch.setenv(KEY_ENV, new.secret.hex())
    monkeypatch.setenv(RETIRED_KEYS_ENV, old.secret.hex())
    app = make_app()
    with TestClient(app) as client:
        helpers.sign_in(client, "m-alice")
        use = client.get("/api/v1/me/data-use").json()
        assert [s["snapshot_id"] for s in use["snapshots"]] == ["snap-old", "snap-new"]
        assert [s["records"] for s in use["snapshots"]] == [2, 1]
        assert use["snapshots_checked"] == 2 and use["member_ref"] == new.member_ref("m-alice")
        assert use["snapshots_unverifiable"] == 2  # "gone" (key not held) and "torn"
        page = client.get("/data-use", headers={"Accept-Language": "en"}).text
        assert "2 snapshot(s) could not be checked for your data" in page
        helpers.sign_in(client, "m-bruno")
        assert client.get("/api/v1/me/data-use").json()["snapshots"] == []
        found = app.state.tamis.service.data_use("m-alice")
        assert (found.snapshots_checked, found.snapshots_unverifiable) == (2, 2)
        assert found.as_dict()["snapshots_unverifiable"] == 2
