"""The REST API under ``/api/v1``: the member's setting, history, data use and objections, the
demo session, and the DPO's statistics and exports. Routes only translate HTTP to
:class:`~tamis.service.member.MemberService` calls.

Authentication: members by the session cookie (writes also need the ``X-CSRF-Token`` header,
whose value ``GET /api/v1/me`` returns); the DPO by ``Authorization: Bearer <token>``. A member is
never the DPO and the DPO is never a member: each role gets 403 on the other's endpoints.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from tamis.errors import TimestampError
from tamis.service.context import (
    client_ip,
    ctx,
    principal_of,
    replace_session,
    save_session,
    session_of,
)
from tamis.service.identity import Principal
from tamis.service.jsonbody import StrictJSONRoute
from tamis.service.member import event_dict
from tamis.service.security import CSRF_HEADER, check_bearer
from tamis.timefmt import format_instant, parse_instant


class _Model(BaseModel):
    # strict: "yes", 1 or "on" is not a choice (lax pydantic reads them as true, "f" as false)
    model_config = ConfigDict(extra="forbid", strict=True)


class ErrorOut(BaseModel):
    detail: str | list[dict[str, Any]] = Field(
        description="what went wrong (a list of field errors for invalid input)"
    )


class EventOut(BaseModel):
    event_id: str
    receipt: str = Field(description="the receipt number shown to the person")
    setting: str
    value: bool = Field(description="true: allows the use; false: objects")
    ts: str = Field(description="when the person acted (RFC 3339, UTC)")
    channel: str


class JurisdictionOut(BaseModel):
    name: str
    default: bool
    start: str
    notice_from: str | None
    minimum_age: int


class SettingOut(BaseModel):
    setting: str
    value: bool
    source: Literal["choice", "default", "not_covered"]
    decided_by: EventOut | None
    country: str | None
    jurisdiction: JurisdictionOut | None
    invalid: bool
    as_of: str


class SettingIn(_Model):
    value: bool = Field(description="true: allow the use; false: object")


class HistoryOut(BaseModel):
    events: list[EventOut] = Field(description="newest first")


class CategoryCount(BaseModel):
    category: str
    records: int


class SnapshotOut(BaseModel):
    snapshot_id: str
    purpose: str
    policy: str
    cutoff: str
    built_at: str | None
    records: int
    categories: list[CategoryCount]


class RequestOut(EventOut):
    state: Literal["in_effect", "superseded"]


class DataUseOut(BaseModel):
    member_ref: str
    snapshots_checked: int
    snapshots_unverifiable: int = Field(
        0, description="snapshots that could not be checked (a retired key not held, unreadable)"
    )
    snapshots: list[SnapshotOut]
    requests: list[RequestOut]


class MeOut(BaseModel):
    member_id: str
    country: str | None
    display_name: str
    csrf_token: str = Field(description=f"send it as {CSRF_HEADER} with every write")


class LoginIn(_Model):
    member_id: str = Field(min_length=1, max_length=200)


class ObjectionIn(_Model):
    email: str | None = Field(
        default=None,
        max_length=254,
        description="required when not signed in; a verification link is sent to it",
    )


class ObjectionOut(BaseModel):
    status: Literal["recorded", "already_recorded", "verification_sent"]
    receipt: str | None
    event: EventOut | None


class VerifyIn(_Model):
    token: str = Field(min_length=1, max_length=2000)


class EventCountOut(BaseModel):
    setting: str
    value: bool
    channel: str
    events: int


class StatsOut(BaseModel):
    events: int
    members: int
    counts: list[EventCountOut]
    first_ts: str | None
    last_ts: str | None
    unresolved_rejects: int
    unattributed_rejects: int
    invalid_members: int


class HealthOut(BaseModel):
    status: Literal["ok"]


Responses = dict[int | str, dict[str, Any]]
_400: dict[str, Any] = {"model": ErrorOut, "description": "the body is not JSON"}
_401: dict[str, Any] = {"model": ErrorOut, "description": "not signed in"}
_403: dict[str, Any] = {
    "model": ErrorOut,
    "description": "signed in, but not allowed (role or CSRF token)",
}
_429: dict[str, Any] = {"model": ErrorOut, "description": "too many requests from this client"}
_503: dict[str, Any] = {"model": ErrorOut, "description": "the registry could not record or read"}
MEMBER: Responses = {401: _401, 403: _403, 503: _503}
MEMBER_WRITE: Responses = {400: _400, **MEMBER}
DPO: Responses = {401: _401, 403: _403, 503: _503}

# bodies are strict JSON: a name given twice ({"value": false, "value": true}) is refused
router = APIRouter(prefix="/api/v1", route_class=StrictJSONRoute)


# -- dependencies ----------------------------------------------------------------------------------


def dpo_header(request: Request) -> bool | None:
    return check_bearer(request.headers.get("authorization"), ctx(request).dpo_token)


async def require_member(request: Request) -> Principal:
    """The signed-in member; 401 if none, 403 for the DPO token (not a member).

    Dependencies are ``async``: they only verify a cookie and ask the identity provider, which
    must answer from memory (a sync dependency costs a thread-pool round trip per request)."""
    principal = principal_of(request)
    if principal is None:
        if dpo_header(request):
            raise HTTPException(403, "the DPO role has no member data")
        raise HTTPException(401, "sign in first")
    return principal


async def require_member_write(request: Request) -> Principal:
    """:func:`require_member`, plus a valid ``X-CSRF-Token`` (cookie sessions only)."""
    principal = await require_member(request)
    session = session_of(request)
    if session.member_id is not None and not session.check_csrf(request.headers.get(CSRF_HEADER)):
        raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header")
    return principal


async def require_dpo(request: Request) -> None:
    """The DPO's bearer token; 401 without a valid one, 403 for a signed-in member."""
    verdict = dpo_header(request)
    if verdict:
        return
    if verdict is None and principal_of(request) is not None:
        raise HTTPException(403, "members cannot use the DPO endpoints")
    raise HTTPException(401, "give the DPO token as Authorization: Bearer <token>")


