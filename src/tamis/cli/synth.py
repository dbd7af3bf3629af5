"""tamis synth: a synthetic platform export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tamis.cli._common import (
    app,
    console,
    errors,
    fail,
    progress_display,
)

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
        fail("--format must be jsonl or parquet")
    with errors(), progress_display() as progress:
        summary = generate_platform(
            out,
            members=members,
            seed=seed,
            fmt=fmt,
            records_per_member=records_per_member,
            consent_in_export=not no_consent,
            progress=lambda table, done, total: progress(table, done, total),
        )
    table = Table(title=f"synthetic platform in {out} (seed {seed}, {fmt})")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in summary.tables.items():
        table.add_row(name, f"{rows:,}")
    for kind, rows in sorted(summary.content_by_kind.items()):
        table.add_row(f"  content: {kind}", f"{rows:,}")
    console.print(table)
    where = "the consent_events table" if summary.consent_in_export else f"{out}/_consent/"
    console.print(
        f"consent events in {where} ({summary.consent_malformed:,} malformed on purpose); "
        f"ground truth in {out}/_truth/; {summary.seconds:.1f} s"
    )
