"""What every command group shares: the Typer app, console, option types and error handling."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
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


def group(name: str, help: str) -> typer.Typer:
    """A command group (``tamis NAME ...``) registered on the main app."""
    sub = typer.Typer(help=help, no_args_is_help=True)
    app.add_typer(sub, name=name)
    return sub


F = TypeVar("F", bound=Callable[..., Any])

# Shared options: every command spells them the same way.
DbOption = Annotated[
    str | None,
    typer.Option("--db", envvar="TAMIS_DB", help="Registry: a SQLite path or a SQLAlchemy URL."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def fail(message: str, code: int = 1) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def errors() -> Iterator[None]:
    try:
        yield
    except TamisError as exc:
        fail(str(exc))
    except KeyError as exc:  # unknown purpose / name lookups carry a readable message
        fail(str(exc.args[0]) if exc.args else str(exc))


def instant(text: str, what: str) -> datetime:
    """Parse a timestamp option; a missing offset is a one-line error."""
    from tamis.timefmt import parse_instant

    return parse_instant(text, what=what)


@contextmanager
def progress_display(enabled: bool = True) -> Iterator[Callable[[str, int, int | None], None]]:
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


def main() -> None:
    try:
        app()
    except TamisError as exc:  # pragma: no cover - commands catch their own
        err_console.print(f"[bold red]error:[/] {exc}")
        sys.exit(1)