Member = Annotated[Principal, Depends(require_member)]
MemberWrite = Annotated[Principal, Depends(require_member_write)]


def _rate_limit(request: Request) -> None:
    allowed, wait = ctx(request).limiter.allow(client_ip(request))
    if not allowed:
        raise HTTPException(
            429, "too many objections from this client", {"Retry-After": str(int(wait) + 1)}
        )


# -- public ----------------------------------------------------------------------------------------


@router.get("/health", response_model=HealthOut, tags=["public"])
def health() -> dict[str, str]:
    """Liveness: the process answers (it does not check the registry)."""
    return {"status": "ok"}


@router.post(
    "/session",
    response_model=MeOut,
    tags=["session"],
    responses={
        400: _400,
        401: {"model": ErrorOut, "description": "unknown member"},
        404: {"model": ErrorOut, "description": "no interactive sign-in here"},
    },
)
def login(body: LoginIn, request: Request, response: Response) -> dict[str, Any]:
    """Sign in with the demo identity provider (synthetic members only; absent in production)."""
    c = ctx(request)
    if not c.provider.interactive:
        raise HTTPException(404, "this deployment signs members in on the platform")
    principal = c.provider.login(body.member_id)
    if principal is None:
        raise HTTPException(401, "no member has this id")
    session = session_of(request).signed_in(principal.member_id)
    replace_session(request, session)
    save_session(request, response)
    return _me(principal, session.csrf)


@router.delete("/session", status_code=204, tags=["session"], responses=MEMBER)
def logout(_: MemberWrite, response: Response) -> Response:
    """Sign out (the session cookie is cleared)."""
    from tamis.service.context import clear_session

    out = Response(status_code=204)
    clear_session(out)
    return out


def _me(principal: Principal, csrf: str) -> dict[str, Any]:
    return {
        "member_id": principal.member_id,
        "country": principal.country,
        "display_name": principal.display_name,
        "csrf_token": csrf,
    }


# -- member ----------------------------------------------------------------------------------------


