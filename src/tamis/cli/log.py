"""tamis log: the tamper-evident consent log (verify, prove, checkpoint)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tamis.cli._common import DbOption, JsonOption, console, errors, fail, group

log_app = group("log", "The tamper-evident consent log: verify, prove, checkpoint.")


@log_app.command("verify")
def log_verify(
    db: DbOption = None,
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option("--checkpoint", help="A signed checkpoint you hold (repeatable)."),
    ] = None,
    public_key: Annotated[
        Path | None, typer.Option("--public-key", help="The platform's public key (PEM).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Recompute the chain; non-zero exit naming the first broken entry.

    Example: tamis log verify --checkpoint cp-2025-12.json --public-key platform.pem
    """
    from tamis.consent import open_registry
    from tamis.consent.log import verify_registry

    with errors():
        held = [json.loads(p.read_text()) for p in checkpoint or []]
        keys = [public_key.read_bytes()] if public_key else []
        if held and not keys:
            fail("give --public-key to check the signatures of the checkpoints you hold")
        with open_registry(db, existing=True) as registry:
            report = verify_registry(registry, checkpoints=held, public_keys=keys)
    if as_json:
        console.print_json(json.dumps(report.as_dict()))
    if report.problem is not None:
        fail(f"the consent log does not verify: {report.problem}")
    if not as_json:
        kinds = ", ".join(f"{n:,} {k}" for k, n in sorted(report.by_kind.items())) or "empty"
        console.print(
            f"[green]ok[/] {report.entries:,} entries ({kinds}); head #{report.head.seq} "
            f"{report.head.hash}; {report.checkpoints} checkpoint(s) match"
        )


@log_app.command("prove")
def log_prove(
    event_id: Annotated[str, typer.Argument(help="The consent event id (e.g. an objection).")],
    snapshot: Annotated[Path, typer.Option("--snapshot", help="A snapshot directory.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show that a consent event is in the history a snapshot applied.

    Example: tamis log prove objection-req-3f2a... --snapshot snapshots/2025-12
    """
    from tamis.consent import open_registry
    from tamis.consent.log import prove_in_registry

    with errors(), open_registry(db, existing=True) as registry:
        proof = prove_in_registry(registry, event_id, snapshot)
    if as_json:
        console.print_json(json.dumps(proof.as_dict()))
        return
    event = proof.event
    value = "allow" if event["value"] else "objection"
    applied = (
        "[green]applied[/] (at or before the cutoff)"
        if proof.applied
        else "[yellow]not applied[/] (after the cutoff)"
    )
    console.print(
        f"[green]ok[/] {value} {proof.event_id} of {event['member_id']} at {event['ts']} is "
        f"entry #{proof.entry} of the {proof.head.seq:,} entries the snapshot committed to "
        f"(head {proof.head.hash}); cutoff {proof.cutoff}: {applied}"
    )


@log_app.command("checkpoint")
def log_checkpoint(
    db: DbOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="Also write it to this file.")] = None,
) -> None:
    """Sign the log's head with the platform key; publish the checkpoint (e.g. daily, from cron).

    Example: tamis log checkpoint --out checkpoints/2025-12-04.json
    """
    from tamis.consent import open_registry
    from tamis.consent.log import make_checkpoint
    from tamis.lineage.signing import canonical_json, load_signing_key

    with errors(), open_registry(db, existing=True) as registry:
        checkpoint = make_checkpoint(registry, load_signing_key())
    text = canonical_json(checkpoint).decode() + "\n"
    if out is not None:
        out.write_text(text)
    console.print(text, end="", highlight=False, soft_wrap=True)
