"""``POST /api/v1/guard/check``: the output guard over HTTP (a FastAPI router for the service).

The service includes the router and provides the guard (built once, at start-up)::

    from tamis.guard.api import router
    app.state.guard = Guard(MemberDirectory.from_export(export_dir))
    app.include_router(router)

Request ``{"text": "...", "mode": "redact" | "block"}``; response ``{"action": "allow" |
"redact" | "block", "text": "...", "findings": [{"type", "start", "end", "detector", "member"}]}``.
Without ``app.state.guard`` the route answers 503. The route only translates: all logic is in
:class:`tamis.guard.Guard`.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from tamis.guard._guard import Guard

MAX_TEXT = 1_000_000


class CheckRequest(BaseModel):
    text: str = Field(max_length=MAX_TEXT, description="The generated text to check.")
    mode: Literal["redact", "block"] = "redact"


class FindingOut(BaseModel):
    type: str
    start: int
    end: int
    detector: str
    member: bool


class CheckResponse(BaseModel):
    action: Literal["allow", "redact", "block"]
    text: str
    findings: list[FindingOut]


router = APIRouter(prefix="/api/v1/guard", tags=["guard"])


def get_guard(request: Request) -> Guard:
    """The guard the service put in ``app.state.guard``."""
    guard = getattr(request.app.state, "guard", None)
    if not isinstance(guard, Guard):
        raise HTTPException(status_code=503, detail="the output guard is not configured")
    return guard


@router.post("/check", response_model=CheckResponse)
def check(body: CheckRequest, request: Request) -> CheckResponse:
    """Check a generation for member personal data; redact it or block it."""
    result = get_guard(request).check(body.text, body.mode)
    return CheckResponse.model_validate(result.to_dict())