@router.get("/me", response_model=MeOut, tags=["member"], responses=MEMBER)
def me(principal: Member, request: Request, response: Response) -> dict[str, Any]:
    """Who I am, and the CSRF token my writes must carry."""
    save_session(request, response)
    return _me(principal, session_of(request).csrf)


@router.get("/me/setting", response_model=SettingOut, tags=["member"], responses=MEMBER)
def my_setting(principal: Member, request: Request) -> dict[str, Any]:
    """My current value and why: my choice, or my region's default, or not covered."""
    return ctx(request).service.status(principal).as_dict()


@router.put("/me/setting", response_model=EventOut, tags=["member"], responses=MEMBER_WRITE)
async def change_my_setting(body: SettingIn, principal: MemberWrite, request: Request) -> Any:
    """Change my value: records a consent event (channel ``api``) and answers once committed."""
    event = await ctx(request).service.set_choice(principal.member_id, body.value, "api")
    # The hot path of the load bench: serialised directly (the shape is EventOut's).
    return Response(orjson.dumps(event_dict(event)), media_type="application/json")


@router.get("/me/history", response_model=HistoryOut, tags=["member"], responses=MEMBER)
def my_history(principal: Member, request: Request) -> dict[str, Any]:
    """My consent events for the setting, newest first."""
    events = ctx(request).service.history(principal.member_id)
    return {"events": [event_dict(e) for e in events]}


@router.get("/me/data-use", response_model=DataUseOut, tags=["member"], responses=MEMBER)
def my_data_use(principal: Member, request: Request) -> dict[str, Any]:
    """Which training snapshots include my data, with record counts by category; my requests."""
    return ctx(request).service.data_use(principal.member_id).as_dict()


# -- objections ------------------------------------------------------------------------------------


@router.post(
    "/objections",
    response_model=ObjectionOut,
    status_code=201,
    tags=["objection"],
    responses={
        202: {"model": ObjectionOut, "description": "a verification link was sent"},
        400: _400,
        403: _403,
        422: {"model": ErrorOut, "description": "no e-mail address, or an invalid one"},
        429: _429,
        503: _503,
    },
)
async def submit_objection(body: ObjectionIn, request: Request, response: Response) -> Any:
    """Object (GDPR Art. 21). Signed in: recorded at once (201, with a receipt). Otherwise: a
    verification link goes to the e-mail address (202); following it records the objection."""
    _rate_limit(request)
    principal = principal_of(request)
    c = ctx(request)
    if principal is not None:
        session = session_of(request)
        if session.member_id is not None and not session.check_csrf(
            request.headers.get(CSRF_HEADER)
        ):
            raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header")
        event = await c.service.object_on_form(principal.member_id)
        return {"status": "recorded", "receipt": event.event_id, "event": event_dict(event)}
    email = (body.email or "").strip()
    if not valid_email(email):
        raise HTTPException(422, "give a valid e-mail address")
    send_verification(request, email, session_of(request).lang or "en")
    response.status_code = 202
    return {"status": "verification_sent", "receipt": None, "event": None}


@router.post(
    "/objections/verify",
    response_model=ObjectionOut,
    status_code=201,
    tags=["objection"],
    responses={
        200: {"model": ObjectionOut, "description": "the link was already used"},
        400: {"model": ErrorOut, "description": "invalid or expired token, or not JSON"},
        429: _429,
        503: _503,
    },
)
async def verify_objection(body: VerifyIn, request: Request, response: Response) -> Any:
    """Record the objection of a verified e-mail address (idempotent: a second use returns the
    same receipt, with status 200, while an objection decides; used again after the member
    allowed once more, the link records a new objection, 201)."""
    _rate_limit(request)
    event, new = await record_verified(request, body.token)
    if event is None:
        raise HTTPException(400, "the verification token is invalid or has expired")
    if not new:
        response.status_code = 200
    return {
        "status": "recorded" if new else "already_recorded",
        "receipt": event.event_id,
        "event": event_dict(event),
    }


def valid_email(email: str) -> bool:
    """A plausible address (one @, a dot in the domain, no spaces); delivery is the real check."""
    local, at, domain = email.rpartition("@")
    return (
        bool(at and local and "." in domain.strip("."))
        and not any(ch.isspace() for ch in email)
        and len(email) <= 254
    )


