"""What every command group shares: the Typer app, console, option types and error handling."""

from __future__ import annotations

import gc
import importlib
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
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


@app.callback()
def _tamis() -> None:
    """Consent-aware training snapshots from a platform's member data."""
    # A callback keeps the app a group even when only one command is loaded: Typer runs an app of
    # a single command as that command, and `tamis synth ...` would read `synth` as an argument.


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
SettingOption = Annotated[
    str, typer.Option("--setting", help="The consent setting (one the policy declares).")
]
SettingsPolicyOption = Annotated[
    str | None,
    typer.Option(
        "--policy",
        help="The policy whose settings --setting may name (default: those of the presets).",
    ),
]


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


def declared_setting(setting: str, policy: str | None) -> str:
    """``setting`` when ``policy`` (a preset name or a file; default: every preset) declares
    it; else a one-line error naming the settings it declares. A build reads an event for a
    setting its policy does not know as nobody's choice (or, spelt like its own, as invalid):
    refused here rather than recorded as something else than was meant."""
    from tamis.policy import load_policy, preset_names

    with errors():
        policies = [load_policy(policy)] if policy else [load_policy(n) for n in preset_names()]
    known = sorted({name for p in policies for name in p.policy.settings})
    if setting not in known:
        whose = f"policy {policy}" if policy else "the presets (another policy: --policy FILE)"
        fail(f"unknown setting {setting!r}; settings of {whose}: {', '.join(known)}")
    return setting


def write_output(path: Path, data: str | bytes) -> None:
    """Write a command's output file; a path that cannot be written is a one-line error."""
    try:
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")


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


# Which module registers each top-level command. ``tamis snapshot build`` imports only the
# snapshot module: the others pull in SQLAlchemy, FastAPI, matplotlib... which a build does not
# need (tests/cli/test_commands.py checks this table against the whole app).
COMMAND_MODULES: dict[str, str] = {
    "audit": "audit",
    "consent": "consent",
    "keys": "lineage",
    "log": "log",
    "model": "lineage",
    "policy": "policy",
    "receipt": "lineage",
    "report": "report",
    "rights": "rights",
    "serve": "service",
    "snapshot": "snapshot",
    "synth": "synth",
}


def load_commands(command: str | None = None) -> typer.Typer:
    """The app with ``command``'s module registered, or every module when ``command`` is None or
    not a known command (help, a typo: Typer then lists or suggests from the whole app)."""
    modules = (
        [COMMAND_MODULES[command]]
        if command in COMMAND_MODULES
        else sorted(set(COMMAND_MODULES.values()))
    )
    for module in modules:
        importlib.import_module(f"tamis.cli.{module}")
    return app


def _command(argv: list[str]) -> str | None:
    """The top-level command named on the command line (options before it are the app's)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def main() -> None:
    load_commands(_command(sys.argv[1:]))
    try:
        app()
    except TamisError as exc:  # pragma: no cover - commands catch their own
        err_console.print(f"[bold red]error:[/] {exc}")
        sys.exit(1)
    finally:
        # The process ends here. Without this, the interpreter's last collections walk every
        # object of every imported module (pyarrow, pandas, DuckDB, SQLAlchemy...): some 0.12 s
        # per command. Nothing is lost: outputs are closed and published before this point,
        # and atexit hooks (temporary directories, thread pools) still run.
        gc.freeze()
