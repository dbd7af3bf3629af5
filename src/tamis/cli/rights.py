"""tamis rights: members' access, objection and erasure requests, deadlines, affected models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tamis.cli._common import (
    DbOption,
    JsonOption,
    SettingOption,
    SettingsPolicyOption,
    console,
    declared_setting,
    errors,
    fail,
    group,
    instant,
    progress_display,
    write_output,
)

rights_app = group("rights", "Members' rights: access, objection, erasure; deadlines; impact.")

AtOption = Annotated[
    str | None, typer.Option("--at", help="When the request was received (default now).")
]


def _desk(registry: Any, setting: str = "genai_training") -> Any:
    from tamis.keys import load_keyring
    from tamis.rights import RightsDesk

    # the whole key ring: snapshots built before a key rotation are searched with their own key
    return RightsDesk(registry, load_keyring(), setting)


def _print_outcome(outcome: Any, as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(outcome.as_dict()))
        return
    request = outcome.request
    console.print(
        f"[green]recorded[/] {request.kind} {request.request_id} for {request.member_id}, "
        f"received {request.received_at:%Y-%m-%d %H:%M}Z, answer due {request.deadline:%Y-%m-%d}"
    )
    if outcome.snapshots:
        console.print(
            "snapshots holding the member's data: "
            + ", ".join(s["snapshot_id"] for s in outcome.snapshots)
        )
    if outcome.models:
        console.print(
            f"[yellow]affected models[/] (queued for the DPO): {', '.join(outcome.models)}"
        )
    else:
        console.print("no model was trained on the member's data")
    for warning in outcome.warnings:
        console.print(f"[red]warning[/] {warning}")


@rights_app.command("access")
def rights_access(
    member: Annotated[str, typer.Argument(help="The member id.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the report here (.html or .json).")
    ] = None,
    at: AtOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Art. 15: the member's data-use report (snapshots, models, counts per category, dates).

    Example: tamis rights access m42 --out m42-data-use.html
    """
    from tamis.consent import open_registry

    if out is not None and (out.is_dir() or not out.parent.is_dir()):
        # said before the request is recorded: a request must not wait for a report never made
        why = "is a folder" if out.is_dir() else f"its folder {out.parent} does not exist"
        fail(f"cannot write {out}: {why}")
    with errors(), open_registry(db, existing=True) as registry:
        desk = _desk(registry)
        report = desk.access(member, instant(at, "--at") if at else None, answer=False)
        if out is not None:  # written before the request is marked answered by it
            html = out.suffix.lower() in (".html", ".htm")
            write_output(out, report.to_html() if html else report.to_json())
        desk.answer(report.data["request_id"], "data-use report issued")
    if out is not None:
        console.print(f"data-use report of {member} written to {out}")
    if as_json or out is None:
        console.print_json(report.to_json())