def send_verification(request: Request, email: str, lang: str) -> None:
    c = ctx(request)
    token = c.tokens.issue(email)
    base = c.config.public_url or str(request.base_url)
    link = f"{base.rstrip('/')}/object/verify?token={token}"
    c.sender.send(email.strip().lower(), link, lang)


async def record_verified(request: Request, token: str) -> tuple[Any, bool]:
    """Record the objection a verification token stands for; (None, False) if it is invalid."""
    c = ctx(request)
    read = c.tokens.read(token)
    if read is None:
        return None, False
    email, nonce = read
    member = c.provider.find_by_email(email)
    subject = member.member_id if member is not None else c.service.nonmember_id(email)
    return await c.service.object_verified(subject, nonce)


# -- DPO -------------------------------------------------------------------------------------------


@router.get(
    "/dpo/stats",
    response_model=StatsOut,
    tags=["dpo"],
    responses=DPO,
    dependencies=[Depends(require_dpo)],
)
def dpo_stats(request: Request) -> dict[str, Any]:
    """Consent statistics: events by setting, value and channel; members; unresolved rejects."""
    s = ctx(request).service.registry.stats()
    return {
        "events": s.events,
        "members": s.members,
        "counts": [
            {"setting": c.setting, "value": c.value, "channel": c.channel, "events": c.events}
            for c in s.counts
        ],
        "first_ts": None if s.first_ts is None else format_instant(s.first_ts),
        "last_ts": None if s.last_ts is None else format_instant(s.last_ts),
        "unresolved_rejects": s.unresolved_rejects,
        "unattributed_rejects": s.unattributed_rejects,
        "invalid_members": s.invalid_members,
    }


@router.get(
    "/dpo/export",
    tags=["dpo"],
    responses={
        **DPO,
        200: {
            "description": "one line per member with an event at as_of",
            "content": {"text/csv": {}, "application/x-ndjson": {}},
        },
        422: {"model": ErrorOut, "description": "as_of is not RFC 3339 with an offset"},
    },
    dependencies=[Depends(require_dpo)],
)
def dpo_export(
    request: Request,
    as_of: Annotated[
        str | None, Query(description="RFC 3339 instant with an offset (default: now)")
    ] = None,
    fmt: Annotated[Literal["csv", "jsonl"], Query(alias="format")] = "csv",
) -> StreamingResponse:
    """Every member's deciding event at ``as_of`` (members without one follow their region's
    default and are absent): ``member_id, value, event_id, ts``, as CSV or JSON lines."""
    try:
        instant = parse_instant(as_of, what="as_of") if as_of else datetime.now(UTC)
    except TimestampError as exc:
        raise HTTPException(422, str(exc)) from None
    service = ctx(request).service
    batches = service.registry.bulk_state_batches(instant, service.setting)
    # The query runs on the first batch: asked for here, a registry that cannot be read is a
    # 503, not a 200 whose body stops after the header. (A failure later in the stream cuts the
    # connection before the chunked body's end, which clients report as an incomplete transfer.)
    first = next(batches, None)
    rest = itertools.chain([first] if first is not None else [], batches)
    media = "text/csv" if fmt == "csv" else "application/x-ndjson"
    return StreamingResponse(_export_lines(rest, fmt), media_type=media)


def _export_lines(batches: Iterator[Any], fmt: str) -> Iterator[bytes]:
    """The export, a batch of the registry's answer at a time (memory stays bounded)."""
    if fmt == "csv":
        yield b"member_id,value,event_id,ts\n"
    for batch in batches:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        lines = []
        for row in batch.to_pylist():
            ts = format_instant(row["ts"])
            if fmt == "csv":
                value = "true" if row["value"] else "false"
                writer.writerow([row["member_id"], value, row["event_id"], ts])
            else:
                lines.append(orjson.dumps({**row, "ts": ts}) + b"\n")
        yield buffer.getvalue().encode() if fmt == "csv" else b"".join(lines)
