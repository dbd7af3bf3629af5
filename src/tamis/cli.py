"""The ``tamis`` command line: a thin layer that wires the library's areas together.

Library errors (:class:`tamis.errors.TamisError`) become one-line messages, never tracebacks.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from tamis.errors import TamisError

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    name="tamis",
    help="Consent-aware training snapshots from a platform's member data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
policy_app = typer.Typer(help="Show, validate and compare policies.", no_args_is_help=True)
consent_app = typer.Typer(
    help="The consent registry: import, set, history, state.", no_args_is_help=True
)
snapshot_app = typer.Typer(help="Build, verify and show training snapshots.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
app.add_typer(consent_app, name="consent")
app.add_typer(snapshot_app, name="snapshot")

F = TypeVar("F", bound=Callable[..., Any])

# Shared options: every command spells them the same way.
DbOption = Annotated[
    str | None,
    typer.Option("--db", envvar="TAMIS_DB", help="Registry: a SQLite path or a SQLAlchemy URL."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _fail(message: str, code: int = 1) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except TamisError as exc:
        _fail(str(exc))
    except KeyError as exc:  # unknown purpose / name lookups carry a readable message
        _fail(str(exc.args[0]) if exc.args else str(exc))


def _instant(text: str, what: str) -> datetime:
    from tamis.timefmt import parse_instant

    return parse_instant(text, what=what)


@contextmanager
def _progress(enabled: bool = True) -> Iterator[Callable[[str, int, int | None], None]]:
    """A Rich progress display fed by ``callback(phase, advance, total)``."""
    if not enabled or (not console.is_terminal and os.environ.get("TAMIS_PROGRESS") != "1"):
        yield lambda phase, n, total: None
        return
    columns = [
        SpinnerColumn(),
        TextColumn("[bold]{task.description:<18}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=console, transient=False) as progress:
        tasks: dict[str, Any] = {}

        def callback(phase: str, n: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase, total=total)
            progress.update(tasks[phase], advance=n, total=total)

        yield callback


# --- policy ---------------------------------------------------------------------------------------


@policy_app.command("show")
def policy_show(
    name: Annotated[str, typer.Argument(help="A preset name (linkedin-2025, minimal) or a file.")],
    as_json: JsonOption = False,
) -> None:
    """Show what a policy allows. Example: tamis policy show minimal"""
    from tamis.policy import load_policy

    with _errors():
        loaded = load_policy(name)
    policy = loaded.policy
    if as_json:
        console.print_json(policy.model_dump_json())
        return
    console.print(f"[bold]{policy.title}[/] ({policy.name} {policy.version})")
    console.print(f"source {loaded.source}  sha256 {loaded.sha256}")
    for pname, purpose in policy.purposes.items():
        table = Table(title=f"purpose {pname} (setting {purpose.setting}, {purpose.legal_basis})")
        table.add_column("what")
        table.add_column("allowed")
        table.add_row("content kinds", ", ".join(policy.allowed_kinds(pname)) or "-")
        table.add_row("visibility", ", ".join(purpose.visibility))
        table.add_row("profile fields", ", ".join(policy.allowed_profile_fields(pname)) or "-")
        table.add_row("categories", "\n".join(policy.used_categories(pname)))
        table.add_row("text stages", "\n".join(s.name for s in purpose.stages) or "-")
        console.print(table)
    excl = Table(title="never used (exclusions)")
    excl.add_column("categories")
    excl.add_column("content kinds")
    excl.add_row(
        "\n".join(policy.exclusions.categories), ", ".join(policy.exclusions.content_kinds)
    )
    console.print(excl)
    jur = Table(title="jurisdictions")
    for col in ("name", "countries", "start", "default", "minimum age", "unknown age"):
        jur.add_column(col)
    for j in policy.jurisdictions:
        countries = "every other country" if j.countries == "*" else ", ".join(j.countries)
        jur.add_row(
            j.name, countries, j.start.isoformat(), j.default, str(j.minimum_age), j.unknown_age
        )
    console.print(jur)


@policy_app.command("validate")
def policy_validate(file: Annotated[Path, typer.Argument(help="The policy file (YAML).")]) -> None:
    """Check a policy file; errors name the line and the key.

    Example: tamis policy validate my-policy.yaml
    """
    from tamis.policy import load_policy

    with _errors():
        loaded = load_policy(file)
    console.print(f"[green]valid[/] {loaded.name} {loaded.policy.version} sha256 {loaded.sha256}")


@policy_app.command("diff")
def policy_diff(
    a: Annotated[str, typer.Argument(help="First policy (preset or file).")],
    b: Annotated[str, typer.Argument(help="Second policy (preset or file).")],
    as_json: JsonOption = False,
) -> None:
    """What differs between two policies. Example: tamis policy diff linkedin-2025 minimal"""
    from dataclasses import asdict

    from tamis.policy import diff_policies, load_policy

    with _errors():
        diff = diff_policies(load_policy(a).policy, load_policy(b).policy)
    if as_json:
        console.print_json(json.dumps(asdict(diff)))
        return
    if diff.empty:
        console.print("no difference in scope")
        return
    table = Table(title=f"{diff.a} vs {diff.b}")
    table.add_column("what")
    table.add_column(f"only in {diff.a}")
    table.add_column(f"only in {diff.b}")
    if diff.purposes_only_a or diff.purposes_only_b:
        table.add_row("purposes", "\n".join(diff.purposes_only_a), "\n".join(diff.purposes_only_b))
    for p in diff.purposes:
        table.add_row(
            f"{p.purpose}: categories",
            "\n".join(p.categories_only_a),
            "\n".join(p.categories_only_b),
        )
        table.add_row(
            f"{p.purpose}: content kinds", "\n".join(p.kinds_only_a), "\n".join(p.kinds_only_b)
        )
        table.add_row(
            f"{p.purpose}: visibility",
            "\n".join(p.visibility_only_a),
            "\n".join(p.visibility_only_b),
        )
    if diff.exclusions_only_a or diff.exclusions_only_b:
        table.add_row(
            "exclusions", "\n".join(diff.exclusions_only_a), "\n".join(diff.exclusions_only_b)
        )
    for name, attr, va, vb in diff.jurisdictions:
        table.add_row(f"jurisdiction {name}: {attr}", va or "-", vb or "-")
    console.print(table)


# --- consent --------------------------------------------------------------------------------------


def _event_row(table: Table, event: Any) -> None:
    from tamis.timefmt import format_instant

    table.add_row(
        format_instant(event.ts),
        event.setting,
        "[green]allow[/]" if event.value else "[red]object[/]",
        event.channel,
        event.event_id,
        format_instant(event.recorded_at) if event.recorded_at else "",
    )


def _event_table(title: str) -> Table:
    table = Table(title=title)
    for col in ("when (UTC)", "setting", "value", "channel", "event id", "recorded at"):
        table.add_column(col)
    return table


@consent_app.command("import")
def consent_import(
    file: Annotated[
        Path, typer.Argument(help="consent_events as JSONL, Parquet or a Parquet folder.")
    ],
    db: DbOption = None,
) -> None:
    """Import consent events (idempotent: the same file twice changes nothing).

    Example: tamis consent import export/consent_events.jsonl --db registry.db
    """
    from tamis.consent import open_registry

    with _errors(), open_registry(db) as registry:
        summary = registry.import_file(file)
        url = registry.url
        nameless = [r for r in registry.rejects().to_pylist() if r["member_id"] is None]
    console.print(
        f"[green]imported[/] into {url}: {summary.inserted:,} new events, "
        f"{summary.duplicates:,} already recorded, {summary.rejected:,} rejected"
    )
    if summary.rejected:
        err_console.print(
            f"[yellow]warning:[/] {summary.rejected:,} line(s) could not be parsed; their members "
            "are out of every snapshot (consent_invalid) until the rejects are resolved"
        )
    if nameless:
        err_console.print(
            f"[yellow]warning:[/] {len(nameless)} unparseable line(s) name no member "
            f"(first: {nameless[0]['file']}:{nameless[0]['line']}): snapshots from the registry "
            "refuse to build until they are resolved"
        )


@consent_app.command("set")
def consent_set(
    member: Annotated[str, typer.Argument(help="The member id.")],
    allow: Annotated[bool, typer.Option("--allow", help="The member allows the use.")] = False,
    object_: Annotated[bool, typer.Option("--object", help="The member objects.")] = False,
    at: Annotated[
        str | None, typer.Option("--at", help="When the member acted (default now).")
    ] = None,
    channel: Annotated[
        str, typer.Option("--channel", help="settings_page, objection_form, api, support, import.")
    ] = "api",
    setting: Annotated[str, typer.Option("--setting")] = "genai_training",
    db: DbOption = None,
) -> None:
    """Record a member's choice. Example: tamis consent set m42 --object --channel settings_page"""
    from tamis.consent import open_registry
    from tamis.sources.schema import CONSENT_CHANNELS

    if allow == object_:
        _fail("give exactly one of --allow and --object")
    if channel not in CONSENT_CHANNELS:
        _fail(f"unknown channel {channel!r}; channels: {', '.join(CONSENT_CHANNELS)}")
    with _errors(), open_registry(db) as registry:
        when = _instant(at, "--at") if at else None
        event = registry.set(member, allow, at=when, channel=channel, setting=setting)
    table = _event_table(f"recorded for {member}")
    _event_row(table, event)
    console.print(table)


