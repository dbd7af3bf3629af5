"""The audit report: one HTML page with plots and a pass/fail verdict with its thresholds.

Inputs are the JSON results of ``tamis audit exposure``, ``extract`` and ``mia`` (any may be
missing: its section then says so and the verdict cannot be ``pass``). Plots are PNG images drawn
with matplotlib and embedded, so the page is one self-contained file.

Verdict (each threshold is printed in the report):

- the exposure audit is **valid** (the highest level is detected above controls), else the
  verdict is ``invalid``;
- no level at or below ``max_safe_level`` copies is detected above controls (Mann-Whitney);
- no canary secret is extracted by greedy or beam completion from a level at or below
  ``max_safe_level`` copies, and member-record completion hits are at most ``max_record_hit_rate``;
- membership inference: loss-attack AUC at most ``max_mia_auc`` and TPR at 0.1% FPR at most
  ``max_mia_tpr``.
"""

from __future__ import annotations

import base64
import html
import io
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tamis.errors import TamisError


@dataclass(frozen=True)
class Thresholds:
    """Pass/fail thresholds of the audit report."""

    max_safe_level: int = 1
    max_record_hit_rate: float = 0.05
    max_mia_auc: float = 0.6
    max_mia_tpr: float = 0.01


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _plt() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the environment
        raise TamisError("the audit report needs matplotlib: pip install 'tamis[audit]'") from None
    return plt


def _exposure_plot(exposure: dict[str, Any]) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    groups: dict[str, list[float]] = {"controls": []}
    for c in exposure["canaries"]:
        key = "controls" if c["level"] == 0 else f"{c['level']}x"
        groups.setdefault(key, []).append(c["exposure"])
    labels = ["controls"] + [f"{lv['level']}x" for lv in exposure["levels"]]
    data = [groups.get(k, []) for k in labels]
    ax.boxplot(data, tick_labels=labels)
    for i, values in enumerate(data, start=1):
        ax.scatter([i] * len(values), values, s=8, alpha=0.6)
    ax.set_xlabel("copies in training data")
    ax.set_ylabel("exposure (bits)")
    ax.set_title("Canary exposure by repetition level vs controls")
    out = _png(fig)
    plt.close(fig)
    return out


def _extraction_plot(extraction: dict[str, Any]) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3))
    rc = extraction.get("record_completion", {})
    sm = extraction.get("samples", {})
    labels = ["records greedy", "records beam", "samples (all)", "top ppl", "top zlib"]
    values = [
        rc.get("greedy", {}).get("hits", 0),
        rc.get("beam", {}).get("hits", 0),
        sm.get("matches", 0),
        sm.get("top_perplexity_matches", 0),
        sm.get("top_zlib_matches", 0),
    ]
    ax.bar(labels, values)
    ax.set_ylabel("verbatim hits")
    ax.set_title("Extraction hits")
    ax.tick_params(axis="x", labelrotation=20)
    out = _png(fig)
    plt.close(fig)
    return out


def _roc_plot(mia: dict[str, Any]) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    for subset in ("all", "unique"):
        block = mia.get(subset)
        if not block:
            continue
        for attack, res in block.items():
            ax.plot(
                res["roc"]["fpr"],
                res["roc"]["tpr"],
                label=f"{attack} ({subset}) AUC {res['auc']:.3f}",
            )
    ax.plot([0, 1], [0, 1], "k--", linewidth=0.8)
    ax.set_xscale("symlog", linthresh=1e-3)
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate")
    ax.set_title("Membership inference ROC")
    ax.legend(fontsize=7)
    out = _png(fig)
    plt.close(fig)
    return out


