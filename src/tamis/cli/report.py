"""tamis report: compliance evidence (HTML and Markdown) from the policy and the snapshot."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from tamis.cli._common import DbOption, console, errors, fail, group

report_app = group(
    "report", "Compliance evidence: compliance report, record of processing, LIA, DPIA."
)

OutOption = Annotated[
    Path,
    typer.Option("--out", help="report.html or report.md: writes both, plots beside the Markdown."),
]
PolicyOption = Annotated[
    str | None, typer.Option("--policy", help="A preset name or a policy file.")
]
SnapshotOption = Annotated[
    Path | None, typer.Option("--snapshot", help="Add measured figures of this snapshot.")
]
PurposeOption = Annotated[str | None, typer.Option("--purpose", help="Purpose (if several).")]


def _command() -> str:
    return "tamis " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _check_out(out: Path) -> None:
    if out.suffix not in (".html", ".md"):
        fail(f"--out must end in .html or .md, not {out.name!r}")


def _written(paths: list[Path]) -> None:
    for p in paths:
        console.print(f"wrote [bold]{p}[/]", highlight=False)


@report_app.command("compliance")
def report_compliance(
    out: OutOption,
    snapshot: Annotated[
        list[Path],
        typer.Option(
            "--snapshot",
            help="The snapshot to report on; repeat to add snapshots "
            "for 'time to first excluding snapshot' (the first one is reported on).",
        ),
    ],
    snapshots: Annotated[
        Path | None,
        typer.Option("--snapshots", help="A folder of snapshots, all considered for timing."),
    ] = None,
    db: DbOption = None,
    export: Annotated[
        Path | None,
        typer.Option("--export", help="The export the snapshot was built from (regions)."),
    ] = None,
    audit: Annotated[
        Path | None, typer.Option("--audit", help="A memorisation audit directory (audit.json).")
    ] = None,
    policy: PolicyOption = None,
    sample: Annotated[int, typer.Option("--sample", help="Texts sampled for residual PII.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the residual-PII sample.")] = 0,
) -> None:
    """The compliance report of a snapshot: information, right to object, minimisation,
    technical measures, plots; every figure with the query that reproduces it.

    Example: tamis report compliance --snapshot demo/snapshots/minimal --db demo/registry.db
    --export demo/export --out demo/reports/minimal.html
    """
    from tamis.reports import ComplianceOptions, compliance_report

    _check_out(out)
    others = list(snapshot[1:])
    if snapshots is not None:
        # not the hidden workspaces of builds (.NAME.tamis-tmp-...) beside the snapshots
        others += sorted(
            p.parent for p in snapshots.glob("*/manifest.json") if not p.parent.name.startswith(".")
        )
    with errors():
        doc = compliance_report(
            snapshot[0],
            ComplianceOptions(
                snapshots=tuple(others),
                registry=db,
                export=export,
                audit=audit,
                policy=policy,
                sample=sample,
                seed=seed,
                command=_command(),
            ),
        )
        _written(doc.write(out))


def _legal(
    kind: str, out: Path, policy: str | None, snapshot: Path | None, purpose: str | None
) -> None:
    from tamis.reports import dpia_report, lia_report, ropa_report

    _check_out(out)
    if policy is None and snapshot is None:
        fail("give --policy or --snapshot")
    make = {"ropa": ropa_report, "lia": lia_report, "dpia": dpia_report}[kind]
    with errors():
        doc = make(policy, snapshot=snapshot, purpose=purpose, command=_command())
        _written(doc.write(out))


@report_app.command("ropa")
def report_ropa(
    out: OutOption,
    policy: PolicyOption = None,
    snapshot: SnapshotOption = None,
    purpose: PurposeOption = None,
) -> None:
    """Record of processing activities (GDPR Art. 30), prefilled from the policy.

    Example: tamis report ropa --policy linkedin-2025 --out demo/reports/ropa.html
    """
    _legal("ropa", out, policy, snapshot, purpose)


@report_app.command("lia")
def report_lia(
    out: OutOption,
    policy: PolicyOption = None,
    snapshot: SnapshotOption = None,
    purpose: PurposeOption = None,
) -> None:
    """Legitimate-interest assessment (purpose, necessity, balancing); judgements left marked.

    Example: tamis report lia --snapshot demo/snapshots/linkedin-2025 --out demo/reports/lia.md
    """
    _legal("lia", out, policy, snapshot, purpose)


@report_app.command("dpia")
def report_dpia(
    out: OutOption,
    policy: PolicyOption = None,
    snapshot: SnapshotOption = None,
    purpose: PurposeOption = None,
) -> None:
    """DPIA skeleton (GDPR Art. 35(7)), prefilled from the policy.

    Example: tamis report dpia --policy linkedin-2025 --out demo/reports/dpia.html
    """
    _legal("dpia", out, policy, snapshot, purpose)


@report_app.command("residual-pii")
def report_residual_pii(
    snapshot: Annotated[Path, typer.Option("--snapshot", help="A snapshot directory.")],
    sample: Annotated[int, typer.Option("--sample", help="Texts sampled.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the sample.")] = 0,
    mode: Annotated[str, typer.Option("--mode", help="PII engine mode.")] = "fast",
) -> None:
    """Residual-PII estimate on a seeded sample of a snapshot's texts (prints JSON).

    Example: tamis report residual-pii --snapshot demo/snapshots/minimal --sample 1000 --seed 0
    """
    from tamis.reports.evidence import open_evidence
    from tamis.reports.residual import estimate_residual_pii

    with errors():
        ev = open_evidence(snapshot)
        try:
            est = estimate_residual_pii(
                ev.con, ev.manifest.get("stages", []), sample=sample, seed=seed, mode=mode
            )
        finally:
            ev.close()
    out = {
        "available": est.available,
        "reason": est.reason,
        "mode": est.mode,
        "sample": est.sample,
        "seed": est.seed,
        "redacted_types": list(est.redacted_types),
        "spans_by_type": est.spans_by_type,
        "texts_by_type": est.texts_by_type,
        "texts_with_redacted_type": est.texts_with_redacted_type,
        "rate": round(est.rate, 4) if est.rate is not None else None,
    }
    console.print_json(json.dumps(out))
