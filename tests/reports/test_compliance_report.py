"""The compliance report: every number re-checked by independent DuckDB queries.

One small synthetic platform (module fixture): consent imported into a SQLite registry, snapshots
built with the ``minimal`` and ``linkedin-2025`` presets. The report's figures are re-run from
their recorded query text in a fresh DuckDB session set up here (the registry read with the
standard library's sqlite3), and key figures are compared with queries written in this file.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
import yaml

from tamis.errors import InputError
from tamis.policy import load_policy
from tamis.reports import Document
from tamis.reports.document import Check
from tamis.reports.evidence import Figure, FigureTable

CUTOFF = datetime(2026, 1, 1, tzinfo=UTC)


def _independent_session(doc: Document, db: Path) -> duckdb.DuckDBPyConnection:
    """The report's prelude, except the registry: read here with sqlite3, not by the report."""
    con = duckdb.connect()
    for statement in doc.prelude:
        if "consent_events" in statement:
            continue
        con.execute(statement)
    raw = sqlite3.connect(db)
    rows = raw.execute(
        "SELECT event_id, member_id, setting, value, ts, channel, recorded_at FROM consent_events"
    ).fetchall()
    raw.close()
    cols = list(zip(*rows, strict=True))
    con.register(
        "_sqlite_events",
        pa.table(
            {
                n: pa.array(list(c))
                for n, c in zip(
                    ["event_id", "member_id", "setting", "value", "ts", "channel", "recorded_at"],
                    cols,
                    strict=True,
                )
            }
        ),
    )
    con.execute(
        "CREATE VIEW consent_events AS SELECT event_id, member_id, setting, "
        "value::BOOLEAN AS value, ts::TIMESTAMPTZ AS ts, channel, "
        "recorded_at::TIMESTAMPTZ AS recorded_at FROM _sqlite_events"
    )
    return con


def _fig(doc: Document, key: str) -> Figure | FigureTable:
    return next(f for f in doc.figures if f.key == key)


def test_every_sql_figure_reproduces_from_its_recorded_query(
    report: Document, world: dict[str, Path]
) -> None:
    con = _independent_session(report, world["db"])
    sql_figures = [f for f in report.figures if f.lang == "sql"]
    assert len(sql_figures) > 20
    for fig in sql_figures:
        rel = con.sql(fig.query)
        if isinstance(fig, Figure):
            assert rel.fetchall() == [(fig.value,)], fig.key
        else:
            assert tuple(rel.columns) == fig.columns, fig.key
            assert tuple(tuple(r) for r in rel.fetchall()) == fig.rows, fig.key
    # Figures that are not SQL name the command that reproduces them.
    for fig in report.figures:
        assert fig.query.strip(), fig.key
        if fig.lang == "command":
            assert fig.query.startswith("tamis "), fig.key