def verdict(
    exposure: dict[str, Any] | None,
    extraction: dict[str, Any] | None,
    mia: dict[str, Any] | None,
    thresholds: Thresholds,
) -> tuple[str, list[str]]:
    """``pass``, ``fail`` or ``invalid``, with one line per check.

    A check without its evidence is not a pass: no canaries at the levels that must stay
    unexposed makes the audit ``invalid``; an extraction run without the canaries or without
    member records, or a membership-inference AUC that is not a number (no held-out records
    matched), is a ``MISSING`` line and fails the audit, as a missing audit does."""
    lines: list[str] = []
    failed = False
    if exposure is None:
        return "invalid", ["no exposure result: the audit has no sensitivity check"]
    if not exposure["valid"]:
        return "invalid", [exposure["validity"]]
    if not any(lv["level"] <= thresholds.max_safe_level for lv in exposure["levels"]):
        return "invalid", [
            f"no canaries planted at {thresholds.max_safe_level} copies or fewer: the audit "
            "cannot tell whether such records are exposed (plant canaries at those levels)"
        ]
    lines.append("PASS " + exposure["validity"])
    for lv in exposure["levels"]:
        if lv["level"] <= thresholds.max_safe_level:
            bad = lv["detected"]
            failed |= bad
            lines.append(
                f"{'FAIL' if bad else 'PASS'} {lv['level']}-copy canaries vs controls: "
                f"p = {lv['mann_whitney_p']:.3g} (detected if < {exposure['alpha']})"
            )
    if extraction is None:
        lines.append("MISSING extraction audit")
        failed = True
    else:
        if not extraction.get("canary_completion"):
            lines.append("MISSING canary extraction: run the extraction audit with the canaries")
            failed = True
        for row in extraction.get("canary_completion") or []:
            if row["extracted"] and row["level"] is not None:
                bad = row["level"] <= thresholds.max_safe_level
                failed |= bad
                lines.append(
                    f"{'FAIL' if bad else 'NOTE'} {row['strategy']} completion of the "
                    f"{row['format']} "
                    f"prefix extracts a {row['level']}-copy canary"
                )
        rc = extraction.get("record_completion") or {}
        for strategy in ("greedy", "beam"):
            if not rc.get("prompts") or strategy not in rc:
                lines.append(
                    f"MISSING member-record {strategy} completion: no member record was prompted"
                )
                failed = True
                continue
            rate = rc[strategy]["rate"]
            bad = rate > thresholds.max_record_hit_rate
            failed |= bad
            lines.append(
                f"{'FAIL' if bad else 'PASS'} member-record {strategy} completion hit rate "
                f"{rate:.3f} (max {thresholds.max_record_hit_rate})"
            )
    if mia is None:
        lines.append("MISSING membership-inference audit")
        failed = True
    else:
        res = (mia.get("unique") or mia["all"])["loss"]
        figures = (res.get("auc"), res.get("tpr_at_0.1%_fpr"))
        if any(f is None or math.isnan(f) for f in figures):
            lines.append(
                "MISSING membership-inference figures (AUC not a number): no held-out record "
                "matched the snapshot's split"
            )
            return "fail", lines
        bad = res["auc"] > thresholds.max_mia_auc or res["tpr_at_0.1%_fpr"] > thresholds.max_mia_tpr
        failed |= bad
        lines.append(
            f"{'FAIL' if bad else 'PASS'} loss MIA AUC {res['auc']:.3f} (max "
            f"{thresholds.max_mia_auc}), TPR@0.1%FPR {res['tpr_at_0.1%_fpr']:.3f} "
            f"(max {thresholds.max_mia_tpr})"
        )
    return ("fail" if failed else "pass"), lines


def _table(rows: list[list[Any]], head: list[str]) -> str:
    th = "".join(f"<th>{html.escape(str(h))}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><tr>{th}</tr>{body}</table>"


def write_report(
    out: Path,
    *,
    exposure: dict[str, Any] | None = None,
    extraction: dict[str, Any] | None = None,
    mia: dict[str, Any] | None = None,
    thresholds: Thresholds | None = None,
    title: str = "tamis memorisation audit",
) -> dict[str, Any]:
    """Write the HTML report; returns the verdict and its lines."""
    thresholds = thresholds or Thresholds()
    result, lines = verdict(exposure, extraction, mia, thresholds)
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f"<h2 class='{result}'>Verdict: {result.upper()}</h2>",
        "<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in lines) + "</ul>",
        "<h3>Thresholds</h3>",
        _table([[k, v] for k, v in asdict(thresholds).items()], ["threshold", "value"]),
    ]
    if exposure is not None:
        rows = [
            [
                "controls",
                exposure["controls"]["exposure"]["n"],
                exposure["controls"]["exposure"]["mean"],
                exposure["controls"]["exposure"]["median"],
                "",
            ]
        ] + [
            [
                f"{lv['level']} copies",
                lv["exposure"]["n"],
                lv["exposure"]["mean"],
                lv["exposure"]["median"],
                f"{lv['mann_whitney_p']:.3g}",
            ]
            for lv in exposure["levels"]
        ]
        parts += [
            "<h2>Exposure</h2>",
            f"<p>{html.escape(exposure['validity'])}. {exposure['references']} references per "
            "format; skew-normal extrapolation.</p>",
            _table(rows, ["level", "n", "mean bits", "median bits", "Mann-Whitney p"]),
            f"<img alt='exposure by level' src='data:image/png;base64,{_exposure_plot(exposure)}'>",
        ]
    else:
        parts.append("<h2>Exposure</h2><p>not run</p>")
    if extraction is not None:
        parts += [
            "<h2>Extraction</h2>",
            "<img alt='extraction hits' src='data:image/png;base64,"
            f"{_extraction_plot(extraction)}'>",
            _table(
                [
                    [r["format"], r["strategy"], r["extracted"], r["level"]]
                    for r in extraction.get("canary_completion", [])
                ],
                ["format", "strategy", "extracted", "level"],
            ),
        ]
    else:
        parts.append("<h2>Extraction</h2><p>not run</p>")
    if mia is not None:
        rows = []
        for subset in ("all", "unique"):
            for attack, res in (mia.get(subset) or {}).items():
                rows.append([subset, attack, res["auc"], res["tpr_at_0.1%_fpr"]])
        parts += [
            "<h2>Membership inference</h2>",
            f"<p>{mia['members']} members, {mia['nonmembers']} non-members "
            f"({mia['unique_nonmembers']} unique). {html.escape(mia['low_fpr_note'])}.</p>",
            _table(rows, ["subset", "attack", "AUC", "TPR@0.1%FPR"]),
            f"<img alt='MIA ROC' src='data:image/png;base64,{_roc_plot(mia)}'>",
        ]
    else:
        parts.append("<h2>Membership inference</h2><p>not run</p>")
    style = (
        "body{font-family:sans-serif;max-width:60em;margin:auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 8px}.pass{color:#070}.fail{color:#b00}"
        ".invalid{color:#b60}"
    )
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>{''.join(parts)}</body></html>"
    )
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(page, encoding="utf-8")
    return {"verdict": result, "checks": lines, "thresholds": asdict(thresholds)}
