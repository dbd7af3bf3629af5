"""Rights end to end over a synthetic platform: access, objection, erasure, deadlines, impact.

S1 is built, a model is trained on it, then one member objects and another asks for erasure; S2
is built after. The access reports list S1 (and the model) and not S2; the affected-models queue
lists the model on S1; S2 excludes both members (``objected``, ``erased``). On SQLite and
PostgreSQL.
"""

from __future__ import annotations

import html
import importlib.util
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tamis.consent import open_registry
from tamis.consent.log import LogHeadSection, verify_registry
from tamis.errors import InputError
from tamis.keys import (
    KEY_ENV,
    KEY_FILE_ENV,
    RETIRED_KEYS_ENV,
    PseudonymKey,
    load_key,
    load_keyring,
    rotate_key,
)
from tamis.lineage.store import LineageRecorder, LineageStore
from tamis.pipeline.build import BuildRequest, build_snapshot
from tamis.policy import load_policy
from tamis.rights import RightsDesk, add_months
from tamis.rights.impact import UNVERIFIABLE_MARK
from tamis.synth import generate_platform
from tamis.timefmt import parse_instant

_spec = importlib.util.spec_from_file_location(
    "tamis_test_consent_fixtures", Path(__file__).parents[1] / "consent" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)
pg_database = _fixtures.pg_database
pg_url = _fixtures.pg_url
registry_url = _fixtures.registry_url

S1_CUTOFF = "2025-09-01T00:00:00Z"
OBJECTION_AT = "2025-10-01T09:00:00+02:00"
S2_CUTOFF = "2025-11-01T00:00:00Z"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("platform") / "export"
    generate_platform(out, members=200, seed=1, consent_in_export=False)
    return out


def _build(export: Path, out: Path, cutoff: str, db: str) -> dict[str, Any]:
    request = BuildRequest(
        export_dir=export,
        out=out,
        policy=load_policy("minimal"),
        cutoff=parse_instant(cutoff),
        key=load_key(),
        consent="registry",
        registry_url=db,
        run_stages=False,
        observers=(LogHeadSection(), LineageRecorder()),
    )
    return build_snapshot(request).manifest


def _import(db: str, export: Path) -> None:
    with open_registry(db) as registry:
        registry.import_file(export / "_consent" / "consent_events.jsonl")
        nameless = [r["reject_id"] for r in registry.rejects().to_pylist() if not r["member_id"]]
        if nameless:
            registry.resolve_rejects(resolution="re-sent by the platform", reject_ids=nameless)


def _included_members(snapshot: Path, export: Path, key: PseudonymKey | None = None) -> list[str]:
    key = key or load_key()
    refs = set(pq.read_table(snapshot / "members.parquet").column("member_ref").to_pylist())
    lines = (export / "members.jsonl").read_text().splitlines()
    ids = [json.loads(line)["member_id"] for line in lines if line.strip()]
    return sorted(m for m in ids if key.member_ref(m) in refs)


