"""What every route shares: the service context on the app, the session and the caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from jinja2 import Environment

from tamis.service.config import ServiceConfig
from tamis.service.i18n import negotiate
from tamis.service.identity import IdentityProvider, Principal
from tamis.service.member import MemberService
from tamis.service.security import SESSION_COOKIE, Session, SessionCodec, TokenBucketLimiter
from tamis.service.verification import VerificationSender, VerificationTokens


@dataclass
class ServiceContext:
    """The parts of a running service, built once by :func:`tamis.service.app.create_app`."""

    config: ServiceConfig
    service: MemberService
    provider: IdentityProvider
    sessions: SessionCodec
    limiter: TokenBucketLimiter
    sender: VerificationSender
    tokens: VerificationTokens
    templates: Environment
    dpo_token: str | None


def ctx(request: Request) -> ServiceContext:
    context: ServiceContext = request.app.state.tamis
    return context


def session_of(request: Request) -> Session:
    """The visitor's session (a fresh anonymous one when the cookie is absent or invalid)."""
    cached: Session | None = getattr(request.state, "tamis_session", None)
    if cached is None:
        cached = ctx(request).sessions.loads(request.cookies.get(SESSION_COOKIE))
        if cached is None:
            cached = Session.fresh()
        request.state.tamis_session = cached
    return cached


def replace_session(request: Request, session: Session) -> None:
    request.state.tamis_session = session


def save_session(request: Request, response: Response) -> None:
    """Set the session cookie on ``response`` if the session is new or changed."""
    session = session_of(request)
    if not session.changed:
        return
    c = ctx(request)
    response.set_cookie(
        SESSION_COOKIE,
        c.sessions.dumps(session),
        max_age=c.sessions.max_age_s,
        httponly=True,
        samesite="lax",
        secure=c.config.secure_cookies or request.url.scheme == "https",
        path="/",
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


def principal_of(request: Request) -> Principal | None:
    """The signed-in member: from the session (interactive providers, whose sign-in form put
    it there; re-checked with the provider), else from the platform's own credentials
    (non-interactive providers).

    A non-interactive deployment never signs a member into a session, so it ignores a member id
    a session cookie carries: a cookie minted by a demo service sharing the session secret (by
    default a per-user key file) must not speak for a member the platform did not
    authenticate."""
    if hasattr(request.state, "tamis_principal"):
        cached: Principal | None = request.state.tamis_principal
        return cached
    c = ctx(request)
    principal = None
    if not c.provider.interactive:
        principal = c.provider.authenticate(request)
    else:
        session = session_of(request)
        if session.member_id is not None:
            principal = c.provider.member(session.member_id)
    request.state.tamis_principal = principal
    return principal


def lang_of(request: Request) -> str:
    """The page language; a ``?lang=`` switch is remembered in the session."""
    session = session_of(request)
    asked = request.query_params.get("lang")
    lang = negotiate(asked, session.lang, request.headers.get("accept-language"))
    if asked == lang and session.lang != lang:
        session.lang = lang
        session.changed = True
    return lang


def client_ip(request: Request) -> str:
    """The client address the rate limiter counts (behind a proxy: configure the proxy headers
    in uvicorn, ``--forwarded-allow-ips``, so that this is the real client)."""
    return request.client.host if request.client else "unknown"


def wants(request: Request, name: str) -> Any:
    return request.query_params.get(name)