@rights_app.command("object")
def rights_object(
    member: Annotated[str, typer.Argument(help="The member id.")],
    at: AtOption = None,
    setting: SettingOption = "genai_training",
    policy: SettingsPolicyOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Art. 21: record an objection (builds with a cutoff from then on exclude the member) and
    its impact. The objection is to --setting: name the one that governs your policy's purposes
    if it is not genai_training (with --policy FILE), or its builds will not read it.

    Example: tamis rights object m42 --at 2025-12-02T10:00:00+01:00
    """
    from tamis.consent import open_registry

    declared_setting(setting, policy)
    with errors(), open_registry(db, existing=True) as registry:
        outcome = _desk(registry, setting).object(member, instant(at, "--at") if at else None)
    _print_outcome(outcome, as_json)


@rights_app.command("erase")
def rights_erase(
    member: Annotated[str, typer.Argument(help="The member id.")],
    at: AtOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Art. 17: record an erasure (a tombstone: every later build excludes the member) and impact.

    Example: tamis rights erase m42
    """
    from tamis.consent import open_registry

    with errors(), open_registry(db, existing=True) as registry:
        outcome = _desk(registry).erase(member, instant(at, "--at") if at else None)
    _print_outcome(outcome, as_json)


@rights_app.command("sweep")
def rights_sweep(
    batch: Annotated[
        int, typer.Option("--batch", min=1, help="Objections recorded per transaction.")
    ] = 100,
    setting: SettingOption = "genai_training",
    policy: SettingsPolicyOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Art. 21: make every objection recorded as a choice (the settings switch, consent set
    --object, imports) to --setting an answered request, and queue its impact. Run it from cron
    beside imports; the member service sweeps the switch's objections itself.

    Example: tamis rights sweep
    """
    from tamis.consent import open_registry

    declared_setting(setting, policy)

    with (
        errors(),
        open_registry(db, existing=True) as registry,
        progress_display(not as_json) as bar,
    ):
        swept = _desk(registry, setting).record_objection_choices(
            batch, progress=lambda done, total: bar("objection choices", done, total)
        )
    if as_json:
        console.print_json(json.dumps(swept.as_dict()))
        return
    console.print(
        f"[green]swept[/] {swept.objections:,} objection choice(s) without a request: "
        f"{swept.requests:,} request(s) recorded and answered"
    )
    if swept.misspelt:
        console.print(
            f"[red]warning[/] {swept.misspelt:,} of them for a misspelt form of setting "
            f"{setting!r}: builds put those members out as invalid (consent_invalid) until "
            "the events' source is fixed"
        )
    if swept.snapshots:
        console.print(f"{len(swept.snapshots)} snapshot(s) affected: " + ", ".join(swept.snapshots))
    if swept.models_queued:
        console.print(
            f"[yellow]{swept.models_queued:,} affected-models entry(ies)[/] queued for the DPO "
            "(tamis rights affected-models)"
        )
    else:
        console.print("no model queued")
    if swept.warnings:
        console.print(
            f"[red]warning[/] {swept.warnings:,} request(s) could not be checked against every "
            "snapshot (built with a retired pseudonym key): their models are queued all the "
            "same, marked (unverifiable)"
        )


def _requests_table(title: str, requests: list[Any]) -> Table:
    table = Table(title=title)
    for col in ("request", "kind", "member", "received", "due", "status"):
        table.add_column(col)
    for r in requests:
        due = f"{r.deadline:%Y-%m-%d}" + (" (extended)" if r.extended else "")
        status = "[red]overdue[/]" if r.overdue() else r.status
        table.add_row(r.request_id, r.kind, r.member_id, f"{r.received_at:%Y-%m-%d}", due, status)
    return table


@rights_app.command("requests")
def rights_requests(
    open_only: Annotated[bool, typer.Option("--open", help="Open requests only.")] = False,
    member: Annotated[str | None, typer.Option("--member", help="One member's.")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Rights requests with their deadlines. Example: tamis rights requests --open"""
    from tamis.consent import open_registry

    with errors(), open_registry(db, existing=True) as registry:
        requests = _desk(registry).requests(member_id=member, open_only=open_only)
    if as_json:
        console.print_json(json.dumps([r.as_dict() for r in requests]))
        return
    console.print(_requests_table("rights requests", requests))


@rights_app.command("overdue")
def rights_overdue(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Open requests past their deadline; exit 1 when there is one (for monitoring).

    Example: tamis rights overdue
    """
    from tamis.consent import open_registry

    with errors(), open_registry(db, existing=True) as registry:
        late = _desk(registry).overdue()
    if as_json:
        console.print_json(json.dumps([r.as_dict() for r in late]))
    elif late:
        console.print(_requests_table("overdue requests", late))
    else:
        console.print("[green]no overdue request[/]")
    if late:
        raise typer.Exit(1)


@rights_app.command("extend")
def rights_extend(
    request_id: Annotated[str, typer.Argument(help="The request id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (Art. 12(3)): told to the member.")],
    db: DbOption = None,
) -> None:
    """Extend a request's deadline by two months. Example: tamis rights extend req-... --reason
    'many requests this month'"""
    from tamis.consent import open_registry

    with errors(), open_registry(db, existing=True) as registry:
        request = _desk(registry).extend(request_id, reason)
    console.print(f"{request.request_id}: answer now due {request.deadline:%Y-%m-%d}")


@rights_app.command("answer")
def rights_answer(
    request_id: Annotated[str, typer.Argument(help="The request id.")],
    note: Annotated[str, typer.Option("--note", help="What was answered.")],
    db: DbOption = None,
) -> None:
    """Mark a request answered. Example: tamis rights answer req-... --note 'erasure confirmed'"""
    from tamis.consent import open_registry

    with errors(), open_registry(db, existing=True) as registry:
        request = _desk(registry).answer(request_id, note)
    console.print(f"{request.request_id}: answered")


@rights_app.command("affected-models")
def rights_affected_models(
    all_: Annotated[bool, typer.Option("--all", help="Resolved entries too.")] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """The DPO's queue: models trained on data of members who objected or asked for erasure.

    Example: tamis rights affected-models
    """
    from tamis.consent import open_registry

    with errors(), open_registry(db, existing=True) as registry:
        items = _desk(registry).affected_models(include_resolved=all_)
    if as_json:
        console.print_json(json.dumps([i.as_dict() for i in items]))
        return
    table = Table(title="affected models")
    for col in ("#", "model", "request", "snapshots", "status", "action", "note"):
        table.add_column(col)
    for i in items:
        table.add_row(
            str(i.item_id),
            i.model,
            f"{i.request_kind} {i.request_id}",
            ", ".join(i.snapshots),
            i.status,
            i.action or "",
            i.note or "",
        )
    console.print(table if items else "[green]the affected-models queue is empty[/]")


@rights_app.command("resolve")
def rights_resolve(
    item: Annotated[int, typer.Argument(help="The queue entry (#).")],
    action: Annotated[str, typer.Option("--action", help="retrain, unlearn or documented.")],
    note: Annotated[str, typer.Option("--note", help="What was done, or why nothing is needed.")],
    db: DbOption = None,
) -> None:
    """Close an affected-models entry. Example: tamis rights resolve 3 --action retrain --note
    'assistant-v4 replaces it'"""
    from tamis.consent import open_registry

    with errors(), open_registry(db, existing=True) as registry:
        _desk(registry).resolve(item, action, note)
    console.print(f"entry {item}: resolved ({action})")