def test_objection_and_erasure_between_two_snapshots(
    platform: Path, tmp_path: Path, registry_url: str
) -> None:
    db = registry_url
    _import(db, platform)
    s1 = tmp_path / "s1"
    m1 = _build(platform, s1, S1_CUTOFF, db)
    included = _included_members(s1, platform)
    assert len(included) >= 3
    objector, eraser, bystander = included[0], included[1], included[2]
    with open_registry(db) as registry:
        store = LineageStore(registry)
        assert [s.snapshot_id for s in store.snapshots()] == [m1["snapshot_id"]]
        store.register_model("assistant-v1", [s1], trained_at="2025-09-15T00:00:00Z")
        desk = RightsDesk(registry, load_key())
        objection = desk.object(objector, OBJECTION_AT)
        erasure = desk.erase(eraser, OBJECTION_AT)
    assert objection.models == ["assistant-v1"] and erasure.models == ["assistant-v1"]
    assert [s["snapshot_id"] for s in objection.snapshots] == [m1["snapshot_id"]]
    assert objection.request.deadline == add_months(objection.request.received_at, 1)

    s2 = tmp_path / "s2"
    m2 = _build(platform, s2, S2_CUTOFF, db)
    in_s2 = _included_members(s2, platform)
    assert objector not in in_s2 and eraser not in in_s2
    assert m2["members"]["excluded_by_reason"].get("erased") == 1
    assert m2["consent_log_head"]["seq"] > m1["consent_log_head"]["seq"]

    with open_registry(db) as registry:
        LineageStore(registry).register_model("assistant-v2", [s2])
        desk = RightsDesk(registry, load_key())
        for member in (objector, eraser):
            report = desk.access(member).data
            assert [s["snapshot_id"] for s in report["snapshots"]] == [m1["snapshot_id"]]
            assert [m["name"] for m in report["models"]] == ["assistant-v1"]
            assert report["snapshots"][0]["records"] == sum(
                report["snapshots"][0]["categories"].values()
            )
        other = desk.access(bystander).data
        if bystander in in_s2:
            assert [m["name"] for m in other["models"]] == ["assistant-v1", "assistant-v2"]
        queue = desk.affected_models()
        assert sorted((q.model, q.request_kind) for q in queue) == [
            ("assistant-v1", "erasure"),
            ("assistant-v1", "objection"),
        ]
        assert all(q.snapshots == (m1["snapshot_id"],) for q in queue)
        desk.resolve(queue[0].item_id, "retrain", "assistant-v2 replaces it")
        assert len(desk.affected_models()) == 1
        report = verify_registry(registry)
        assert report.ok, report.problem
        assert report.by_kind["publication"] == 2


