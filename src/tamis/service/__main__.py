"""``python -m tamis.service``: the same as ``tamis serve`` (used by the tests and the bench)."""

from __future__ import annotations

import typer

from tamis.cli.service import serve

if __name__ == "__main__":
    typer.run(serve)
