"""The service's hot write, answered without the framework: ``PUT /api/v1/me/setting``.

Profiling the settings load bench showed that FastAPI's middleware, routing, dependency
resolution and request objects cost about 0.5 ms of CPU per write, most of the service's own
cost, in a process whose throughput is bound by one Python thread. :class:`SettingWriteFastPath`
answers the one request shape that load consists of, a member changing their setting from a
cookie session, before the framework (:class:`~tamis.service.app.ServiceApp` calls it first),
with the same checks and the same service call as the route
(:func:`tamis.service.api.change_my_setting`):

- the session cookie verifies (:class:`~tamis.service.security.SessionCodec`) and names a member
  whom the identity provider still knows (``provider.member``, as :func:`~.context.principal_of`);
- the ``X-CSRF-Token`` header matches the session's token (constant time);
- the body is JSON ``{"value": true}`` or ``{"value": false}`` (``Content-Type: application/json``).

Anything else goes to the whole application, untouched (the body read so far is replayed): a
missing or invalid cookie, a wrong token, another body, another content type, a body longer than
a valid one. Every refusal (401, 403, 422...) is therefore FastAPI's own answer, exactly as
without the fast path. The fast path answers 200 with the committed event, or what the app's
exception handlers answer for a registry error (503) or a reused event id (409), with the
security headers of every answer. ``ServiceConfig(fast_path=False)`` turns it off;
``tests/service/test_service_fastpath.py`` checks that both answer the same.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import cookie_parser

from tamis.errors import ConsentConflictError, RegistryError
from tamis.service.jsonbody import strict_loads
from tamis.service.member import event_dict
from tamis.service.security import CSRF_HEADER, SESSION_COOKIE

if TYPE_CHECKING:
    from tamis.service.context import ServiceContext

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PATH = "/api/v1/me/setting"
# The longest valid body, with room for whitespace: anything longer is not the hot shape.
MAX_BODY = 64
_CSRF = CSRF_HEADER.lower().encode()
_JSON = b"application/json"
_BODIES = {b'{"value": true}': True, b'{"value": false}': False}
# What the app's exception handlers answer for the registry's errors (app.py registers these).
ERROR_STATUS: dict[type[Exception], int] = {RegistryError: 503, ConsentConflictError: 409}


class SettingWriteFastPath:
    """The hot write without the framework; see the module docstring.

    ``app`` answers what the fast path does not (the whole application); ``context`` is the
    service's :class:`~.context.ServiceContext`; ``headers`` are added to every answer (the
    security headers the application's middleware adds to its own).
    """

    def __init__(
        self, app: ASGIApp, context: ServiceContext, headers: Sequence[tuple[bytes, bytes]] = ()
    ) -> None:
        self.app = app
        self.context = context
        self.headers = list(headers)

    @staticmethod
    def wants(scope: Scope) -> bool:
        """Whether a request may be the hot write (its method and path; headers are checked
        when it is answered, and it goes to ``app`` if they do not fit)."""
        path: str = scope.get("path", "")
        return scope["type"] == "http" and scope.get("method") == "PUT" and path.endswith(PATH)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.wants(scope) or _route_path(scope) != PATH:
            await self.app(scope, receive, send)
            return
        cookie = csrf = content_type = length = None
        for name, value in scope["headers"]:
            # The first of each, as Starlette's request.headers.get does.
            if name == b"cookie" and cookie is None:
                cookie = value
            elif name == _CSRF and csrf is None:
                csrf = value
            elif name == b"content-type" and content_type is None:
                content_type = value
            elif name == b"content-length" and length is None:
                length = value
        if (
            cookie is None
            or csrf is None
            or content_type is None
            or content_type.split(b";", 1)[0].strip().lower() != _JSON
            or (length is not None and (not length.isdigit() or int(length) > MAX_BODY))
        ):
            await self.app(scope, receive, send)
            return
        messages = await _read_body(receive)
        body = _hot_body(messages)
        value = None if body is None else _value(body)
        member = None if value is None else self._member(cookie, csrf)
        if value is None or member is None:  # not the hot shape: the route answers
            await self.app(scope, _replay(messages, receive), send)
            return
        try:
            event = await self.context.service.set_choice(member, value, "api")
        except tuple(ERROR_STATUS) as exc:
            status = next(ERROR_STATUS[k] for k in type(exc).__mro__ if k in ERROR_STATUS)
            await self._respond(send, status, orjson.dumps({"detail": str(exc)}))
            return
        await self._respond(send, 200, orjson.dumps(event_dict(event)))

    async def _respond(self, send: Send, status: int, body: bytes) -> None:
        headers = [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
            *self.headers,
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _member(self, cookie: bytes, csrf: bytes) -> str | None:
        """The member id of a valid session whose CSRF token is ``csrf``; None otherwise."""
        raw = cookie_parser(cookie.decode("latin-1")).get(SESSION_COOKIE)
        if not raw:
            return None
        c = self.context
        if not c.provider.interactive:  # members come from the platform's credentials: the route
            return None
        session = c.sessions.loads(raw)
        if session is None or session.member_id is None:
            return None
        if not session.check_csrf(csrf.decode("latin-1")):
            return None
        principal = c.provider.member(session.member_id)
        return None if principal is None else str(principal.member_id)


def _route_path(scope: Scope) -> str:
    """The path the router matches (without a mount's ``root_path``), as Starlette computes it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path != root and path[len(root)] == "/":
        return path[len(root) :]
    return path


def _value(body: bytes) -> bool | None:
    """True or False for a body ``{"value": true|false}`` (any JSON spelling of it); else None."""
    if body in _BODIES:
        return _BODIES[body]
    try:
        data = strict_loads(body)  # as the route reads it: {"value": false, "value": true} is not
    except ValueError:  # (UnicodeDecodeError too)
        return None
    if type(data) is dict and len(data) == 1 and type(data.get("value")) is bool:
        return bool(data["value"])
    return None


async def _read_body(receive: Receive) -> list[Message]:
    """The messages of the request body, read until it ends, goes past :data:`MAX_BODY` bytes,
    or something else arrives (a disconnect)."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages
        size += len(message.get("body", b""))
        if not message.get("more_body", False) or size > MAX_BODY:
            return messages


def _hot_body(messages: list[Message]) -> bytes | None:
    """The whole body if ``messages`` are a complete body of at most :data:`MAX_BODY` bytes."""
    last = messages[-1]
    if last["type"] != "http.request" or last.get("more_body", False):
        return None
    body = b"".join(m.get("body", b"") for m in messages)
    return body if len(body) <= MAX_BODY else None


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that gives back the messages the fast path read, then reads on."""
    queued = list(messages)

    async def replay() -> Message:
        if queued:
            return queued.pop(0)
        return await receive()

    return replay