class _Spans(HTMLParser):
    """Collects (data-key, data-value, text) of figure spans and the figure tables' cells."""

    def __init__(self) -> None:
        super().__init__()
        self.figs: list[tuple[str, str]] = []
        self.tables: dict[str, list[str]] = {}
        self._table: str | None = None
        self.refs: set[str] = set()
        self.anchors: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "span" and a.get("class") == "fig":
            self.figs.append((a["data-key"] or "", a["data-value"] or ""))
        if tag == "table" and a.get("class") == "figtable":
            self._table = a["data-key"]
            self.tables[self._table or ""] = []
        if tag == "td" and self._table and "data-value" in a:
            self.tables[self._table].append(a["data-value"] or "")
        if tag == "a" and (a.get("href") or "").startswith("#q"):
            self.refs.add((a["href"] or "")[1:])
        if tag == "li" and (a.get("id") or "").startswith("q"):
            self.anchors.add(a["id"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None


def test_every_number_shown_is_a_figure_with_a_footnote(report: Document) -> None:
    html = report.render_html()
    parser = _Spans()
    parser.feed(html)
    by_key = {f.key: f for f in report.figures}
    assert parser.figs
    for key, value in parser.figs:
        assert str(by_key[key].value) == value
    for key, cells in parser.tables.items():
        table = by_key[key]
        assert isinstance(table, FigureTable)
        assert cells == [str(v) for row in table.rows for v in row]
    # every footnote points at an entry of the reproduction appendix, and back
    assert parser.refs == parser.anchors == {f"q{f.ref}" for f in report.figures}
    # the Markdown shows the same values
    md = report.render_markdown("plots")
    for fig in report.figures:
        assert f"[[{fig.ref}]](#q{fig.ref})" in md
        if isinstance(fig, Figure):
            assert fig.display in md, fig.key


def test_key_figures_equal_hand_written_queries(report: Document, world: dict[str, Path]) -> None:
    snap = world["linkedin-2025"]
    con = duckdb.connect()
    manifest = json.loads((snap / "manifest.json").read_text())
    (rows,) = con.sql(f"SELECT count(*) FROM read_parquet('{snap}/data/*.parquet')").fetchall()
    assert _fig(report, "data.rows").value == rows[0] == manifest["records"]["included"]
    (members,) = con.sql(
        f"SELECT count(DISTINCT member_ref) FROM read_parquet('{snap}/members.parquet')"
    ).fetchall()
    assert _fig(report, "data.members").value == members[0] == manifest["members"]["included"]
    by_cat = con.sql(
        f"SELECT category, count(*) FROM read_parquet('{snap}/data/*.parquet') "
        "GROUP BY 1 ORDER BY 1"
    ).fetchall()
    table = _fig(report, "minimisation.included_by_category")
    assert isinstance(table, FigureTable)
    assert [(r[0], r[1]) for r in table.rows] == by_cat
    assert dict(by_cat) == manifest["records"]["included_by_category"]
    exclusions = _fig(report, "minimisation.exclusions")
    assert isinstance(exclusions, FigureTable)
    assert {r[0]: r[1] for r in exclusions.rows if r[1]} == manifest["records"][
        "excluded_by_reason"
    ]
    assert {r[0]: r[2] for r in exclusions.rows if r[2]} == manifest["members"][
        "excluded_by_reason"
    ]
    pii = _fig(report, "technical.pii_redacted")
    assert isinstance(pii, FigureTable)
    assert {r[1]: r[2] for r in pii.rows} == manifest["stage_counts"]["pii.redact.v1"]


def _members(world: dict[str, Path]) -> list[dict[str, Any]]:
    text = (world["export"] / "members.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _objectors_at_cutoff(world: dict[str, Path]) -> set[str]:
    """Members whose deciding event at the cutoff is an objection, computed in Python."""
    raw = sqlite3.connect(world["db"])
    events = raw.execute(
        "SELECT member_id, value, ts, event_id FROM consent_events WHERE setting = 'genai_training'"
    ).fetchall()
    raw.close()
    return {m for m, v in _decide(events, "2026-01-01T00:00:00.000000Z").items() if v == 0}


def _decide(events: list[tuple[str, int, str, str]], limit: str) -> dict[str, int]:
    """The data contract's rule: latest instant, an objection wins a tie, then smallest id."""
    per_member: dict[str, list[tuple[float, int, str]]] = {}
    for member, value, ts, event_id in events:
        if ts <= limit:
            instant = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
            per_member.setdefault(member, []).append((-instant.timestamp(), value, event_id))
    return {m: min(evs)[1] for m, evs in per_member.items()}


def test_objections_honoured_equal_objections_recorded_before_cutoff(
    report: Document, world: dict[str, Path]
) -> None:
    policy = load_policy("linkedin-2025").policy
    members = _members(world)
    countries = {m["member_id"]: m["country"] for m in members}
    objectors = _objectors_at_cutoff(world)
    expected = 0
    for member in objectors:
        if member not in countries:
            continue
        j = policy.jurisdiction_for(countries[member])
        if j is not None and j.start <= CUTOFF:
            expected += 1
    manifest = json.loads((world["linkedin-2025"] / "manifest.json").read_text())
    honoured = manifest["members"]["excluded_by_reason"].get("objected", 0)
    assert _fig(report, "objection.expected").value == expected == honoured
    assert _fig(report, "objection.honoured").value == honoured
    assert _fig(report, "objection.objecting_at_cutoff").value == len(objectors)
    check = next(
        b
        for s in report.sections
        for b in s.blocks
        if isinstance(b, Check) and b.statement.startswith("objections honoured")
    )
    assert check.ok is True


def test_time_to_first_excluding_snapshot(report: Document, world: dict[str, Path]) -> None:
    latency = _fig(report, "objection.latency")
    assert isinstance(latency, FigureTable)
    (row,) = latency.rows
    objections, covered, not_covered = row[0], row[1], row[2]
    assert objections == covered + not_covered
    # Independent: objections after their region's start, covered iff ts <= the latest cutoff.
    policy = load_policy("linkedin-2025").policy
    countries = {m["member_id"]: m["country"] for m in _members(world)}
    raw = sqlite3.connect(world["db"])
    events = raw.execute(
        "SELECT member_id, ts FROM consent_events WHERE setting = 'genai_training' AND NOT value"
    ).fetchall()
    raw.close()
    n = late = 0
    for member, ts in events:
        j = policy.jurisdiction_for(countries.get(member))
        if member not in countries or j is None:
            continue
        instant = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        if instant >= j.start:
            n += 1
            late += instant > CUTOFF
    assert (objections, not_covered) == (n, late)
    snaps = _fig(report, "objection.snapshots")
    assert isinstance(snaps, FigureTable)
    assert len(snaps.rows) == 2


def _used(policy_file: dict[str, Any]) -> set[str]:
    """Categories a preset uses, computed from its YAML without tamis.policy."""
    from tamis.policy.categories import ALL_CATEGORIES

    purpose = next(iter(policy_file["purposes"].values()))

    def under(key: str, cat: str) -> bool:
        return cat == key or cat.startswith(key + ".")

    return {
        c
        for c in ALL_CATEGORIES
        if any(under(k, c) for k in purpose["categories"])
        and not any(under(x, c) for x in policy_file["exclusions"]["categories"])
    }


def test_minimal_diff_lists_exactly_the_differing_categories(report: Document) -> None:
    presets = Path(__file__).parents[2] / "src" / "tamis" / "policy" / "presets"
    linkedin = _used(yaml.safe_load((presets / "linkedin-2025.yaml").read_text()))
    minimal = _used(yaml.safe_load((presets / "minimal.yaml").read_text()))
    diff = _fig(report, "minimisation.diff")
    assert isinstance(diff, FigureTable)
    assert [r[0] for r in diff.rows] == sorted(linkedin ^ minimal)
    assert {r[0] for r in diff.rows if r[1] == "yes"} == linkedin - minimal
    assert {r[0] for r in diff.rows if r[2] == "yes"} == minimal - linkedin
    html = report.render_html()
    for category in linkedin ^ minimal:
        assert category in html


def test_minimal_snapshot_has_an_empty_diff_and_writes_both_formats(
    world: dict[str, Path], tmp_path: Path, build_report: Callable[..., Document]
) -> None:
    doc = build_report("minimal")
    diff = _fig(doc, "minimisation.diff")
    assert isinstance(diff, FigureTable) and diff.rows == ()
    written = doc.write(tmp_path / "r.html")
    names = {p.name for p in written}
    assert {"r.html", "r.md", "r-reproduce.sql"} <= names
    assert {p.name for p in (tmp_path / "r-plots").iterdir()} == {
        "exclusions-by-reason.png",
        "consent-over-time.png",
        "pii-by-type.png",
        "exposure-by-repetition.png",
    }
    html = (tmp_path / "r.html").read_text()
    assert html.count("data:image/png;base64,") == 4
    assert "<script" not in html and "http://" not in html and "https://" not in html
    md = (tmp_path / "r.md").read_text()
    assert "](r-plots/consent-over-time.png)" in md
    # versioned by policy sha256
    sha = json.loads((world["minimal"] / "manifest.json").read_text())["policy"]["sha256"]
    assert sha[:12] in doc.doc_id


def test_audit_directory_is_read_and_absent_audit_is_said(
    world: dict[str, Path],
    tmp_path: Path,
    report: Document,
    build_report: Callable[..., Document],
) -> None:
    assert "no audit given" in report.render_markdown("p")
    audit = tmp_path / "audit"
    audit.mkdir()
    (audit / "audit.json").write_text(
        json.dumps(
            {
                "verdict": "pass",
                "figures": {"canaries": 40, "max_exposure": 3.25},
                "exposure_by_repetition": [
                    {"repetitions": 1, "exposure": 1.5},
                    {"repetitions": 10, "exposure": 2.75},
                ],
            }
        )
    )
    doc = build_report("minimal", audit=audit)
    assert _fig(doc, "audit.verdict").value == "pass"
    assert _fig(doc, "audit.figures.canaries").value == 40
    exposure = _fig(doc, "audit.exposure_by_repetition")
    assert isinstance(exposure, FigureTable)
    assert exposure.rows == ((1, 1.5), (10, 2.75))
    con = _independent_session(doc, world["db"])
    assert con.sql(exposure.query).fetchall() == [(1, 1.5), (10, 2.75)]
    # an audit.json without a verdict (the canary-plant summary) is said, not passed over
    (audit / "audit.json").write_text(json.dumps({"canaries": 40, "controls": 40, "seed": 1}))
    md = build_report("minimal", audit=audit).render_markdown("p")
    assert "holds no verdict" in md
    # a malformed one is an error naming the file, not a traceback
    (audit / "audit.json").write_text("{not json")
    with pytest.raises(InputError, match="not a JSON audit result"):
        build_report("minimal", audit=audit)


def test_residual_pii_names_its_command(report: Document) -> None:
    sample = _fig(report, "technical.residual_sample")
    assert sample.value == 200
    assert re.search(
        r"tamis report residual-pii --snapshot \S+ --sample 200 --seed 0", sample.query
    )


def _key_of(manifest: dict[str, Any]) -> Any:
    from tamis.keys import PseudonymKey

    key = PseudonymKey(bytes.fromhex("22" * 32), "test")  # the world's key (conftest)
    assert key.key_id == manifest["key_id"]
    return key


def _checks(doc: Document) -> dict[str, bool | None]:
    return {b.statement: b.ok for s in doc.sections for b in s.blocks if isinstance(b, Check)}


def test_a_build_without_its_stages_or_with_other_files_is_red(
    world: dict[str, Path], tmp_path: Path
) -> None:
    """A snapshot built with --no-stages got a residual-PII rate of 0 (measured against the
    types the build redacted: none) and nothing red; a data file replaced after the build got
    green checks. The stages and dedup the policy declares must have run, the residual rate is
    measured against the policy's redaction, and the files must match the manifest."""
    import shutil

    from tamis.pipeline.build import BuildRequest, build_snapshot
    from tamis.reports import ComplianceOptions, compliance_report

    manifest = json.loads((world["minimal"] / "manifest.json").read_text())
    out = tmp_path / "bare"
    build_snapshot(
        BuildRequest(
            export_dir=world["export"], out=out, policy=load_policy("minimal"),
            cutoff=datetime.fromisoformat(manifest["cutoff"]), key=_key_of(manifest),
            consent="registry", registry_url=str(world["db"]), run_stages=False,
        )
    )  # fmt: skip
    options = ComplianceOptions(registry=str(world["db"]), export=world["export"], sample=200)
    checks = _checks(compliance_report(out, options))
    assert (
        checks["the text stages the policy declares ran in this build (declared: 1, ran: 0)"]
        is False
    )
    assert checks["the deduplication the policy declares ran in this build"] is False
    doc = compliance_report(out, options)
    residual = _fig(doc, "technical.residual_texts")
    assert residual.value > 0  # names and e-mails left in clear are counted against the policy
    tampered = tmp_path / "tampered"
    shutil.copytree(world["minimal"], tampered)
    part = next((tampered / "data").glob("*.parquet"))
    shutil.copy(next((out / "data").glob("*.parquet")), part)
    checks = _checks(compliance_report(tampered, options))
    assert [ok for text, ok in checks.items() if "match its manifest" in text] == [False]


def test_an_audit_of_another_snapshot_does_not_pass(
    world: dict[str, Path], tmp_path: Path, build_report: Callable[..., Document]
) -> None:
    audit = tmp_path / "audit"
    audit.mkdir()
    ours = json.loads((world["minimal"] / "manifest.json").read_text())["snapshot_id"]
    for source, ok in ((ours, True), ("snap-other", False), (None, False)):
        result = {"verdict": "pass", **({"source_snapshot_id": source} if source else {})}
        (audit / "audit.json").write_text(json.dumps(result))
        verdicts = [v for k, v in _checks(build_report("minimal", audit=audit)).items()
                    if "memorisation audit verdict" in k]  # fmt: skip
        assert verdicts == [ok], source
