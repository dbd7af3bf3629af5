"""tamis snapshot: build, verify and show training snapshots."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tamis.cli._common import (
    DbOption,
    JsonOption,
    console,
    err_console,
    errors,
    fail,
    group,
    instant,
    progress_display,
)

snapshot_app = group("snapshot", "Build, verify and show training snapshots.")


# --- snapshot -------------------------------------------------------------------------------------


@snapshot_app.command("build")
def snapshot_build(
    export: Annotated[Path, typer.Option("--export", help="The platform export directory.")],
    policy: Annotated[str, typer.Option("--policy", help="A preset name or a policy file.")],
    cutoff: Annotated[str, typer.Option("--cutoff", help="RFC 3339 instant with an offset.")],
    out: Annotated[Path, typer.Option("--out", help="Where to publish the snapshot.")],
    consent: Annotated[
        str, typer.Option("--consent", help="Consent from the export, the registry, or auto.")
    ] = "auto",
    db: DbOption = None,
    purpose: Annotated[str | None, typer.Option("--purpose", help="Purpose (if several).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing snapshot.")] = False,
    no_stages: Annotated[
        bool, typer.Option("--no-stages", help="Skip the text stages (redaction): benchmarks only.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress, no summary.")] = False,
    engine: Annotated[str, typer.Option("--engine", help="embedded (default) or spark.")] = (
        "embedded"
    ),
    master: Annotated[
        str | None, typer.Option("--master", help="Spark master, e.g. local[4], yarn.")
    ] = None,
    spark_conf: Annotated[
        list[str] | None, typer.Option("--spark-conf", help="Spark setting k=v (repeatable).")
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Processes for the text stages.")
    ] = min(2, os.cpu_count() or 1),
) -> None:
    """Build a training snapshot.

    Example: tamis snapshot build --export demo/export --policy minimal
    --cutoff 2026-01-01T00:00:00Z --out demo/snapshots/minimal
    """
    from tamis.keys import load_key
    from tamis.pipeline.build import BuildRequest
    from tamis.policy import load_policy

    if consent not in ("auto", "export", "registry"):
        fail(f"--consent must be auto, export or registry, not {consent!r}")
    with errors():
        from tamis.consent.location import build_registry_url
        from tamis.pipeline.build import BuildObserver

        # A configured registry: the manifest binds the consent log head, and the registry
        # records the lineage. Without one, SQLAlchemy is not even imported.
        observers: list[BuildObserver] = []
        if build_registry_url(db) is not None:
            from tamis.consent.log import LogHeadSection
            from tamis.lineage.store import LineageRecorder

            observers += [LogHeadSection(db), LineageRecorder(db)]
        if os.environ.get("TAMIS_OPENLINEAGE_URL") or os.environ.get("TAMIS_OPENLINEAGE_FILE"):
            from tamis.lineage.openlineage import OpenLineageEmitter

            observers.append(OpenLineageEmitter())
        request = BuildRequest(
            export_dir=export,
            out=out,
            policy=load_policy(policy),
            cutoff=instant(cutoff, "--cutoff"),
            key=load_key(),
            purpose=purpose,
            consent=consent,  # type: ignore[arg-type]
            registry_url=db,
            force=force,
            run_stages=not no_stages,
            workers=workers,
            observers=tuple(observers),
        )
        with progress_display(not quiet) as progress:
            from tamis.pipeline.engines import parse_conf, run_build

            result = run_build(request, engine, master, parse_conf(spark_conf), progress)
    if not quiet:
        print_summary(result.manifest, result.out)
    for warning in build_warnings(result.manifest):  # on stderr, -q or not
        err_console.print(f"[bold yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)


def build_warnings(manifest: dict[str, Any]) -> list[str]:
    """What a build did that its user may not have meant: consent the registry beside the
    export disagrees with, members kept in who have objected since the cutoff, erasures that
    could not be checked."""
    consent = manifest["consent"]
    warnings = []
    disagreement = consent.get("registry_disagreement")
    if disagreement and disagreement["members"]:
        warnings.append(
            f"the registry {disagreement['registry']} puts {disagreement['members']:,} member(s) "
            "out (an objection, an unresolved reject) that the export's consent_events keep in: "
            "--consent export kept them in"
        )
    objected = consent.get("objected_after_cutoff")  # absent from older manifests
    if objected:
        warnings.append(
            f"{objected:,} member(s) this snapshot keeps in (eligible at its cutoff) have objected "
            "since: as of the cutoff their data is in (events after it change nothing for it), "
            "but they asked that it no longer be used; a build with a later cutoff leaves them out"
        )
    erasures = consent.get("erasures")  # absent from manifests built before it was recorded
    if erasures is not None and erasures["registry"] is None:
        warnings.append(
            "no registry configured (--db, TAMIS_DB), so no erasure tombstone was checked"
        )
    return warnings


def print_summary(manifest: dict[str, Any], out: Path) -> None:
    """The Rich summary of a build: records and members in/out, exclusions, PII found."""
    records = manifest["records"]
    members = manifest["members"]
    console.print(
        f"\n[bold green]snapshot[/] {manifest['snapshot_id']}  policy {manifest['policy']['name']}"
        f"  purpose {manifest['purpose']}  cutoff {manifest['cutoff']}"
    )
    consent = manifest["consent"]
    console.print(
        f"consent from [bold]{consent['source']}[/] "
        f"({consent.get('registry', 'consent_events table')})"
    )
    erasures = consent.get("erasures")
    if erasures is not None and erasures["registry"] is not None:
        count, registry = erasures["tombstones"], erasures["registry"]
        console.print(f"erasures: {count:,} tombstone(s) checked in {registry}")
    kinds = Table(title="records by kind")
    kinds.add_column("kind")
    kinds.add_column("in", justify="right")
    kinds.add_column("included", justify="right")
    for kind, n in records["input_by_kind"].items():
        kinds.add_row(kind, f"{n:,}", f"{records['included_by_kind'].get(kind, 0):,}")
    kinds.add_row("[bold]total", f"[bold]{records['input']:,}", f"[bold]{records['included']:,}")
    console.print(kinds)
    cats = Table(title="records by category")
    cats.add_column("category")
    cats.add_column("in", justify="right")
    cats.add_column("included", justify="right")
    for cat, n in records["input_by_category"].items():
        cats.add_row(cat, f"{n:,}", f"{records['included_by_category'].get(cat, 0):,}")
    console.print(cats)
    reasons = Table(title="exclusions by reason")
    reasons.add_column("reason")
    reasons.add_column("records", justify="right")
    reasons.add_column("members", justify="right")
    member_reasons = members["excluded_by_reason"]
    for reason in sorted(set(records["excluded_by_reason"]) | set(member_reasons)):
        reasons.add_row(
            reason,
            f"{records['excluded_by_reason'].get(reason, 0):,}",
            f"{member_reasons.get(reason, 0):,}" if reason in member_reasons else "",
        )
    console.print(reasons)
    console.print(
        f"members: {members['input']:,} in the export, {members['eligible']:,} eligible, "
        f"{members['included']:,} with data in the snapshot"
    )
    for stage, counts in manifest.get("stage_counts", {}).items():
        if counts:
            # the title is the stage alone: Rich wraps a title wider than its table
            found = Table(title=stage)
            found.add_column("entity")
            found.add_column("found in text", justify="right")
            for entity, n in counts.items():
                found.add_row(entity, f"{n:,}")
            console.print(found)
    if manifest.get("quarantined"):
        console.print(
            "quarantined rows: "
            + ", ".join(f"{t} {n:,}" for t, n in manifest["quarantined"].items())
            + f"  (see {out / 'quarantine'})"
        )
    console.print(f"published at [bold]{out}[/]")


@snapshot_app.command("verify")
def snapshot_verify(
    snapshot: Annotated[Path, typer.Argument(help="A snapshot directory.")],
) -> None:
    """Re-check every file hash of a snapshot; non-zero exit naming the file on a mismatch."""
    from tamis.pipeline.manifest import verify_snapshot

    with errors():
        checked = verify_snapshot(snapshot)
    console.print(f"[green]ok[/] {len(checked)} files match the manifest")


@snapshot_app.command("show")
def snapshot_show(
    snapshot: Annotated[Path, typer.Argument(help="A snapshot directory.")],
    as_json: JsonOption = False,
) -> None:
    """Print a snapshot's manifest as readable tables."""
    from tamis.pipeline.manifest import read_manifest

    with errors():
        manifest = read_manifest(snapshot)
    if as_json:
        console.print_json(json.dumps(manifest))
        return
    try:
        _show(manifest, snapshot)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        fail(
            f"{snapshot / 'manifest.json'}: not a complete snapshot manifest ({exc!r}: missing "
            "or malformed); tamis snapshot verify says more"
        )


def _show(manifest: dict[str, Any], snapshot: Path) -> None:
    print_summary(manifest, snapshot)
    files = Table(title="files")
    files.add_column("path")
    files.add_column("rows", justify="right")
    files.add_column("bytes", justify="right")
    files.add_column("sha256")
    for f in manifest["files"]:
        files.add_row(f["path"], f"{f.get('rows', 0):,}", f"{f['bytes']:,}", f["sha256"][:16] + "…")
    console.print(files)
    console.print(f"members_root {manifest['members_root']}")
