"""Lineage over a real snapshot of the synthetic platform: the store, receipts for every member,
OpenLineage events that validate, and the consent log head a snapshot commits to."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tamis.consent import open_registry
from tamis.consent.log import LogHeadSection, consent_log, prove_in_registry, verify_registry
from tamis.errors import TamisError, VerificationError
from tamis.keys import load_key
from tamis.lineage import ReceiptIssuer, SigningKey, SnapshotMembers, verify_receipt
from tamis.lineage.openlineage import OpenLineageEmitter, validate_event
from tamis.lineage.store import LineageRecorder, LineageStore
from tamis.pipeline.build import BuildRequest, build_snapshot
from tamis.policy import load_policy
from tamis.rights import RightsDesk
from tamis.synth import generate_platform
from tamis.timefmt import parse_instant

_spec = importlib.util.spec_from_file_location(
    "tamis_test_consent_fixtures_lineage", Path(__file__).parents[1] / "consent" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)
pg_database = _fixtures.pg_database
pg_url = _fixtures.pg_url
registry_url = _fixtures.registry_url

CUTOFF = "2025-11-01T00:00:00Z"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("platform") / "export"
    generate_platform(out, members=200, seed=1, consent_in_export=False)
    return out


def _member_ids(export: Path) -> list[str]:
    lines = (export / "members.jsonl").read_text().splitlines()
    return [json.loads(line)["member_id"] for line in lines if line.strip()]


def _import(db: str, export: Path) -> None:
    with open_registry(db) as registry:
        registry.import_file(export / "_consent" / "consent_events.jsonl")
        nameless = [r["reject_id"] for r in registry.rejects().to_pylist() if not r["member_id"]]
        if nameless:
            registry.resolve_rejects(resolution="re-sent", reject_ids=nameless)


def _build(export: Path, out: Path, db: str, *observers: Any, cutoff: str = CUTOFF) -> Any:
    return build_snapshot(
        BuildRequest(
            export_dir=export,
            out=out,
            policy=load_policy("minimal"),
            cutoff=parse_instant(cutoff),
            key=load_key(),
            consent="registry",
            registry_url=db,
            run_stages=False,
            observers=observers,
        )
    ).manifest


def test_store_openlineage_and_log_head(platform: Path, tmp_path: Path, registry_url: str) -> None:
    db = registry_url
    _import(db, platform)
    events = tmp_path / "ol.jsonl"
    snap = tmp_path / "snap"
    manifest = _build(
        platform, snap, db, LogHeadSection(), LineageRecorder(), OpenLineageEmitter(events)
    )
    with open_registry(db) as registry:
        store = LineageStore(registry)
        [record] = store.snapshots()
        assert record.snapshot_id == manifest["snapshot_id"]
        assert record.members_included == manifest["members"]["included"]
        assert store.record_snapshot(snap) == record  # idempotent
        registration = store.register_model("m-1", [snap], trained_at="2025-11-20T00:00:00Z")
        assert registration.status == "registered"
        with pytest.raises(TamisError, match="already registered on other snapshots"):
            other = tmp_path / "other"
            _build(platform, other, db, cutoff="2025-10-01T00:00:00Z")
            store.register_model("m-1", [other])
        # the head the manifest recorded is the chain's head at that entry
        head = manifest["consent_log_head"]
        with registry.reading("t") as c:
            stored = c.execute(
                sa.select(consent_log.c.entry_hash).where(consent_log.c.seq == head["seq"])
            ).scalar_one()
            applied = c.execute(
                sa.select(sa.func.count()).where(
                    consent_log.c.kind == "event",
                    consent_log.c.seq <= head["seq"],
                    consent_log.c.event_ts <= parse_instant(CUTOFF),
                )
            ).scalar_one()
        assert stored == head["head"] and applied == head["events_applied"]
        assert verify_registry(registry).ok
    lines = events.read_text().splitlines()
    assert [json.loads(line)["eventType"] for line in lines] == ["START", "COMPLETE"]
    for line in lines:
        validate_event(line)
    complete = json.loads(lines[1])
    facet = complete["run"]["facets"]["tamis_snapshot"]
    assert facet["policySha256"] == manifest["policy"]["sha256"]
    assert facet["recordsExcludedByReason"] == manifest["records"]["excluded_by_reason"]
    assert {d["name"].rsplit("/", 1)[1] for d in complete["inputs"]} >= {"members", "content"}
    assert complete["outputs"][0]["name"] == str(snap.resolve())


def test_openlineage_fail_and_model_events_validate(platform: Path, tmp_path: Path) -> None:
    from tamis.lineage.openlineage import emit_model_registration

    db = f"sqlite:///{tmp_path / 'r.db'}"
    _import(db, platform)
    events = tmp_path / "ol.jsonl"
    snap = tmp_path / "snap"
    _build(platform, snap, db, LineageRecorder(), OpenLineageEmitter(events))
    with pytest.raises(TamisError):  # the snapshot exists: no --force
        _build(platform, snap, db, OpenLineageEmitter(events))
    with open_registry(db) as registry:
        model = LineageStore(registry).register_model("m-2", [snap]).model
    emit_model_registration(model, str(events))
    parsed = [json.loads(line) for line in events.read_text().splitlines()]
    states = ["START", "COMPLETE", "START", "FAIL", "START", "COMPLETE"]
    assert [e["eventType"] for e in parsed] == states
    for event in parsed:
        validate_event(event)
    assert "errorMessage" in parsed[3]["run"]["facets"]
    broken = {**parsed[1], "extra": 1}
    with pytest.raises(ValueError, match="outside the spec"):
        validate_event(broken)
    bad_run = json.loads(json.dumps(parsed[1]))
    bad_run["run"]["runId"] = "not-a-uuid"
    with pytest.raises(ValueError):
        validate_event(bad_run)
    del bad_run["run"]["facets"]["tamis_snapshot"]["_schemaURL"]
    with pytest.raises(ValueError):
        validate_event(bad_run)


def test_receipts_for_every_member_verify(platform: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    _import(db, platform)
    snap = tmp_path / "snap"
    manifest = _build(platform, snap, db)
    signer = SigningKey.generate()
    issuer = ReceiptIssuer(SnapshotMembers.load(snap), load_key(), signer)
    pem = signer.public_pem()
    kinds = {"inclusion": 0, "non_inclusion": 0}
    ids = [*_member_ids(platform), "not-a-member"]
    for receipt in issuer.issue_many(ids, workers=1):
        verify_receipt(receipt, manifest["members_root"], pem)
        kinds[receipt["kind"]] += 1
    assert kinds["inclusion"] == manifest["members"]["included"]
    assert kinds["non_inclusion"] == len(ids) - manifest["members"]["included"]
    assert kinds["non_inclusion"] > 0


def test_a_rewritten_objection_is_caught_by_prove_and_verify(
    platform: Path, tmp_path: Path, registry_url: str
) -> None:
    import tamis.cli.log  # noqa: F401 - registers the group
    from tamis.cli import app

    db = registry_url
    _import(db, platform)
    with open_registry(db) as registry:
        member = _member_ids(platform)[5]
        objection = RightsDesk(registry, load_key()).object(member, "2025-10-01T00:00:00Z")
    event_id = objection.request.consent_event_id
    assert event_id is not None
    snap = tmp_path / "snap"
    _build(platform, snap, db, LogHeadSection())
    with open_registry(db) as registry:
        proof = prove_in_registry(registry, event_id, snap)
        assert proof.applied and proof.event["value"] is False
    runner = CliRunner()
    ok = runner.invoke(app, ["log", "prove", event_id, "--snapshot", str(snap), "--db", db])
    assert ok.exit_code == 0 and "applied" in ok.output
    # someone turns the objection into an allow, behind tamis' back
    engine = sa.create_engine(sa.make_url(db))
    with engine.begin() as c:
        if c.dialect.name == "postgresql":
            c.exec_driver_sql("ALTER TABLE consent_events DISABLE TRIGGER USER")
        else:
            c.exec_driver_sql("DROP TRIGGER consent_events_no_update")
        c.execute(
            sa.text("UPDATE consent_events SET value = true WHERE event_id = :e"), {"e": event_id}
        )
    engine.dispose()
    with open_registry(db) as registry, pytest.raises(VerificationError, match=event_id):
        prove_in_registry(registry, event_id, snap)
    bad = runner.invoke(app, ["log", "prove", event_id, "--snapshot", str(snap), "--db", db])
    assert bad.exit_code == 1 and "edited" in bad.output
    bad = runner.invoke(app, ["log", "verify", "--db", db])
    assert bad.exit_code == 1 and event_id in bad.output
