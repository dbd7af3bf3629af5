"""tamis serve: the member-facing service (settings page, objection form, data use, REST API)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tamis.cli._common import DbOption, app, err_console, errors


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    db: DbOption = None,
    policy: Annotated[
        str, typer.Option("--policy", help="Policy preset or file (what the pages say).")
    ] = "linkedin-2025",
    export: Annotated[
        Path | None,
        typer.Option("--export", help="Export whose members the demo sign-in knows."),
    ] = None,
    snapshots: Annotated[
        Path | None,
        typer.Option("--snapshots", help="Folder of published snapshots (data-use page)."),
    ] = None,
    identity: Annotated[
        str,
        typer.Option("--identity", help="Identity provider: demo, or package.module:factory."),
    ] = "demo",
    public_url: Annotated[
        str | None,
        typer.Option("--public-url", help="Base URL of verification links (default: request's)."),
    ] = None,
    secure_cookies: Annotated[
        bool, typer.Option("--secure-cookies", help="Mark cookies Secure (behind HTTPS).")
    ] = False,
) -> None:
    """Run the member service until interrupted.

    Example: tamis serve --export demo/export --snapshots demo/snapshots --db demo/registry.db
    """
    import uvicorn

    from tamis.service.app import create_app
    from tamis.service.config import ServiceConfig

    config = ServiceConfig(
        db=db,
        policy=policy,
        export=export,
        snapshots=snapshots,
        public_url=public_url,
        secure_cookies=secure_cookies,
    )
    with errors():
        application = create_app(config, identity=identity)
    if identity == "demo":
        err_console.print(
            "[yellow]demo sign-in:[/] anyone can sign in as any member of the export, "
            "without a password; never expose this to real members"
        )
    err_console.print(f"tamis member service on http://{host}:{port}/ (API: /api/docs)")
    uvicorn.run(application, host=host, port=port, log_level="warning", access_log=False)