@consent_app.command("history")
def consent_history(
    member: Annotated[str, typer.Argument(help="The member id.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """A member's consent events, oldest first. Example: tamis consent history m42"""
    from tamis.consent import open_registry
    from tamis.timefmt import format_instant

    with _errors(), open_registry(db) as registry:
        events = registry.history(member)
    if as_json:
        console.print_json(
            json.dumps(
                [
                    {
                        "event_id": e.event_id,
                        "setting": e.setting,
                        "value": e.value,
                        "ts": format_instant(e.ts),
                        "channel": e.channel,
                    }
                    for e in events
                ]
            )
        )
        return
    table = _event_table(f"consent history of {member}")
    for event in events:
        _event_row(table, event)
    console.print(
        table if events else f"no consent event for {member}: the region's default applies"
    )


@consent_app.command("state")
def consent_state(
    member: Annotated[str, typer.Argument(help="The member id.")],
    as_of: Annotated[str, typer.Option("--as-of", help="RFC 3339 instant with an offset.")],
    setting: Annotated[str, typer.Option("--setting")] = "genai_training",
    db: DbOption = None,
) -> None:
    """A member's value at an instant.

    Example: tamis consent state m42 --as-of 2026-01-01T00:00:00Z
    """
    from tamis.consent import open_registry
    from tamis.timefmt import format_instant

    with _errors(), open_registry(db) as registry:
        state = registry.state(member, _instant(as_of, "--as-of"), setting=setting)
    if state.invalid:
        console.print(f"{member}: [red]out[/] (consent_invalid: an event could not be parsed)")
    if state.decided_by is None:
        console.print(f"{member}: no event at {as_of}: the default of the member's region applies")
    else:
        e = state.decided_by
        value = "[green]allow[/]" if state.value else "[red]object[/]"
        console.print(
            f"{member}: {value} since {format_instant(e.ts)} ({e.channel}, event {e.event_id})"
        )


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
) -> None:
    """Build a training snapshot.

    Example: tamis snapshot build --export demo/export --policy minimal
    --cutoff 2026-01-01T00:00:00Z --out demo/snapshots/minimal
    """
    from tamis.keys import load_key
    from tamis.pipeline.build import BuildRequest, build_snapshot
    from tamis.policy import load_policy

    if consent not in ("auto", "export", "registry"):
        _fail(f"--consent must be auto, export or registry, not {consent!r}")
    with _errors():
        request = BuildRequest(
            export_dir=export,
            out=out,
            policy=load_policy(policy),
            cutoff=_instant(cutoff, "--cutoff"),
            key=load_key(),
            purpose=purpose,
            consent=consent,  # type: ignore[arg-type]
            registry_url=db,
            force=force,
            run_stages=not no_stages,
        )
        with _progress(not quiet) as progress:
            result = build_snapshot(request, progress)
    if not quiet:
        print_summary(result.manifest, result.out)


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
            found = Table(title=f"{stage}: found and redacted")
            found.add_column("entity")
            found.add_column("count", justify="right")
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

    with _errors():
        checked = verify_snapshot(snapshot)
    console.print(f"[green]ok[/] {len(checked)} files match the manifest")


@snapshot_app.command("show")
def snapshot_show(
    snapshot: Annotated[Path, typer.Argument(help="A snapshot directory.")],
    as_json: JsonOption = False,
) -> None:
    """Print a snapshot's manifest as readable tables."""
    from tamis.pipeline.manifest import read_manifest

    with _errors():
        manifest = read_manifest(snapshot)
    if as_json:
        console.print_json(json.dumps(manifest))
        return
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


# --- synth ----------------------------------------------------------------------------------------


@app.command("synth")
def synth(
    members: Annotated[int, typer.Option("--members", min=1, help="Number of members.")],
    out: Annotated[Path, typer.Option("--out", help="The export directory to write.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same bytes).")] = 0,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or parquet.")] = "jsonl",
    records_per_member: Annotated[
        float, typer.Option("--records-per-member", help="Mean content records per member.")
    ] = 10.0,
    no_consent: Annotated[
        bool,
        typer.Option("--no-consent-table", help="Keep consent events out of the export tables."),
    ] = False,
) -> None:
    """Generate a deterministic synthetic platform export.

    Example: tamis synth --members 20000 --seed 7 --out demo/export
    """
    from tamis.synth import generate_platform

    if fmt not in ("jsonl", "parquet"):
        _fail("--format must be jsonl or parquet")
    with _errors(), _progress() as progress:
        summary = generate_platform(
            out,
            members=members,
            seed=seed,
            fmt=fmt,
            records_per_member=records_per_member,
            consent_in_export=not no_consent,
            progress=lambda table, done, total: progress(table, done, total),
        )
    console.print(f"[green]wrote[/] {out}: {summary}")


def _now() -> datetime:
    return datetime.now(UTC)


def main() -> None:
    try:
        app()
    except TamisError as exc:  # pragma: no cover - commands catch their own
        err_console.print(f"[bold red]error:[/] {exc}")
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
