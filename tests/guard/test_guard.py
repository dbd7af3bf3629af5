"""The output guard: no member e-mail, phone or full name passes; false positives reported."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tamis.errors import TamisError
from tamis.guard import Guard
from tamis.pii import MemberDirectory

sys.path.insert(0, str(Path(__file__).parent))
from guard_data import clean_generations, member_generations, members

PEOPLE = members(2000)


@pytest.fixture(scope="module")
def guard() -> Guard:
    directory = MemberDirectory(
        [p["first_name"] for p in PEOPLE],
        [p["last_name"] for p in PEOPLE],
        [p["email"] for p in PEOPLE],
        [p["phone"] for p in PEOPLE],
    )
    g = Guard(directory)
    g.warm()
    return g


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def test_no_member_data_passes_in_10k_generations(guard: Guard) -> None:
    gens = member_generations(PEOPLE, 10_000)
    results = guard.check_many([g["text"] for g in gens], "redact")
    leaks = []
    for g, r in zip(gens, results, strict=True):
        assert r.action == "redact"
        out = r.text.lower()
        tpl = g["_tpl"]
        if "{email}" in tpl and g["email"].lower() in out:
            leaks.append(("email", g["text"]))
        if "{phone}" in tpl and _digits(g["phone"])[-8:] in _digits(r.text):
            leaks.append(("phone", g["text"]))
        if "{name}" in tpl and g["name"].lower() in out:
            leaks.append(("name", g["text"]))
        assert all(f.member for f in r.findings if f.type in ("EMAIL_ADDRESS", "PERSON"))
    assert leaks == []
    blocked = guard.check_many([g["text"] for g in gens[:200]], "block")
    assert all(r.action == "block" and r.text == "" for r in blocked)


def test_false_positives_on_generations_without_member_data(guard: Guard) -> None:
    gens = clean_generations(10_000)
    flagged = sum(1 for r in guard.check_many(gens) if r.action != "allow")
    rate = flagged / len(gens)
    print(f"guard false-positive rate on 10^4 clean generations: {rate:.4%}")
    assert rate < 0.01


def test_findings_are_offsets_not_text(guard: Guard) -> None:
    p = PEOPLE[0]
    text = f"Write to {p['email']} now"
    result = guard.check(text)
    (finding,) = result.findings
    assert text[finding.start : finding.end] == p["email"]
    assert finding.to_dict() == {
        "type": "EMAIL_ADDRESS",
        "start": finding.start,
        "end": finding.end,
        "detector": "email.v1",
        "member": True,
    }
    assert result.text == "Write to <EMAIL> now"


def test_member_scope_lets_non_member_contacts_through() -> None:
    directory = MemberDirectory(["Jeanne"], ["Martin"], ["jeanne@ex.com"], ["0612345678"])
    any_scope = Guard(directory)
    member_scope = Guard(directory, scope="member")
    text = "ask bob@other.org or jeanne@ex.com"
    assert len(any_scope.check(text).findings) == 2
    assert [f.member for f in member_scope.check(text).findings] == [True]
    assert Guard(directory).check("Jeanne was here.").action == "allow"  # lone first name


def test_a_members_phone_in_another_spelling_is_the_members() -> None:
    directory = MemberDirectory(["Jeanne"], ["Martin"], [], ["06 12 34 56 78"])
    member_scope = Guard(directory, scope="member")
    text = "Call +33 6 12 34 56 78 or 01 98 76 54 32 tonight."
    result = member_scope.check(text)
    assert [(f.type, f.member) for f in result.findings] == [("PHONE_NUMBER", True)]
    assert result.text == "Call <PHONE> or 01 98 76 54 32 tonight."
    assert [f.member for f in Guard(directory).check(text).findings] == [True, False]


def test_a_members_phone_with_an_extension_and_a_tagged_address_are_the_members() -> None:
    # the extension digits pushed the number out of the lookup key; a "+tag" address made of
    # the member's full name is theirs, and is redacted whole (not "<PERSON>+ia@...")
    directory = MemberDirectory(["Jeanne"], ["Martin"], ["jeanne@ex.com"], ["06 12 34 56 78"])
    member_scope = Guard(directory, scope="member")
    phone = member_scope.check("Appelez-la au 06 12 34 56 78 poste 4")
    assert phone.action == "redact" and phone.text == "Appelez-la au <PHONE>"
    for guard in (member_scope, Guard(directory)):
        tagged = guard.check("écrire à jeanne.martin+ia@gmail.com")
        assert tagged.text == "écrire à <EMAIL>"
        assert [(f.type, f.member) for f in tagged.findings] == [("EMAIL_ADDRESS", True)]


def test_bad_mode_and_scope() -> None:
    with pytest.raises(TamisError, match="available"):
        Guard(scope="everyone")  # type: ignore[arg-type]
    with pytest.raises(TamisError, match="available"):
        Guard().check("x", mode="shout")  # type: ignore[arg-type]


def test_http_route() -> None:
    fastapi = pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from tamis.guard.api import router

    app = fastapi.FastAPI()
    app.include_router(router)
    client = TestClient(app)
    assert client.post("/api/v1/guard/check", json={"text": "x"}).status_code == 503
    app.state.guard = Guard(MemberDirectory(["Jeanne"], ["Martin"], ["jeanne@ex.com"], []))
    r = client.post(
        "/api/v1/guard/check", json={"text": "Jeanne Martin: jeanne@ex.com", "mode": "redact"}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["action"] == "redact"
    assert body["text"] == "<PERSON>: <EMAIL>"
    assert [f["type"] for f in body["findings"]] == ["PERSON", "EMAIL_ADDRESS"]
    r = client.post("/api/v1/guard/check", json={"text": "Jeanne Martin", "mode": "block"})
    assert r.json() == {
        "action": "block",
        "text": "",
        "findings": [
            {
                "type": "PERSON",
                "start": 0,
                "end": 13,
                "detector": "person.members.v1",
                "member": True,
            }
        ],
    }
    assert client.post("/api/v1/guard/check", json={"text": "x", "mode": "?"}).status_code == 422
