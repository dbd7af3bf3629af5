"""The command line loads only what the command it runs needs, and still knows every command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tamis.cli import app
from tamis.cli._common import COMMAND_MODULES


def _registered() -> dict[str, str]:
    """Top-level command name -> the cli module whose code implements it."""
    found = {}
    for info in app.registered_commands:
        found[info.name] = info.callback.__module__
    for group in app.registered_groups:
        commands = group.typer_instance.registered_commands
        subgroups = group.typer_instance.registered_groups
        callback = (commands or subgroups[0].typer_instance.registered_commands)[0].callback
        found[group.name] = callback.__module__
    return found


def test_the_command_table_names_every_command_and_its_module() -> None:
    registered = _registered()
    assert set(registered) == set(COMMAND_MODULES)
    for name, module in registered.items():
        assert module == f"tamis.cli.{COMMAND_MODULES[name]}", name


def _loaded_after(argv: list[str]) -> set[str]:
    code = (
        "import sys\n"
        f"sys.argv = ['tamis', *{argv!r}]\n"
        "from tamis.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(' '.join(sorted(m for m in sys.modules"
        " if m.startswith(('tamis.cli.', 'sqlalchemy', 'fastapi', 'matplotlib')))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split("\n")[-2].split())


def test_a_snapshot_command_loads_neither_other_commands_nor_the_registry_code() -> None:
    assert _loaded_after(["snapshot", "--help"]) == {"tamis.cli._common", "tamis.cli.snapshot"}


def test_the_main_help_lists_every_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tamis.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for name in COMMAND_MODULES:
        assert f" {name} " in out, name


def test_an_unknown_command_is_answered_from_the_whole_app() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tamis.cli", "snapshots"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "snapshots" in result.stderr


@pytest.mark.parametrize("command", sorted(COMMAND_MODULES))
def test_each_command_runs_with_only_its_module_loaded(command: str) -> None:
    """As the entry point runs it: ``serve`` and ``synth`` are the only commands of their modules,
    and an app of one command must still take the command's name."""
    entry_point = Path(sys.executable).with_name("tamis")  # the console script pip installed
    result = subprocess.run([entry_point, command, "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"Usage: tamis {command} " in " ".join(result.stdout.split())
