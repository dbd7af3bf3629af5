"""End-to-end: the CLI as a user runs it, atomic publication under SIGKILL, identical reruns."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tamis.errors import SnapshotError
from tamis.keys import PseudonymKey
from tamis.pipeline.build import BuildRequest
from tamis.pipeline.manifest import verify_snapshot
from tamis.policy import load_policy
from tamis.timefmt import ARROW_TS
from tamis_testing import TEST_KEY_HEX, write_export

CUTOFF = "2026-01-01T00:00:00Z"


def tamis(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TAMIS_PSEUDONYM_KEY": TEST_KEY_HEX}
    result = subprocess.run(
        [sys.executable, "-m", "tamis.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"tamis {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def _member(i: int, **changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "member_id": f"m{i}",
        "country": "FR",
        "birth_date": "1980-05-05",
        "created_at": "2020-01-01T00:00:00Z",
        "first_name": "Camille",
        "last_name": f"Martin{i}",
        "headline": "Ingénieure données",
        "email": f"camille{i}@example.fr",
        "phone": "+33 6 12 34 56 78",
        "salary": 61000,
        "skills": ["SQL", "Python"],
    }
    row.update(changes)
    return row


def _content(i: int, member: int, **changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "record_id": f"r{i}",
        "member_id": f"m{member}",
        "kind": "post",
        "visibility": "public",
        "created_at": "2025-06-01T12:00:00+02:00",
        "lang": "fr",
        "text": f"Post {i}: écrivez-moi à camille{member}@example.fr ou au 06 12 34 56 78",
    }
    row.update(changes)
    return row


@pytest.fixture
def small_export(tmp_path: Path) -> Path:
    members = [
        _member(1),
        _member(2),
        _member(3, birth_date="2010-01-01"),
        _member(4, country=None),
    ]
    content = [
        _content(1, 1),
        _content(2, 2),
        _content(3, 3),
        _content(4, 4),
        _content(5, 1, kind="message", visibility="private"),
        _content(6, 1, created_at="2026-02-01T00:00:00Z"),
        _content(7, 1, visibility="connections"),
        _content(8, 1, kind="search_query", visibility="private", text="data engineer jobs Lyon"),
        _content(9, 1, created_at="not a date"),
    ]
    events = [
        {
            "event_id": "e1",
            "member_id": "m2",
            "setting": "genai_training",
            "value": False,
            "ts": "2025-12-24T10:00:00+01:00",
            "channel": "settings_page",
        },
        {
            "event_id": "e2",
            "member_id": "m1",
            "setting": "genai_training",
            "value": False,
            "ts": "2026-01-02T00:00:00Z",
            "channel": "settings_page",
        },  # after the cutoff
        {
            "event_id": "e3",
            "member_id": "ghost",
            "setting": "genai_training",
            "value": False,
            "ts": "2025-12-01T00:00:00Z",
            "channel": "api",
        },
    ]
    return write_export(tmp_path / "export", members, content, events)


def _build_minimal(export: Path, out: Path, *more: str) -> subprocess.CompletedProcess[str]:
    """``tamis snapshot build`` of ``export`` with the minimal policy at the cutoff, quiet."""
    return tamis("snapshot", "build", "--export", str(export), "--policy", "minimal",
                 "--cutoff", CUTOFF, "--out", str(out), "-q", *more)  # fmt: skip


def _records(snapshot: Path) -> list[dict[str, object]]:
    return (
        duckdb.sql(f"SELECT * FROM read_parquet('{snapshot}/data/*.parquet') ORDER BY record_id")
        .to_arrow_table()
        .to_pylist()
    )


def test_build_with_each_preset(small_export: Path, tmp_path: Path) -> None:
    minimal = tmp_path / "minimal"
    out = tamis(
        "snapshot",
        "build",
        "--export",
        str(small_export),
        "--policy",
        "minimal",
        "--cutoff",
        CUTOFF,
        "--out",
        str(minimal),
    )
    assert "published at" in out.stdout
    rows = _records(minimal)
    assert [r["record_id"] for r in rows] == ["r1"]
    (row,) = rows
    assert "@" not in str(row["text"]) and "06 12" not in str(row["text"])
    assert row["member_ref"] != "m1" and len(str(row["member_ref"])) == 32
    manifest = json.loads((minimal / "manifest.json").read_text())
    assert manifest["consent"]["source"] == "export"
    # no registry anywhere: no erasure could be checked, and the build says so
    assert manifest["consent"]["erasures"] == {"registry": None, "tombstones": 0}
    assert "no erasure tombstone was checked" in " ".join(out.stderr.split())
    by_kind = manifest["records"]["excluded_by_reason_and_kind"]
    content_kinds = {"post", "message", "search_query"}
    content_reasons = {
        reason: sum(n for kind, n in kinds.items() if kind in content_kinds)
        for reason, kinds in by_kind.items()
    }
    assert content_reasons == {
        "objected": 1,
        "minor": 1,
        "region_unknown": 1,
        "category_excluded": 3,
        "after_cutoff": 1,
    }
    assert manifest["records"]["excluded_by_reason"]["quarantined"] == 1
    # Six profile records per member (name, headline, email, phone, salary, skills): the
    # minimal preset uses none of them, the eligible member's are category_excluded.
    assert by_kind["category_excluded"]["profile_name"] == 1
    assert manifest["records"]["input"] == 9 + 4 * 6
    assert manifest["members"]["excluded_by_reason"] == {
        "minor": 1,
        "objected": 1,
        "region_unknown": 1,
    }
    assert manifest["consent"]["events_for_unknown_members"] == 1
    assert manifest["quarantined"] == {"consent_events": 1, "content": 1}
    quarantine = duckdb.sql(f"SELECT * FROM '{minimal}/quarantine/content.parquet'").fetchall()
    assert quarantine == [
        (
            "content.jsonl",
            9,
            "created_at",
            "'not a date' is not an RFC 3339 timestamp with an offset",
            "r9",
        )
    ]

    linkedin = tmp_path / "linkedin"
    tamis(
        "snapshot",
        "build",
        "--export",
        str(small_export),
        "--policy",
        "linkedin-2025",
        "--cutoff",
        CUTOFF,
        "--out",
        str(linkedin),
    )
    rows = _records(linkedin)
    ids = [r["record_id"] for r in rows]
    assert {"r1", "r7", "r8"} <= set(ids) and not {"r2", "r3", "r4", "r5", "r6", "r9"} & set(ids)
    kinds = {r["kind"] for r in rows}
    assert {"profile_name", "profile_headline", "profile_skills", "profile_email"} <= kinds
    assert "profile_salary" not in kinds and "profile_phone" not in kinds
    skills = next(r for r in rows if r["kind"] == "profile_skills")
    assert skills["text"] == "SQL, Python"
    assert tamis("snapshot", "verify", str(linkedin)).returncode == 0
    shown = tamis("snapshot", "show", str(linkedin)).stdout
    assert "members_root" in shown and "profile_name" in shown


def test_verify_names_the_tampered_file(small_export: Path, tmp_path: Path) -> None:
    snap = tmp_path / "snap"
    tamis(
        "snapshot",
        "build",
        "--export",
        str(small_export),
        "--policy",
        "linkedin-2025",
        "--cutoff",
        CUTOFF,
        "--out",
        str(snap),
        "-q",
    )
    part = snap / "data" / "part-00000.parquet"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0x01
    part.write_bytes(bytes(data))
    result = tamis("snapshot", "verify", str(snap), check=False)
    assert result.returncode != 0
    assert "data/part-00000.parquet" in result.stderr and "sha256 differs" in result.stderr
    (snap / "data" / "part-00099.parquet").write_bytes(b"")
    part.unlink()
    assert "missing" in tamis("snapshot", "verify", str(snap), check=False).stderr


def test_existing_output_needs_force(small_export: Path, tmp_path: Path) -> None:
    snap = tmp_path / "snap"
    args = [
        "snapshot",
        "build",
        "--export",
        str(small_export),
        "--policy",
        "minimal",
        "--cutoff",
        CUTOFF,
        "--out",
        str(snap),
        "-q",
    ]
    tamis(*args)
    again = tamis(*args, check=False)
    assert again.returncode == 1 and "already exists" in again.stderr and "--force" in again.stderr
    tamis(*args, "--force")


def _refused(export: Path, out: Path, cutoff: str) -> str:
    """``tamis snapshot build`` with the minimal policy, expected to stop with a one-line error
    and to publish nothing: that error."""
    result = tamis(
        "snapshot",
        "build",
        "--export",
        str(export),
        "--policy",
        "minimal",
        "--cutoff",
        cutoff,
        "--out",
        str(out),
        check=False,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert not out.exists()
    return result.stderr


def test_errors_are_one_line_messages(small_export: Path, tmp_path: Path) -> None:
    error = _refused(small_export, tmp_path / "s", "2026-01-01T00:00:00")
    assert "not RFC 3339 with an offset" in error
    error = _refused(tmp_path / "nowhere", tmp_path / "s", CUTOFF)
    assert "required table members is missing" in error


def test_a_cutoff_in_the_future_is_refused(small_export: Path, tmp_path: Path) -> None:
    # members may still object before it: no snapshot may claim consent as of a time to come
    soon = datetime.now(UTC) + timedelta(minutes=5)
    error = _refused(small_export, tmp_path / "s", soon.isoformat())
    assert "is in the future" in error and "members may still object" in error
    with pytest.raises(SnapshotError, match="needs a time zone"):
        BuildRequest(
            small_export,
            tmp_path / "s",
            load_policy("minimal"),
            datetime(2026, 1, 1),
            PseudonymKey(bytes(32), "test"),
        )


def test_unattributable_broken_consent_line_stops_the_build(
    small_export: Path, tmp_path: Path
) -> None:
    with (small_export / "consent_events.jsonl").open("a") as handle:
        handle.write('{"event_id": "e9", "value": fa\n')
    result = tamis(
        "snapshot",
        "build",
        "--export",
        str(small_export),
        "--policy",
        "minimal",
        "--cutoff",
        CUTOFF,
        "--out",
        str(tmp_path / "s"),
        check=False,
    )
    assert result.returncode == 1 and "consent_events.jsonl:4" in result.stderr
    assert not (tmp_path / "s").exists()


def _big_export(root: Path, n_members: int = 3000, n_records: int = 150_000) -> Path:
    rng = random.Random(3)
    members = [
        _member(
            i,
            country=rng.choice(["FR", "DE", "US", None]),
            birth_date=rng.choice(["1980-01-01", "2009-06-30", None]),
        )
        for i in range(n_members)
    ]
    content = [
        _content(
            i,
            rng.randrange(n_members + 10),
            kind=rng.choice(["post", "comment", "message"]),
            text=f"record {i} {'x' * rng.randrange(200)} mail a{i}@b.fr",
        )
        for i in range(n_records)
    ]
    events = [
        {
            "event_id": f"e{i}",
            "member_id": f"m{i}",
            "setting": "genai_training",
            "value": rng.random() < 0.7,
            "ts": "2025-12-01T00:00:00Z",
            "channel": "api",
        }
        for i in range(0, n_members, 3)
    ]
    return write_export(root, members, content, events)


def test_sigkill_leaves_no_snapshot_or_a_complete_one(tmp_path: Path) -> None:
    export = _big_export(tmp_path / "export")
    reference = tmp_path / "reference"
    started = time.monotonic()
    tamis(
        "snapshot",
        "build",
        "--export",
        str(export),
        "--policy",
        "linkedin-2025",
        "--cutoff",
        CUTOFF,
        "--out",
        str(reference),
        "-q",
    )
    duration = time.monotonic() - started
    expected = {p.name: p.read_bytes() for p in (reference / "data").iterdir()}
    rng = random.Random(11)
    outcomes = []
    env = {**os.environ, "TAMIS_PSEUDONYM_KEY": TEST_KEY_HEX}
    out = tmp_path / "killed"
    for attempt in range(6):
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tamis.cli",
                "snapshot",
                "build",
                "--export",
                str(export),
                "--policy",
                "linkedin-2025",
                "--cutoff",
                CUTOFF,
                "--out",
                str(out),
                "-q",
                "--force",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.2, duration * 1.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if out.exists():
            verify_snapshot(out)  # complete, or it raises
            outcomes.append("complete")
        else:
            outcomes.append("absent")
        if attempt % 2:
            import shutil

            shutil.rmtree(out, ignore_errors=True)
    assert "absent" in outcomes, outcomes
    tamis(
        "snapshot",
        "build",
        "--export",
        str(export),
        "--policy",
        "linkedin-2025",
        "--cutoff",
        CUTOFF,
        "--out",
        str(out),
        "-q",
        "--force",
    )
    assert {p.name: p.read_bytes() for p in (out / "data").iterdir()} == expected
    leftovers = [p.name for p in tmp_path.iterdir() if ".tamis-tmp-" in p.name]
    assert leftovers == []


def _member_m1_is_out_for_its_consent(export: Path, snap: Path) -> dict[str, Any]:
    """Build ``export`` with the minimal policy; m1, the only member with records, is out with
    reason ``consent_invalid``. Returns the manifest."""
    tamis(
        "snapshot",
        "build",
        "--export",
        str(export),
        "--policy",
        "minimal",
        "--cutoff",
        CUTOFF,
        "--out",
        str(snap),
        "-q",
    )
    assert _records(snap) == []
    manifest: dict[str, Any] = json.loads((snap / "manifest.json").read_text())
    assert manifest["members"]["excluded_by_reason"]["consent_invalid"] == 1
    return manifest


def test_unparseable_consent_event_puts_its_member_out(small_export: Path, tmp_path: Path) -> None:
    with (small_export / "consent_events.jsonl").open("a") as handle:
        handle.write(
            '{"event_id": "e5", "member_id": "m1", "setting": "genai_training", "value": "yes",'
            ' "ts": "2025-12-01T00:00:00Z", "channel": "api"}\n'
        )
    snap = tmp_path / "snap"
    manifest = _member_m1_is_out_for_its_consent(small_export, snap)
    assert manifest["consent"]["members_with_invalid_events"] == 1
    rows = duckdb.sql(
        f"SELECT line, field, reason FROM '{snap}/quarantine/consent_events.parquet' ORDER BY line"
    ).fetchall()
    assert (4, "value", 'expected true or false, got str "yes"') in rows
    assert any("not in members" in r[2] for r in rows)  # the ghost's event is reported too


def test_consent_event_with_its_value_given_twice_puts_its_member_out(
    small_export: Path, tmp_path: Path
) -> None:
    # an allow that also says "false": whichever value a parser kept, the event is ambiguous
    with (small_export / "consent_events.jsonl").open("a") as handle:
        handle.write(
            '{"event_id": "e5", "member_id": "m1", "setting": "genai_training", "value": false,'
            ' "ts": "2025-12-01T00:00:00Z", "channel": "api", "value": true}\n'
        )
    snap = tmp_path / "snap"
    _member_m1_is_out_for_its_consent(small_export, snap)
    ((field, reason),) = duckdb.sql(
        f"SELECT field, reason FROM '{snap}/quarantine/consent_events.parquet' WHERE line = 4"
    ).fetchall()
    assert field == "value" and "appears more than once" in reason


def test_auto_consent_stops_when_the_registry_holds_an_objection_the_export_lacks(
    small_export: Path, tmp_path: Path
) -> None:
    # m1 objected on tamis' settings page (the registry); the export's events keep m1 in
    db = tmp_path / "registry.db"
    tamis("consent", "set", "m1", "--object", "--at", "2025-12-01T00:00:00Z", "--db", str(db))

    def build(out: str, *consent: str) -> subprocess.CompletedProcess[str]:
        return tamis(
            "snapshot", "build", "--export", str(small_export), "--policy", "minimal",
            "--cutoff", CUTOFF, "--out", str(tmp_path / f"snap-{out}"), "--db", str(db), "-q",
            *consent, check=False,
        )  # fmt: skip

    stopped = build("auto")
    assert stopped.returncode == 1 and "Traceback" not in stopped.stderr
    assert "disagree" in stopped.stderr and "m1 objected" in stopped.stderr
    assert "tamis consent import" in stopped.stderr and not (tmp_path / "snap-auto").exists()
    # neither source alone has both objections (m1's in the registry, m2's in the export)
    chosen = build("export", "--consent", "export")  # knowingly: built, and said
    assert chosen.returncode == 0 and [
        r["record_id"] for r in _records(tmp_path / "snap-export")
    ] == ["r1"]
    assert "--consent export kept them in" in " ".join(chosen.stderr.split())
    export_manifest = json.loads((tmp_path / "snap-export" / "manifest.json").read_text())
    assert export_manifest["consent"]["registry_disagreement"] == {
        "registry": f"sqlite:///{db}",
        "members": 1,
    }
    assert build("registry", "--consent", "registry").returncode == 0
    assert [r["record_id"] for r in _records(tmp_path / "snap-registry")] == ["r2"]
    # as the error says: the export's events into the registry, then build from it
    tamis("consent", "import", str(small_export / "consent_events.jsonl"), "--db", str(db))
    assert build("both", "--consent", "registry").returncode == 0
    assert _records(tmp_path / "snap-both") == []
    # a registry that agrees (m2 objected in both) lets the automatic choice through
    agreeing = tmp_path / "agreeing.db"
    tamis("consent", "set", "m2", "--object", "--at", "2025-12-01T00:00:00Z", "--db", str(agreeing))
    db.unlink()
    agreeing.rename(db)
    assert build("agreed").returncode == 0
    agreed = json.loads((tmp_path / "snap-agreed" / "manifest.json").read_text())
    assert agreed["consent"]["registry_disagreement"] == {
        "registry": f"sqlite:///{db}",
        "members": 0,
    }


def test_content_digest_is_the_digest_of_the_data_files(small_export: Path, tmp_path: Path) -> None:
    from tamis.pipeline.digest import content_digest

    snap = tmp_path / "snap"
    tamis(
        "snapshot",
        "build",
        "--export",
        str(small_export),
        "--policy",
        "linkedin-2025",
        "--cutoff",
        CUTOFF,
        "--out",
        str(snap),
        "-q",
        "--workers",
        "2",
    )
    manifest = json.loads((snap / "manifest.json").read_text())
    files = sorted((snap / "data").glob("*.parquet"))
    assert manifest["content_digest"] == content_digest(files)
    assert manifest["records"]["included"] == sum(
        f["rows"] for f in manifest["files"] if f["path"].startswith("data/")
    )


@pytest.mark.parametrize("form", ["jsonl", "parquet"])
def test_an_allow_less_than_a_microsecond_after_the_cutoff_changes_nothing(
    tmp_path: Path, form: str
) -> None:
    # m1 objected, then allowed again half a microsecond after the cutoff: at the cutoff m1 had
    # objected. Truncated to the microsecond, the allow would land on the cutoff and count.
    objected = {
        "event_id": "e1",
        "member_id": "m1",
        "setting": "genai_training",
        "value": False,
        "ts": "2025-12-01T00:00:00Z",
        "channel": "settings_page",
    }
    allowed = {**objected, "event_id": "e2", "value": True, "ts": "2026-01-01T00:00:00.0000005Z"}
    export = write_export(tmp_path / "export", [_member(1)], [_content(1, 1)], [objected, allowed])
    if form == "parquet":  # the same events as a typed nanosecond column
        import pyarrow as pa
        import pyarrow.parquet as pq

        (export / "consent_events.jsonl").unlink()
        ns = [1764547200_000_000_000, 1767225600_000_000_500]
        pq.write_table(
            pa.table({
                "event_id": ["e1", "e2"], "member_id": ["m1", "m1"],
                "setting": ["genai_training"] * 2, "value": [False, True],
                "ts": pa.array(ns, pa.timestamp("ns", "UTC")), "channel": ["settings_page"] * 2,
            }),
            export / "consent_events.parquet",
        )  # fmt: skip
    snap = tmp_path / "snap"
    tamis("snapshot", "build", "--export", str(export), "--policy", "minimal",
          "--cutoff", CUTOFF, "--out", str(snap), "-q")  # fmt: skip
    assert _records(snap) == []
    manifest = json.loads((snap / "manifest.json").read_text())
    assert manifest["members"]["excluded_by_reason"] == {"objected": 1}


def test_integer_record_ids_repeated_in_parquet_are_quarantined(tmp_path: Path) -> None:
    # the duplicate-id scan returned integers where the build expects text: a crash
    import pyarrow as pa
    import pyarrow.parquet as pq

    export = write_export(tmp_path / "export", [_member(1), _member(2)], [], [])
    (export / "content.jsonl").unlink()
    pq.write_table(
        pa.table({
            "record_id": pa.array([1, 1, 2], pa.int64()), "member_id": ["m1", "m2", "m1"],
            "kind": ["post"] * 3, "visibility": ["public"] * 3, "text": ["a", "b", "c"],
            "created_at": pa.array([datetime(2025, 6, 1, tzinfo=UTC)] * 3, ARROW_TS),
        }),
        export / "content.parquet",
    )  # fmt: skip
    snap = tmp_path / "snap"
    tamis("snapshot", "build", "--export", str(export), "--policy", "minimal",
          "--cutoff", CUTOFF, "--out", str(snap), "-q")  # fmt: skip
    assert [r["record_id"] for r in _records(snap)] == ["2"]
    reasons = duckdb.sql(
        f"SELECT key, reason FROM '{snap}/quarantine/content.parquet' ORDER BY line"
    ).fetchall()
    assert reasons == [("1", "record_id is not unique")] * 2


@pytest.mark.parametrize("damage", ["corrupt", "no record_id"])
def test_an_unreadable_content_part_is_named(tmp_path: Path, damage: str) -> None:
    """The duplicate-id scan (DuckDB) is the first to read every content file; its error named
    no file ("don't know what type"). The build names the part, as the reader would."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    export = write_export(tmp_path / "export", [_member(1)], [], [])
    (export / "content.jsonl").unlink()
    parts = export / "content"
    parts.mkdir()
    table = pa.table({
        "record_id": ["r1"], "member_id": ["m1"], "kind": ["post"], "visibility": ["public"],
        "text": ["a"], "created_at": pa.array([datetime(2025, 6, 1, tzinfo=UTC)], ARROW_TS),
    })  # fmt: skip
    pq.write_table(table, parts / "part-0.parquet")
    if damage == "corrupt":
        whole = (parts / "part-0.parquet").read_bytes()
        (parts / "part-1.parquet").write_bytes(whole[: len(whole) // 2] + b"\0" * 64 + whole[-8:])
    else:
        pq.write_table(table.drop_columns(["record_id"]), parts / "part-1.parquet")
    snap = tmp_path / "snap"
    failed = tamis("snapshot", "build", "--export", str(export), "--policy", "minimal",
                   "--cutoff", CUTOFF, "--out", str(snap), "-q", check=False)  # fmt: skip
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    expected = {
        "corrupt": "not a readable Parquet file (",
        "no record_id": "required column(s) missing: record_id",
    }
    assert f"error: content/part-1.parquet: {expected[damage]}" in " ".join(failed.stderr.split())
    assert not snap.exists()


def test_no_consent_source_or_an_empty_registry_stops_the_build(
    small_export: Path, tmp_path: Path
) -> None:
    """Without consent_events in the export, consent comes from the registry: none configured,
    or one that holds no event (made by mistake, never imported into), cannot hold a single
    objection, and every member would get the jurisdiction's default (allow)."""
    (small_export / "consent_events.jsonl").unlink()
    env = {k: v for k, v in os.environ.items() if k != "TAMIS_DB"}
    env["TAMIS_PSEUDONYM_KEY"] = TEST_KEY_HEX

    def build(*db: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tamis.cli", "snapshot", "build", "--export",
             str(small_export), "--policy", "minimal", "--cutoff", CUTOFF, "--out",
             str(tmp_path / "snap"), "-q", *db],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
        )  # fmt: skip

    none = build()
    assert none.returncode == 1 and "Traceback" not in none.stderr
    assert "no consent source" in none.stderr
    assert not (tmp_path / ".tamis").exists()  # and no registry was made on the way
    # a registry that is not there (a mistyped --db) is not made, empty, on the way
    missing = build("--db", str(tmp_path / "new.db"))
    assert missing.returncode == 1 and "there is no consent registry at" in missing.stderr
    assert not (tmp_path / "new.db").exists() and not (tmp_path / "snap").exists()
    db = str(tmp_path / "new.db")
    # an event for another setting is no consent for this purpose
    other_setting = tmp_path / "other.jsonl"
    other_setting.write_text(
        json.dumps({"event_id": "o1", "member_id": "m1", "setting": "marketing_emails",
                    "value": True, "ts": "2025-12-01T00:00:00Z", "channel": "api"}) + "\n"
    )  # fmt: skip
    tamis("consent", "import", str(other_setting), "--db", db)
    other = build("--db", db)
    assert other.returncode == 1 and "holds no genai_training event" in other.stderr
    tamis("consent", "set", "m1", "--object", "--at", "2025-12-01T00:00:00Z", "--db", db)
    assert build("--db", db).returncode == 0
    assert "r1" not in [r["record_id"] for r in _records(tmp_path / "snap")]


def _rewrite_manifest(snap: Path, change: Any) -> None:
    """Change the manifest as a tamperer would: its file entries made to match again."""
    from tamis.pipeline.manifest import describe_file

    manifest = json.loads((snap / "manifest.json").read_text())
    change(manifest)
    manifest["files"] = [
        describe_file(snap, snap / e["path"], **({"rows": e["rows"]} if "rows" in e else {}))
        for e in manifest["files"]
        if (snap / e["path"]).exists()
    ]
    (snap / "manifest.json").write_text(json.dumps(manifest))


def test_verify_holds_the_manifest_to_its_files(small_export: Path, tmp_path: Path) -> None:
    """Hashes alone passed a member taken out of members.parquet (with members_root recomputed)
    while their records stayed in data/: rights requests then never found them. Verification
    now holds the manifest's figures and commitment to the files, and refuses what a
    snapshot never holds (links, paths outside it, unlisted files anywhere)."""
    import shutil

    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from tamis.errors import VerificationError
    from tamis.lineage.merkle import merkle_root

    good = tmp_path / "good"
    tamis("snapshot", "build", "--export", str(small_export), "--policy", "linkedin-2025",
          "--cutoff", CUTOFF, "--out", str(good), "-q")  # fmt: skip
    verify_snapshot(good)

    def tampered(name: str, how: Any, expected: str) -> None:
        snap = tmp_path / name
        shutil.copytree(good, snap, symlinks=True)
        how(snap)
        with pytest.raises(VerificationError, match=expected):
            verify_snapshot(snap)

    def hide_a_member(snap: Path) -> None:
        members = pq.read_table(snap / "members.parquet")
        first = members.column("member_ref")[0]
        kept = members.filter(pc.not_equal(members.column("member_ref"), first))
        pq.write_table(kept, snap / "members.parquet")
        refs = sorted(set(kept.column("member_ref").to_pylist()))

        def commit(m: dict[str, Any]) -> None:
            m["members_root"] = merkle_root(refs)
            m["members"]["included"] = len(refs)
            for e in m["files"]:
                if e["path"] == "members.parquet":
                    e["rows"] = kept.num_rows

        _rewrite_manifest(snap, commit)

    tampered("hidden", hide_a_member, "members.parquet does not list the members of data/")

    def drop_a_part(snap: Path) -> None:
        (snap / "data" / "part-00000.parquet").unlink()

    tampered("dropped", lambda s: (drop_a_part(s), _rewrite_manifest(s, lambda m: None)),
             r"data/ holds 0 records, the manifest says [1-9]")  # fmt: skip
    tampered("counts", lambda s: _rewrite_manifest(s, lambda m: m["records"].update(included=1)),
             "data/ holds")  # fmt: skip
    tampered("quarantine", lambda s: _rewrite_manifest(s, lambda m: m.update(quarantined={})),
             "quarantine/ holds")  # fmt: skip

    def outside(snap: Path) -> None:
        shutil.copy(snap / "members.parquet", tmp_path / "evil.parquet")
        _rewrite_manifest(snap, lambda m: None)
        manifest = json.loads((snap / "manifest.json").read_text())
        manifest["files"].append({**manifest["files"][-1], "path": "../evil.parquet"})
        (snap / "manifest.json").write_text(json.dumps(manifest))

    tampered("outside", outside, "not a path inside the snapshot")

    def linked(snap: Path) -> None:
        part = snap / "data" / "part-00000.parquet"
        part.rename(tmp_path / "elsewhere.parquet")
        part.symlink_to(tmp_path / "elsewhere.parquet")

    tampered("linked", linked, "a symbolic link")
    tampered("extra", lambda s: (s / "notes.txt").write_text("x"), "notes.txt: not listed")
    tampered("shape", lambda s: (s / "manifest.json").write_text('{"format": "tamis.snapshot/v1"'
             ', "files": {"a": 1}}'), "'files' is not a list")  # fmt: skip


def test_a_deeply_nested_line_is_read_by_the_duplicate_scan_too(
    small_export: Path, tmp_path: Path
) -> None:
    """An extra column nested deeper than DuckDB's JSON reader reads (128 levels): tamis' reader
    took the line and the duplicate-id scan died (a traceback). The scan reads each line as a
    JSON value now: the line's id is seen, and a repeated id is caught."""
    deep = {**_content(1, 1), "extra": json.loads("[" * 200 + "]" * 200)}  # r1 again
    with (small_export / "content.jsonl").open("a") as handle:
        handle.write(json.dumps(deep) + "\n")
    _build_minimal(small_export, tmp_path / "s")
    assert "r1" not in [r["record_id"] for r in _records(tmp_path / "s")]
    reasons = duckdb.sql(
        f"SELECT key, reason FROM '{tmp_path}/s/quarantine/content.parquet' WHERE key = 'r1'"
    ).fetchall()
    assert reasons == [("r1", "record_id is not unique")] * 2


def test_members_who_objected_since_the_cutoff_are_counted_and_said(
    small_export: Path, tmp_path: Path
) -> None:
    """m1 objected the day after the cutoff: as the spec says, the snapshot as of the cutoff
    keeps m1's data; the manifest counts such members and the build says so on stderr, from
    the export's events and from a registry alike."""
    built = _build_minimal(small_export, tmp_path / "s")
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["consent"]["objected_after_cutoff"] == 1
    assert "1 member(s) this snapshot keeps in (eligible at its cutoff) have objected" in " ".join(
        built.stderr.split()
    )
    assert "r1" in [r["record_id"] for r in _records(tmp_path / "s")]  # the spec's semantics
    db = str(tmp_path / "registry.db")
    tamis("consent", "import", str(small_export / "consent_events.jsonl"), "--db", db)
    (small_export / "consent_events.jsonl").unlink()
    _build_minimal(small_export, tmp_path / "r", "--db", db)
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["consent"]["objected_after_cutoff"] == 1


def test_an_event_for_a_setting_the_policy_does_not_know_puts_its_member_out(
    small_export: Path, tmp_path: Path
) -> None:
    """A misspelt setting may be a lost objection: from the export or from the registry, an
    event for the policy's setting spelt otherwise puts its member out (consent_invalid), and
    ``consent set`` refuses a setting no policy declares rather than record it. In the registry
    (shared by policies) a setting of another name changes nothing."""
    events = [
        {"event_id": "x1", "member_id": "m1", "setting": "genai-training", "value": False,
         "ts": "2025-12-01T00:00:00Z", "channel": "settings_page"},
        {"event_id": "x2", "member_id": "m2", "setting": "genai_training", "value": True,
         "ts": "2025-12-01T00:00:00Z", "channel": "settings_page"},
    ]  # fmt: skip
    lines = "".join(json.dumps(e) + "\n" for e in events)
    (small_export / "consent_events.jsonl").write_text(lines)
    from_export = _build_minimal(small_export, tmp_path / "snap-export", "--consent", "export")
    assert from_export.returncode == 0
    db = tmp_path / "registry.db"
    (tmp_path / "events.jsonl").write_text(lines)
    tamis("consent", "import", str(tmp_path / "events.jsonl"), "--db", str(db))
    (small_export / "consent_events.jsonl").unlink()
    from_registry = _build_minimal(small_export, tmp_path / "snap-registry", "--db", str(db))
    assert from_registry.returncode == 0
    for snap in ("snap-export", "snap-registry"):
        manifest = json.loads((tmp_path / snap / "manifest.json").read_text())
        assert manifest["members"]["excluded_by_reason"]["consent_invalid"] == 1, snap
        assert [r["record_id"] for r in _records(tmp_path / snap)] == ["r2"], snap
    # an event of another name (another policy's setting) changes nothing for this build
    (tmp_path / "research.jsonl").write_text(
        json.dumps({"event_id": "x3", "member_id": "m2", "setting": "research", "value": False,
                    "ts": "2025-12-01T00:00:00Z", "channel": "api"}) + "\n"
    )  # fmt: skip
    tamis("consent", "import", str(tmp_path / "research.jsonl"), "--db", str(db))
    again = _build_minimal(small_export, tmp_path / "snap-again", "--db", str(db))
    assert again.returncode == 0
    assert [r["record_id"] for r in _records(tmp_path / "snap-again")] == ["r2"]
    # what the build does, `consent state` says: m1 is out, and why; m2's other setting is fine
    at = ("--as-of", "2026-01-01T00:00:00Z", "--db", str(db))
    m1 = " ".join(tamis("consent", "state", "m1", *at).stdout.split())  # Rich wraps lines
    assert "out (consent_invalid: 1 event(s) for setting 'genai-training', spelt unlike" in m1
    assert "out" not in tamis("consent", "state", "m2", *at).stdout
    # asked of another setting, m1 is out only where the policy's own settings are checked too
    research = ("consent", "state", "m1", "--setting", "research", *at)
    assert "out" not in tamis(*research).stdout
    said = " ".join(tamis(*research, "--policy", "minimal").stdout.split())  # Rich wraps lines
    assert "out (consent_invalid: 1 event(s) for setting 'genai-training', spelt unlike" in said
    typo = tamis("consent", "set", "m2", "--object", "--setting", "GENAI_TRAINING",
                 "--db", str(db), check=False)  # fmt: skip
    assert typo.returncode == 1 and "unknown setting 'GENAI_TRAINING'" in typo.stderr
    assert "Traceback" not in typo.stderr


def test_auto_consent_stops_on_a_registry_reject_that_names_no_member(
    small_export: Path, tmp_path: Path
) -> None:
    """The registry beside the export's events is held to what --consent registry holds it to:
    a reject whose member cannot be read may be anyone's objection."""
    db = tmp_path / "registry.db"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps({"event_id": "b1", "member_id": ["m1"], "setting": "genai_training",
                    "value": False, "ts": "2025-12-01T00:00:00Z", "channel": "api"}) + "\n"
    )  # fmt: skip
    tamis("consent", "import", str(bad), "--db", str(db), check=False)
    auto = tamis("snapshot", "build", "--export", str(small_export), "--policy", "minimal",
                 "--cutoff", CUTOFF, "--out", str(tmp_path / "snap"), "-q", "--db", str(db),
                 check=False)  # fmt: skip
    assert auto.returncode == 1 and "Traceback" not in auto.stderr
    assert "name no member" in auto.stderr and not (tmp_path / "snap").exists()


