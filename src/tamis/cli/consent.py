"""tamis consent: the consent registry from the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
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
    err_console,
    errors,
    fail,
    group,
    instant,
)
from tamis.timefmt import format_instant

consent_app = group("consent", "The consent registry: import, set, history, state.")


# --- consent --------------------------------------------------------------------------------------


def _event_row(table: Table, event: Any) -> None:

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

    with errors(), open_registry(db) as registry:
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
    setting: SettingOption = "genai_training",
    policy: SettingsPolicyOption = None,
    db: DbOption = None,
) -> None:
    """Record a member's choice. Example: tamis consent set m42 --object --channel settings_page"""
    from tamis.consent import open_registry
    from tamis.consent.model import future_ts
    from tamis.sources.schema import CONSENT_CHANNELS

    if allow == object_:
        fail("give exactly one of --allow and --object")
    if channel not in CONSENT_CHANNELS:
        fail(f"unknown channel {channel!r}; channels: {', '.join(CONSENT_CHANNELS)}")
    declared_setting(setting, policy)
    with errors(), open_registry(db) as registry:
        when = instant(at, "--at") if at else None
        if when is not None:
            problem = future_ts(when, datetime.now(UTC))
            if problem is not None:  # said in terms of the option, not of the event's field
                fail(f"--at: {problem}")
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

    with errors(), open_registry(db, existing=True) as registry:
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
    policy: Annotated[
        str | None,
        typer.Option(
            "--policy",
            help="The policy whose settings' misspelt forms make the member invalid, as in its "
            "builds (default: --setting's alone).",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """A member's value at an instant.

    Example: tamis consent state m42 --as-of 2026-01-01T00:00:00Z
    """
    from tamis.consent import open_registry
    from tamis.policy import load_policy

    with errors():
        declared = list(load_policy(policy).policy.settings) if policy else []
    with errors(), open_registry(db, existing=True) as registry:
        state = registry.state(
            member, instant(as_of, "--as-of"), setting=setting, declared=declared
        )
    if state.invalid:
        console.print(f"{member}: [red]out[/] (consent_invalid: {'; '.join(state.why)})")
    if state.decided_by is None:
        console.print(f"{member}: no event at {as_of}: the default of the member's region applies")
    else:
        e = state.decided_by
        value = "[green]allow[/]" if state.value else "[red]object[/]"
        console.print(
            f"{member}: {value} since {format_instant(e.ts)} ({e.channel}, event {e.event_id})"
        )