def test_model_registered_later_is_queued(platform: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    _import(db, platform)
    s1 = tmp_path / "s1"
    _build(platform, s1, S1_CUTOFF, db)
    member = _included_members(s1, platform)[0]
    with open_registry(db) as registry:
        desk = RightsDesk(registry, load_key())
        assert desk.object(member, OBJECTION_AT).models == []
        registration = LineageStore(registry).register_model("late-model", [s1])
        assert registration.affected == 1
        again = LineageStore(registry).register_model("late-model", [s1])
        assert again.status == "already registered"
        assert [q.model for q in desk.affected_models()] == ["late-model"]


def test_deadlines_extension_and_overdue(tmp_path: Path) -> None:
    with open_registry(f"sqlite:///{tmp_path / 'r.db'}") as registry:
        desk = RightsDesk(registry, load_key())
        old = desk.erase("m1", "2025-01-31T10:00:00Z").request
        assert old.deadline == datetime(2025, 2, 28, 10, tzinfo=UTC)
        new = desk.erase("m2", datetime.now(UTC)).request
        assert [r.request_id for r in desk.overdue()] == [old.request_id]
        extended = desk.extend(old.request_id, "complex request")
        assert extended.deadline == datetime(2025, 4, 30, 10, tzinfo=UTC) and extended.extended
        assert desk.overdue(datetime(2025, 3, 15, tzinfo=UTC)) == []
        desk.answer(new.request_id, "erased")
        assert {r.request_id for r in desk.requests(open_only=True)} == {old.request_id}
        assert verify_registry(registry).ok


def test_an_objection_outranked_by_a_later_choice_says_so(tmp_path: Path) -> None:
    # a letter received three days ago, entered now; the member allowed again yesterday
    now = datetime.now(UTC)
    with open_registry(f"sqlite:///{tmp_path / 'r.db'}") as registry:
        allow = registry.set("m1", True, at=now - timedelta(days=1), channel="support")
        desk = RightsDesk(registry, load_key())
        outcome = desk.object("m1", now - timedelta(days=3))
        (warning,) = outcome.warnings
        assert "still 'allow'" in warning and allow.event_id in warning
        assert desk.object("m2").warnings == []  # in effect: nothing to say


def test_editing_a_request_behind_the_log_is_caught(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "r.db"
    with open_registry(f"sqlite:///{path}") as registry:
        request = RightsDesk(registry, load_key()).erase("m1", "2025-01-31T10:00:00Z").request
    raw = sqlite3.connect(path)
    raw.execute("UPDATE rights_requests SET deadline = '2026-01-31T10:00:00.000000Z'")
    raw.commit()
    raw.close()
    with open_registry(f"sqlite:///{path}") as registry:
        problem = verify_registry(registry).problem
    assert problem is not None and problem.ref == request.request_id
    assert "deadline" in problem.message


def _registry_and_s1(platform: Path, tmp_path: Path) -> tuple[str, Path, str]:
    """A SQLite registry with the platform's consent, S1 built from it, and a member in S1."""
    db = f"sqlite:///{tmp_path / 'r.db'}"
    _import(db, platform)
    s1 = tmp_path / "s1"
    _build(platform, s1, S1_CUTOFF, db)
    return db, s1, _included_members(s1, platform)[0]


def test_cli(platform: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tamis.cli.lineage
    import tamis.cli.rights  # noqa: F401 - registers the groups
    from tamis.cli import app

    monkeypatch.setenv("TAMIS_OPENLINEAGE_FILE", str(tmp_path / "ol.jsonl"))
    db, s1, member = _registry_and_s1(platform, tmp_path)
    runner = CliRunner()

    def run(*args: str) -> Any:
        result = runner.invoke(app, [*args, "--db", db])
        assert result.exit_code == 0, result.output
        return result

    run("model", "register", "cli-model", "--snapshot", str(s1))
    out = run("rights", "object", member, "--json").output
    assert json.loads(out)["affected_models"] == ["cli-model"]
    run("rights", "access", member, "--out", str(tmp_path / "report.html"))
    page = (tmp_path / "report.html").read_text()
    assert "cli-model" in page and "<script" not in page
    queue = json.loads(run("rights", "affected-models", "--json").output)
    assert [q["model"] for q in queue] == ["cli-model"]
    run("rights", "resolve", str(queue[0]["item_id"]), "--action", "unlearn", "--note", "done")
    assert "empty" in run("rights", "affected-models").output
    assert "no overdue" in run("rights", "overdue").output
    events = (tmp_path / "ol.jsonl").read_text().splitlines()
    assert [json.loads(e)["eventType"] for e in events] == ["START", "COMPLETE"]


# -- pseudonym key rotation ---------------------------------------------------------------------

AFTER_BOTH = "2025-12-01T00:00:00Z"  # requests received after both snapshots' cutoffs


def test_rights_see_snapshots_built_under_a_retired_key(
    platform: Path, tmp_path: Path, registry_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """S1 is built under key A, the key is rotated, S2 is built under key B. While the ring keeps
    A, access, objection, erasure and a later model registration all see S1; once A is gone, S1 is
    reported as unverifiable: in the access report, and as a warning logged with each request."""
    monkeypatch.delenv(KEY_ENV)
    monkeypatch.delenv(RETIRED_KEYS_ENV, raising=False)
    monkeypatch.setenv(KEY_FILE_ENV, str(tmp_path / "keys" / "pseudonym.key"))
    db = registry_url
    _import(db, platform)
    key_a = load_key()
    s1 = tmp_path / "s1"
    m1 = _build(platform, s1, S1_CUTOFF, db)
    with open_registry(db) as registry:  # a request recorded under key A keeps A's pseudonym
        early = RightsDesk(registry, load_keyring()).access(_included_members(s1, platform)[-1])
    key_b = rotate_key().active
    s2 = tmp_path / "s2"
    m2 = _build(platform, s2, S2_CUTOFF, db)
    assert (m1["key_id"], m2["key_id"]) == (key_a.key_id, key_b.key_id) and key_a != key_b
    both = sorted(
        set(_included_members(s1, platform, key_a)) & set(_included_members(s2, platform, key_b))
    )
    assert len(both) >= 4 and early.data["member_id"] not in both[:4]
    reader, objector, eraser, last = both[:4]
    ids = [m1["snapshot_id"], m2["snapshot_id"]]

    with open_registry(db) as registry:
        store = LineageStore(registry)
        store.register_model("model-1", [s1])
        store.register_model("model-2", [s2])
        desk = RightsDesk(registry, load_keyring())
        report = desk.access(reader).data
        assert [s["snapshot_id"] for s in report["snapshots"]] == ids
        assert [s["member_ref"] for s in report["snapshots"]] == [
            key_a.member_ref(reader),
            key_b.member_ref(reader),
        ]
        assert [m["name"] for m in report["models"]] == ["model-1", "model-2"]
        assert (report["snapshots_checked"], report["snapshots_unverifiable"]) == (2, 0)
        assert report["unverifiable_notice"] is None

        objection = desk.object(objector, AFTER_BOTH)
        erasure = desk.erase(eraser, AFTER_BOTH)
        for outcome in (objection, erasure):
            assert [s["snapshot_id"] for s in outcome.snapshots] == ids
            assert outcome.models == ["model-1", "model-2"]
            assert outcome.unverifiable == [] and outcome.warnings == []
        queue = desk.affected_models()
        assert sorted((q.model, q.request_kind, q.snapshots) for q in queue) == [
            ("model-1", "erasure", (ids[0],)),
            ("model-1", "objection", (ids[0],)),
            ("model-2", "erasure", (ids[1],)),
            ("model-2", "objection", (ids[1],)),
        ]
        # each entry names the member as the snapshots list them: under key A in S1
        refs = {"model-1": key_a, "model-2": key_b}
        members = {"objection": objector, "erasure": eraser}
        for q in queue:
            assert q.member_ref == refs[q.model].member_ref(members[q.request_kind]), q
        # A model registered later on the old snapshot is queued for both requests (which were
        # recorded under key B), naming the member by their pseudonym under key A.
        assert objection.request.key_id == key_b.key_id
        assert store.register_model("late-model", [s1]).affected == 2
        late = [q for q in desk.affected_models() if q.model == "late-model"]
        assert sorted(q.member_ref for q in late) == sorted(
            key_a.member_ref(m) for m in (objector, eraser)
        )

    # Key A leaves the ring: S1 can no longer be searched, and says so.
    monkeypatch.setenv(KEY_ENV, key_b.secret.hex())
    assert [k.key_id for k in load_keyring().keys] == [key_b.key_id]
    with open_registry(db) as registry:
        desk = RightsDesk(registry, load_keyring())
        report = desk.access(reader)
        assert [s["snapshot_id"] for s in report.data["snapshots"]] == ids[1:]
        assert (report.data["snapshots_checked"], report.data["snapshots_unverifiable"]) == (1, 1)
        notice = report.data["unverifiable_notice"]
        assert "1 training snapshot was built with a pseudonym key" in notice
        assert "could not check" in notice and html.escape(notice) in report.to_html()
        again = desk.access(early.data["member_id"]).data  # found in S1 under its request's ref
        assert [s["snapshot_id"] for s in again["snapshots"]][:1] == ids[:1]
        assert again["snapshots"][0]["member_ref"] == early.data["member_ref"]
        assert again["snapshots_unverifiable"] == 0 and again["unverifiable_notice"] is None

        outcome = desk.object(last, AFTER_BOTH)
        assert [s["snapshot_id"] for s in outcome.snapshots] == ids[1:]
        # S1 cannot be checked: failing closed, its models are queued, S1 marked unverifiable
        assert outcome.models == ["late-model", "model-1", "model-2"]
        entries = {q.model: q.snapshots for q in desk.affected_models()}
        assert entries["model-1"] == (ids[0] + UNVERIFIABLE_MARK,)
        assert entries["model-2"] == (ids[1],)
        assert [(u["snapshot_id"], u["key_id"], u["models"]) for u in outcome.unverifiable] == [
            (ids[0], key_a.key_id, ["model-1", "late-model"])
        ]
        # the synthetic member allowed again after AFTER_BOTH: the outcome says so too
        message, outranked = outcome.warnings
        assert key_a.key_id in message and "models trained on them: late-model, model-1" in message
        assert f"{last}'s setting is still 'allow'" in outranked
        assert json.loads(json.dumps(outcome.as_dict()))["warnings"] == [message, outranked]
        (logged,) = desk.warnings(outcome.request.request_id)
        assert logged["message"] == message

        # The member whose access request was recorded under key A is still found in S1.
        recorded = desk.object(early.data["member_id"], AFTER_BOTH)
        assert [s["snapshot_id"] for s in recorded.snapshots][:1] == ids[:1]
        assert recorded.unverifiable == [] and "model-1" in recorded.models

        # Registered now on S1, a model is queued for that objection; it cannot be checked
        # against the other requests: each gets a warning naming it, and a queue entry with S1
        # marked unverifiable (failing closed), never silently "not affected".
        assert LineageStore(registry).register_model("after-loss", [s1]).affected == 4
        assert desk.warnings(recorded.request.request_id) == []
        after_loss = {
            q.request_id: q.snapshots for q in desk.affected_models() if q.model == "after-loss"
        }
        assert after_loss[recorded.request.request_id] == (ids[0],)
        for request in (objection.request, erasure.request, outcome.request):
            assert after_loss[request.request_id] == (ids[0] + UNVERIFIABLE_MARK,)
        for request in (objection.request, erasure.request, outcome.request):
            latest = desk.warnings(request.request_id)[-1]
            assert [s["snapshot_id"] for s in latest["snapshots"]] == ids[:1]
            assert "after-loss" in latest["snapshots"][0]["models"]
        problem = verify_registry(registry)
        assert problem.ok, problem.problem


def test_a_mistyped_registry_stops_the_build_and_the_desk(platform: Path, tmp_path: Path) -> None:
    """An erasure is in the registry; a build or a rights command given a mistyped --db used to
    make a new, empty registry there and go on: no tombstone, the erased member's data back in,
    and 'no overdue request'."""
    import shutil

    from tamis.cli import app
    from tamis.errors import RegistryError

    db = f"sqlite:///{tmp_path / 'r.db'}"
    _import(db, platform)
    member = json.loads((platform / "members.jsonl").read_text().splitlines()[0])["member_id"]
    with open_registry(db) as registry:
        RightsDesk(registry, load_key()).erase(member)
    export = tmp_path / "export"
    shutil.copytree(platform, export)
    shutil.copy(export / "_consent" / "consent_events.jsonl", export / "consent_events.jsonl")
    typo = tmp_path / "rr.db"
    request = BuildRequest(
        export_dir=export,
        out=tmp_path / "snap",
        policy=load_policy("minimal"),
        cutoff=parse_instant(S2_CUTOFF),
        key=load_key(),
        consent="export",
        registry_url=f"sqlite:///{typo}",
        run_stages=False,
    )
    with pytest.raises(RegistryError, match="there is no consent registry at"):
        build_snapshot(request)
    result = CliRunner().invoke(app, ["rights", "overdue", "--db", str(typo)])
    assert result.exit_code == 1 and "there is no consent registry at" in result.output
    assert not typo.exists() and not (tmp_path / "snap").exists()


def test_outputs_that_cannot_be_written_are_errors_and_leave_the_request_open(
    platform: Path, tmp_path: Path
) -> None:
    """A report path that cannot be written is said before the access request is recorded, and
    the report is written before its request is marked answered. A manifest without key_id
    cannot be recorded (a member is looked for under the pseudonym of the key the snapshot was
    built with)."""
    from tamis.cli import app

    db, s1, member = _registry_and_s1(platform, tmp_path)
    runner = CliRunner()
    for out in (tmp_path / "no" / "such" / "folder.html", tmp_path):
        result = runner.invoke(app, ["rights", "access", member, "--out", str(out), "--db", db])
        assert result.exit_code == 1 and "cannot write" in result.output, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
    with open_registry(db) as registry:  # said before any request was recorded
        assert RightsDesk(registry, load_key()).requests(member_id=member) == []
    receipt = runner.invoke(
        app, ["receipt", member, "--snapshot", str(s1), "--out", str(tmp_path / "no" / "r.json")]
    )
    assert receipt.exit_code == 1 and "cannot write" in receipt.output
    manifest = json.loads((s1 / "manifest.json").read_text())
    del manifest["key_id"]
    (s1 / "manifest.json").write_text(json.dumps(manifest))
    with open_registry(db) as registry, pytest.raises(InputError, match="has no key_id"):
        LineageStore(registry).record_snapshot(s1)


def test_an_objection_made_in_the_member_service_queues_the_models(
    platform: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The settings page's objection, like one made to the DPO's desk, is an Art. 21 request:
    recorded (answered with the member's receipt) and its impact queued."""
    from fastapi.testclient import TestClient

    from tamis.errors import RegistryError
    from tamis.service import ServiceConfig, create_app

    db = f"sqlite:///{tmp_path / 'r.db'}"
    _import(db, platform)
    s1 = tmp_path / "snapshots" / "s1"
    _build(platform, s1, S1_CUTOFF, db)
    member = _included_members(s1, platform)[0]
    with open_registry(db) as registry:
        LineageStore(registry).register_model("service-model", [s1])
    config = ServiceConfig(db=db, export=platform, snapshots=s1.parent, session_secret="x" * 40)
    real = RightsDesk.object_recorded
    failures = iter([RegistryError("the registry is busy")])

    def fails_once(desk: RightsDesk, event: Any, answer: str) -> Any:
        failure = next(failures, None)
        if failure is not None:  # the event is committed; the request is cut short
            raise failure
        return real(desk, event, answer)

    monkeypatch.setattr(RightsDesk, "object_recorded", fails_once)
    with TestClient(create_app(config), raise_server_exceptions=False) as client:
        csrf = client.post("/api/v1/session", json={"member_id": member}).json()["csrf_token"]
        headers = {"X-CSRF-Token": csrf}
        cut = client.post("/api/v1/objections", json={}, headers=headers)
        assert cut.status_code >= 500
        # the retry completes the request of the objection already recorded; a double submit
        # records nothing more
        made = client.post("/api/v1/objections", json={}, headers=headers)
        assert made.status_code == 201, made.text
        receipt = made.json()["receipt"]
        again = client.post("/api/v1/objections", json={}, headers=headers)
        assert again.status_code == 201 and again.json()["receipt"] == receipt
    with open_registry(db) as registry:
        desk = RightsDesk(registry, load_key())
        [request] = desk.requests(member_id=member)
        queue = desk.affected_models()
    assert request.kind == "objection" and request.status == "answered"
    assert request.consent_event_id == receipt and receipt in (request.answer or "")
    # (the service's sweeper queues the platform's imported objections too: other requests)
    mine = [(q.model, q.request_id) for q in queue if q.request_id == request.request_id]
    assert mine == [("service-model", request.request_id)]
    with open_registry(db) as registry:  # and a model registered later on that snapshot too
        LineageStore(registry).register_model("later-model", [s1])
        queue = RightsDesk(registry, load_key()).affected_models()
    assert sorted(q.model for q in queue if q.request_id == request.request_id) == [
        "later-model",
        "service-model",
    ]