def test_an_objection_to_a_policys_own_setting_reaches_its_builds(
    small_export: Path, tmp_path: Path
) -> None:
    """A policy may govern its purpose by a setting of its own name: ``rights object`` (and
    ``rights sweep``) then object to that setting, which the policy's builds read; an objection
    recorded for genai_training would be read by none of them, so ``--policy`` refuses it."""
    preset = Path(__file__).parents[2] / "src/tamis/policy/presets/minimal.yaml"
    policy = tmp_path / "own-setting.yaml"
    policy.write_text(preset.read_text().replace("genai_training", "ai_training"))
    events = (small_export / "consent_events.jsonl").read_text()
    (tmp_path / "events.jsonl").write_text(events.replace("genai_training", "ai_training"))
    (small_export / "consent_events.jsonl").unlink()
    db = str(tmp_path / "registry.db")
    tamis("consent", "import", str(tmp_path / "events.jsonl"), "--db", db)
    at = ("--at", "2025-12-01T00:00:00Z", "--db", db)
    refused = tamis("rights", "object", "m1", "--policy", str(policy), *at, check=False)
    assert refused.returncode == 1
    assert "unknown setting 'genai_training'; settings of policy" in refused.stderr
    tamis("rights", "object", "m1", "--setting", "ai_training", "--policy", str(policy), *at)
    build = ("--policy", str(policy), "--cutoff", CUTOFF, "--db", db, "-q")
    tamis("snapshot", "build", "--export", str(small_export), "--out", str(tmp_path / "s"), *build)
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["members"]["excluded_by_reason"]["objected"] == 2  # m2 imported, m1 now
    assert _records(tmp_path / "s") == []
    # an objection made as a choice is swept for the setting named, not for genai_training
    tamis("consent", "set", "m3", "--object", "--setting", "ai_training", "--policy", str(policy),
          *at)  # fmt: skip
    swept = json.loads(tamis("rights", "sweep", "--db", db, "--json").stdout)
    assert swept["requests_recorded"] == 0
    own = ("--setting", "ai_training", "--policy", str(policy), "--db", db, "--json")
    swept = json.loads(tamis("rights", "sweep", *own).stdout)
    # the three imported objections (m2's, m1's after the cutoff, the unknown ghost's) and m3's;
    # m1's objection of rights object has its request already
    assert swept["requests_recorded"] == 4
