"""tamis model, receipt, keys: the lineage store and membership receipts from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from tamis.cli._common import (
    DbOption,
    JsonOption,
    app,
    console,
    errors,
    group,
    instant,
    progress_display,
    write_output,
)

model_app = group("model", "Models trained on snapshots (the lineage store).")


class _ReceiptGroup(TyperGroup):
    """``tamis receipt MEMBER ...`` issues (``issue`` is the default); ``tamis receipt verify``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["issue", *args]
        return super().parse_args(ctx, args)


receipt_app = typer.Typer(
    cls=_ReceiptGroup,
    help=(
        "Signed receipts: is a member in a snapshot? (tamis receipt MEMBER --snapshot DIR; for a "
        "member id spelled like a command, e.g. verify: tamis receipt issue MEMBER ...)"
    ),
    no_args_is_help=True,
)
app.add_typer(receipt_app, name="receipt")
keys_app = group("keys", "The platform's keys.")


@model_app.command("register")
def model_register(
    name: Annotated[str, typer.Argument(help="The model's name (unique).")],
    snapshot: Annotated[
        list[Path], typer.Option("--snapshot", help="A snapshot it was trained on (repeatable).")
    ],
    trained_at: Annotated[
        str | None, typer.Option("--trained-at", help="When it was trained (RFC 3339).")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a model against the snapshots it was trained on (each verified first, as
    `tamis snapshot verify` does).

    Example: tamis model register assistant-v3 --snapshot snapshots/2025-11 --trained-at
    2025-12-01T00:00:00Z
    """
    from tamis.consent import open_registry
    from tamis.lineage.openlineage import emit_model_registration
    from tamis.lineage.store import LineageStore
    from tamis.pipeline.manifest import verify_snapshot

    with errors(), open_registry(db, existing=True) as registry:
        when = instant(trained_at, "--trained-at") if trained_at else None
        # A model's lineage is what rights requests search: a snapshot whose files and manifest
        # disagree (a member taken out of members.parquet, their records left in data/) would
        # hide that member from every later access, objection and erasure.
        for path in snapshot:
            verify_snapshot(path)
        registration = LineageStore(registry).register_model(name, snapshot, trained_at=when)
        if registration.status == "registered":
            emit_model_registration(registration.model)
    if as_json:
        console.print_json(
            json.dumps(
                {
                    **registration.model.as_dict(),
                    "status": registration.status,
                    "affected_queue_entries": registration.affected,
                }
            )
        )
        return
    model = registration.model
    console.print(
        f"[green]{registration.status}[/] {model.name} on "
        + ", ".join(s.snapshot_id for s in model.snapshots)
    )
    if registration.affected:
        console.print(
            f"[yellow]{registration.affected} entr(y/ies) in the affected-models queue[/]: members "
            "of these snapshots objected or asked for erasure (tamis rights affected-models)"
        )


@receipt_app.command("issue")
def receipt_issue(
    member: Annotated[str, typer.Argument(help="The member id.")],
    snapshot: Annotated[Path, typer.Option("--snapshot", help="A snapshot directory.")],
    out: Annotated[Path | None, typer.Option("--out", help="Write here instead of stdout.")] = None,
) -> None:
    """Issue a member's signed receipt for a snapshot (inclusion or non-inclusion).

    The member's pseudonym is derived with the pseudonym key the snapshot was built with (its
    manifest's key_id), so a snapshot built before a key rotation still gets correct receipts
    while the retired key is kept in the key ring (docs/trust.md).

    Example: tamis receipt M-1006 --snapshot snapshots/2025-11-03 > receipt.json
    """
    from tamis.keys import load_key
    from tamis.lineage.receipts import ReceiptIssuer, SnapshotMembers, dump_receipt
    from tamis.lineage.signing import load_signing_key

    with errors():
        members = SnapshotMembers.load(snapshot)
        # A manifest without key_id (older format) cannot say its key: the active one is used.
        key = load_key(key_id=members.pseudonym_key_id)
        issuer = ReceiptIssuer(members, key, load_signing_key())
        data = dump_receipt(issuer.issue(member))
    if out is not None:
        write_output(out, data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()


@receipt_app.command("issue-all")
def receipt_issue_all(
    snapshot: Annotated[Path, typer.Option("--snapshot", help="A snapshot directory.")],
    out: Annotated[Path, typer.Option("--out", help="The receipts file to write (JSONL).")],
    members: Annotated[
        Path | None, typer.Option("--members", help="A text file of member ids, one a line.")
    ] = None,
    export: Annotated[
        Path | None,
        typer.Option("--export", help="A platform export: every member of its members table."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="Worker processes (default: one per CPU)."),
    ] = None,
) -> None:
    """Issue the signed receipts of many members for a snapshot, one receipt a line (JSONL).

    Members come from --members (one id a line) or from an export's members table (--export).
    Each line is a complete receipt file, as `tamis receipt` writes it. The file appears at --out
    only once every receipt is written. Like `tamis receipt`, it uses the pseudonym key the
    snapshot was built with (its manifest's key_id).

    Example: tamis receipt issue-all --snapshot snapshots/2025-11-03 --export demo/export
    --out receipts.jsonl
    """
    from tamis.errors import InputError
    from tamis.keys import load_key
    from tamis.lineage.receipts import (
        ReceiptIssuer,
        SnapshotMembers,
        export_member_ids,
        read_member_ids,
        write_receipts_jsonl,
    )
    from tamis.lineage.signing import load_signing_key

    with errors():
        if (members is None) == (export is None):
            raise InputError("name the members: --members FILE or --export DIR (one of them)")
        ids = read_member_ids(members) if members is not None else export_member_ids(export or "")
        loaded = SnapshotMembers.load(snapshot)
        key = load_key(key_id=loaded.pseudonym_key_id)
        issuer = ReceiptIssuer(loaded, key, load_signing_key())
        with progress_display() as progress:
            written = write_receipts_jsonl(
                issuer,
                ids,
                out,
                workers=workers,
                progress=lambda n: progress("receipts", n, len(ids)),
            )
    console.print(
        f"[green]wrote[/] {written.receipts:,} receipts to {written.path} "
        f"({written.inclusion:,} inclusion, {written.non_inclusion:,} non-inclusion) for snapshot "
        f"{loaded.snapshot_id} in {written.seconds:.1f}s",
        highlight=False,
        soft_wrap=True,
    )


@receipt_app.command("verify")
def receipt_verify(
    file: Annotated[Path, typer.Argument(help="The receipt file.")],
    root: Annotated[str, typer.Option("--root", help="The snapshot's members_root (hex).")],
    public_key: Annotated[Path, typer.Option("--public-key", help="The platform's public key.")],
    every_line: Annotated[
        bool,
        typer.Option("--all", help="FILE is a JSONL file of receipts: check every line."),
    ] = False,
) -> None:
    """Check a receipt offline; non-zero exit saying why it does not verify.

    With --all, FILE holds one receipt a line (tamis receipt issue-all): every line is checked and
    the first one that does not verify is named by its line number.

    Example: tamis receipt verify receipt.json --root 5f1c... --public-key platform.pem
    """
    from tamis.lineage.receipts import parse_receipt, verify_receipt, verify_receipts_jsonl

    if every_line:
        with errors(), progress_display() as progress:
            checked = verify_receipts_jsonl(
                file,
                root,
                _read(public_key, "the public key"),
                progress=lambda n: progress("receipts", n, None),
            )
        console.print(
            f"[green]ok[/] {checked.receipts:,} receipts: {checked.inclusion:,} included, "
            f"{checked.non_inclusion:,} not included, in snapshot {checked.snapshot_id}",
            highlight=False,
        )
        return
    with errors():
        receipt = parse_receipt(_read(file, "the receipt"))
        verify_receipt(receipt, root, _read(public_key, "the public key"))
    kind = "included" if receipt["kind"] == "inclusion" else "not included"
    console.print(
        f"[green]ok[/] {kind}: member {receipt['member_ref']} in snapshot {receipt['snapshot_id']}"
    )


def _read(path: Path, what: str) -> bytes:
    from tamis.errors import InputError

    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", file=str(path)) from None


@keys_app.command("public")
def keys_public(
    out: Annotated[Path | None, typer.Option("--out", help="Write the PEM here.")] = None,
) -> None:
    """The platform's public key (PEM), for receipts and log checkpoints.

    Example: tamis keys public --out platform.pem
    """
    from tamis.lineage.signing import load_signing_key

    with errors():
        key = load_signing_key()
    pem = key.public_pem()
    if out is not None:
        out.write_bytes(pem)
        console.print(f"public key {key.key_id} written to {out}")
    else:
        sys.stdout.buffer.write(pem)
        sys.stdout.flush()
