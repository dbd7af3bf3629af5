"""Record of processing, LIA, DPIA and the notice: prefilled from the policy, judgements marked."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import tamis.cli.report  # noqa: F401  (registers the group until the lead adds it to tamis.cli)
from tamis.cli import app
from tamis.policy import load_policy
from tamis.reports import dpia_report, lia_report, render_notice, ropa_report
from tamis.reports.document import Todo


@pytest.mark.parametrize("make", [ropa_report, lia_report, dpia_report])
def test_prefilled_from_the_policy_with_marked_judgements(make, tmp_path: Path) -> None:
    doc = make("linkedin-2025")
    todos = [b for s in doc.sections for b in s.blocks if isinstance(b, Todo)]
    assert todos, "human judgements must be left as marked fields"
    md = doc.render_markdown("p")
    html = doc.render_html()
    assert md.count("TO BE COMPLETED BY THE DPO") == len(todos)
    assert html.count('class="todo"') == len(todos)
    loaded = load_policy("linkedin-2025")
    assert loaded.sha256[:12] in doc.doc_id
    for category in loaded.policy.used_categories("genai.content_creation"):
        assert category in md
    assert "pii.redact.v1" in md  # the safeguard actually enabled
    for fig in doc.figures:
        assert fig.query.startswith("tamis policy"), fig.key


def test_dpia_claims_only_the_measures_the_policy_enables() -> None:
    # the table was fixed text: it claimed duplicate removal for linkedin-2025, which has none
    def measures(policy: str) -> dict[str, str]:
        table = next(f for f in dpia_report(policy).figures if f.key == "dpia.risks")
        return {str(r[0]): str(r[1]) for r in table.rows}

    linkedin, minimal = measures("linkedin-2025"), measures("minimal")
    memorisation = next(k for k in linkedin if k.startswith("Memorisation"))
    special = next(k for k in linkedin if k.startswith("Special-category"))
    assert "NO duplicate removal" in linkedin[memorisation]
    assert "NO sensitive-data stage" in linkedin[special]
    assert "NO" not in minimal[memorisation] and "duplicate removal" in minimal[memorisation]
    assert "drops or redacts special-category data" in minimal[special]
    assert "not enforced by the policy" in minimal[memorisation]  # the audit is a separate step


def test_lia_necessity_lists_what_goes_beyond_minimal() -> None:
    doc = lia_report("linkedin-2025")
    beyond = next(f for f in doc.figures if f.key == "lia.beyond_minimal")
    linkedin = set(load_policy("linkedin-2025").policy.used_categories("genai.content_creation"))
    minimal = set(load_policy("minimal").policy.used_categories("genai.content_creation"))
    assert [r[0] for r in beyond.rows] == sorted(linkedin - minimal)
    assert lia_report("minimal").figures[0].rows == ()


def test_with_a_snapshot_adds_measured_figures(world: dict[str, Path]) -> None:
    doc = ropa_report(snapshot=world["minimal"])
    keys = {f.key for f in doc.figures}
    assert {"measured.records", "measured.members", "measured.objected"} <= keys
    assert doc.prelude  # SQL figures come with their prelude


def test_notice_is_versioned_by_policy_and_bilingual() -> None:
    en = render_notice(load_policy("minimal"), "en")
    fr = render_notice(load_policy("minimal"), "fr")
    assert en.version.endswith("/en") and fr.version.endswith("/fr")
    assert load_policy("minimal").sha256[:12] in en.version
    assert "Settings & Privacy" in en.markdown and "formulaire d'opposition" in fr.markdown
    assert "3 November 2025" in en.markdown and "3 novembre 2025" in fr.markdown
    assert "<h1>" in fr.html
    other = render_notice(load_policy("linkedin-2025"), "en")
    assert other.version != en.version


def test_cli_writes_reports_and_explains_errors(world: dict[str, Path], tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "dpia.md"
    result = runner.invoke(app, ["report", "dpia", "--policy", "minimal", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file() and out.with_suffix(".html").is_file()
    result = runner.invoke(app, ["report", "lia", "--out", str(tmp_path / "x.txt")])
    assert result.exit_code == 1
    result = runner.invoke(
        app,
        [
            "report",
            "compliance",
            "--snapshot",
            str(world["minimal"]),
            "--export",
            str(tmp_path),
            "--out",
            str(tmp_path / "c.html"),
        ],
    )
    assert result.exit_code == 1
    assert "members" in result.output
    for command in ("compliance", "ropa", "lia", "dpia", "residual-pii"):
        help_ = runner.invoke(app, ["report", command, "--help"])
        assert help_.exit_code == 0 and "Example:" in help_.output
