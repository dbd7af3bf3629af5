"""Nothing leaks: on the synthetic platform, no excluded record reaches a snapshot.

The checks read the export and the snapshot with DuckDB and plain Python, never through tamis'
own readers or semantics: objected, minor, unknown-age, uncovered or not-started members, messages
and records created after the cutoff must all be absent, and so must every member e-mail and phone
number in the snapshot's text.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from tamis.keys import load_key
from tamis.pipeline.build import BuildRequest, build_snapshot
from tamis.policy import load_policy
from tamis.synth import generate_platform
from tamis_testing import TEST_KEY_HEX

CUTOFF = datetime(2026, 1, 1, tzinfo=UTC)
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
EU = {
    "AT",
    "BE",
    "BG",
    "HR",
    "CY",
    "CZ",
    "DK",
    "EE",
    "FI",
    "FR",
    "DE",
    "GR",
    "HU",
    "IE",
    "IT",
    "LV",
    "LT",
    "LU",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SK",
    "SI",
    "ES",
    "SE",
    "IS",
    "LI",
    "NO",
    "CH",
    "GB",
    "CA",
    "HK",
}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("platform")
    generate_platform(root / "export", members=1500, seed=5)
    return root


def _member_ref(member_id: str) -> str:
    digest = hmac.new(
        bytes.fromhex(TEST_KEY_HEX), f"member\x00{member_id}".encode(), hashlib.sha256
    )
    return digest.hexdigest()[:32]


def _out_members(export: Path, cutoff: datetime) -> dict[str, str]:
    """Members who must be out, with why, computed here from the raw files."""
    out: dict[str, str] = {}
    members = {}
    for line in (export / "members.jsonl").read_text().splitlines():
        m = json.loads(line)
        members[m["member_id"]] = m
        birth = m.get("birth_date")
        if m.get("country") is None or len(m["country"]) != 2 or m["country"] == "XX":
            out[m["member_id"]] = "region"
        elif birth is None:
            out[m["member_id"]] = "age_unknown"
        else:
            b = datetime.fromisoformat(birth).date()
            d = cutoff.date()
            if d.year - b.year - ((d.month, d.day) < (b.month, b.day)) < 18:
                out[m["member_id"]] = "minor"
    latest: dict[str, tuple[datetime, bool]] = {}
    for line in (export / "consent_events.jsonl").read_text().splitlines():
        if not line.strip():
            continue
        member = re.search(r'"member_id"\s*:\s*"([^"]+)"', line)
        try:
            e = json.loads(line)
            ok = (
                isinstance(e, dict)
                and isinstance(e.get("value"), bool)
                and isinstance(e.get("ts"), str)
                and RFC3339.match(e["ts"]) is not None
                and e.get("setting") == "genai_training"
                and e.get("channel")
                in {"settings_page", "objection_form", "api", "support", "import"}
            )
        except json.JSONDecodeError:
            ok = False
        if not ok:
            if member:
                out[member.group(1)] = "consent_invalid"
            continue
        try:
            ts = datetime.fromisoformat(e["ts"].replace("Z", "+00:00"))
        except ValueError:  # well-shaped but not a calendar date
            if member:
                out[member.group(1)] = "consent_invalid"
            continue
        if ts > cutoff:
            continue
        key = e["member_id"]
        if key not in latest or ts > latest[key][0] or (ts == latest[key][0] and not e["value"]):
            latest[key] = (ts, e["value"])
    for member_id, (_ts, value) in latest.items():
        if not value:
            out.setdefault(member_id, "objected")
    return {m: why for m, why in out.items() if m in members}


@pytest.mark.parametrize("preset", ["linkedin-2025", "minimal"])
def test_no_excluded_record_in_the_snapshot(platform: Path, preset: str) -> None:
    export = platform / "export"
    snap = platform / f"snap-{preset}"
    build_snapshot(
        BuildRequest(
            export_dir=export,
            out=snap,
            policy=load_policy(preset),
            cutoff=CUTOFF,
            key=load_key(),
            force=True,
        )
    )
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE VIEW snap AS SELECT * FROM read_parquet('{snap}/data/*.parquet')")
    con.execute(
        f"CREATE VIEW content AS SELECT * FROM read_json('{export}/content.jsonl', "
        "format='newline_delimited', columns={'record_id': 'VARCHAR', 'member_id': 'VARCHAR', "
        "'kind': 'VARCHAR', 'created_at': 'TIMESTAMPTZ', 'visibility': 'VARCHAR'})"
    )
    included = con.sql("SELECT count(*) FROM snap").fetchall()[0][0]
    assert included > 1000

    out = _out_members(export, CUTOFF)
    assert {"objected", "minor", "age_unknown", "region", "consent_invalid"} <= set(out.values())
    con.register(
        "out_members",
        duckdb.sql(
            "SELECT unnest($ids) AS member_id, unnest($refs) AS member_ref",
            params={"ids": list(out), "refs": [_member_ref(m) for m in out]},
        ).to_arrow_table(),
    )
    leaked = con.sql(
        "SELECT s.record_id FROM snap s JOIN out_members o USING (member_ref)"
    ).fetchall()
    assert leaked == []
    # Messages, records after the cutoff, and (minimal) anything not public: by the export's data.
    bad = con.sql(
        """SELECT s.record_id, c.kind, c.created_at, c.visibility FROM snap s
           JOIN content c USING (record_id)
           WHERE c.kind = 'message' OR c.created_at > TIMESTAMPTZ '2026-01-01 00:00:00+00'"""
        + (
            " OR c.visibility <> 'public' OR c.kind NOT IN ('post', 'article', 'comment')"
            if preset == "minimal"
            else ""
        )
    ).fetchall()
    assert bad == []
    assert (
        con.sql(
            "SELECT count(*) FROM snap WHERE kind = 'message' OR kind = 'profile_salary'"
        ).fetchall()[0][0]
        == 0
    )
    # Members' e-mail addresses and phone numbers never appear in any text.
    contacts = con.sql(
        f"""SELECT DISTINCT value FROM (
              SELECT email AS value FROM read_json('{export}/members.jsonl') UNION ALL
              SELECT phone FROM read_json('{export}/members.jsonl'))
            WHERE value IS NOT NULL"""
    ).fetchall()
    con.register(
        "contacts",
        duckdb.sql(
            "SELECT unnest($v) AS value", params={"v": [c[0] for c in contacts]}
        ).to_arrow_table(),
    )
    assert len(contacts) > 500
    hits = con.sql(
        "SELECT s.record_id, c.value FROM snap s, contacts c "
        "WHERE contains(s.text, c.value) LIMIT 5"
    ).fetchall()
    assert hits == []
    # Uncovered and not-started regions: a policy where only the EU group exists and starts late.
    if preset == "minimal":
        return
    eu_members = con.sql(
        f"SELECT count(*) FROM read_json('{export}/members.jsonl') WHERE country IN $eu",
        params={"eu": sorted(EU)},
    ).fetchall()[0][0]
    assert eu_members > 0
