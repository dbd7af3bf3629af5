"""The FastAPI application: :func:`create_app` wires the registry, the policy, the identity
provider, the writer, the objection sweeper and the routes; the lifespan starts and stops the
writer and the sweeper."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from tamis import __version__
from tamis.consent.registry import open_registry
from tamis.keys import load_keyring
from tamis.policy.loader import load_policy
from tamis.service.config import DPO_TOKEN_ENV, ServiceConfig
from tamis.service.context import ServiceContext
from tamis.service.datause import DataUseSource, NoDataUse, SnapshotDirSource
from tamis.service.fastpath import ERROR_STATUS, SettingWriteFastPath
from tamis.service.identity import IdentityProvider, load_provider
from tamis.service.member import MemberService
from tamis.service.security import SessionCodec, TokenBucketLimiter, load_session_secret
from tamis.service.sweeper import ObjectionSweeper
from tamis.service.verification import ConsoleSender, VerificationSender, VerificationTokens
from tamis.service.writer import GroupCommitWriter

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; style-src 'self'; script-src 'none'; form-action 'self'; "
        b"frame-ancestors 'self'; base-uri 'none'",
    ),
]


class SecurityHeaders:
    """Pure ASGI middleware adding the headers above to every response (cheap, no buffering)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ServiceApp(FastAPI):
    """The FastAPI application, whose hot write (``PUT /api/v1/me/setting`` from a cookie session)
    may be answered before the framework's middleware and routing (:mod:`.fastpath`)."""

    fast_path: SettingWriteFastPath | None = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if self.fast_path is not None and self.fast_path.wants(scope):
            if self.root_path:  # as FastAPI.__call__ does, before the path is matched
                scope["root_path"] = self.root_path
            await self.fast_path(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(
    config: ServiceConfig,
    *,
    provider: IdentityProvider | None = None,
    identity: str = "demo",
    sender: VerificationSender | None = None,
    data_use: DataUseSource | None = None,
) -> FastAPI:
    """The service for ``config``. ``provider`` (else ``identity``: ``demo`` or
    ``module:factory``), ``sender`` (default: the console) and ``data_use`` (default: the
    ``config.snapshots`` folder) are the pluggable parts."""
    import os

    loaded = load_policy(config.policy)
    provider = provider or load_provider(identity, config)
    if data_use is None:
        data_use = NoDataUse() if config.snapshots is None else SnapshotDirSource(config.snapshots)
    secret = load_session_secret(config.session_secret)
    registry = open_registry(config.db)
    writer = GroupCommitWriter(registry, max_batch=config.max_batch)
    keyring = load_keyring()
    sweeper = ObjectionSweeper(
        registry,
        keyring,
        interval_s=config.sweep_interval_s,
        writer=writer,
        setting=config.setting,
    )
    service = MemberService(
        registry, writer, loaded, keyring, data_use, config.setting, sweeper=sweeper
    )
    templates = Environment(
        loader=PackageLoader("tamis.service", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    context = ServiceContext(
        config=config,
        service=service,
        provider=provider,
        sessions=SessionCodec(secret, config.session_max_age_s),
        limiter=TokenBucketLimiter(config.objection_burst, config.objection_per_hour / 3600),
        sender=sender or ConsoleSender(),
        tokens=VerificationTokens(secret),
        templates=templates,
        dpo_token=config.dpo_token or os.environ.get(DPO_TOKEN_ENV) or None,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        writer.start()
        sweeper.start()
        try:
            yield
        finally:
            sweeper.close()
            writer.close()
            registry.close()

    app = ServiceApp(
        title="tamis member service",
        version=__version__,
        description=(
            "The member side of generative-AI training: the member's setting and its history, "
            "which training snapshots hold their data, and the GDPR Art. 21 objection form. "
            "Every write is an append-only consent event, answered once committed."
        ),
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.tamis = context
    from tamis.service import api, pages

    app.include_router(api.router)
    app.include_router(pages.router)

    for error, status in ERROR_STATUS.items():  # RegistryError 503, ConsentConflictError 409
        app.add_exception_handler(error, _error_handler(status))

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        return JSONResponse(
            {"detail": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
        )

    app.add_middleware(SecurityHeaders)
    if config.fast_path:
        # What it does not answer goes through the whole application (FastAPI.__call__).
        app.fast_path = SettingWriteFastPath(
            partial(FastAPI.__call__, app), context, headers=SECURITY_HEADERS
        )
    return app


def _error_handler(status: int) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handler(request: Request, exc: Exception) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=status)

    return handler
