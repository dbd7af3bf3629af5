"""Request bodies read as strict JSON.

JSON leaves open what an object that gives the same name twice means (RFC 8259, section 4):
Python's ``json`` and orjson keep the last value, other parsers the first or refuse it. A member
who sends ``{"value": false, "value": true}`` has not said whether they object, so the API
refuses the body (422, ``json_invalid``) rather than guess; so it does for ``NaN`` and
``Infinity``, which are not JSON. The export readers refuse such lines the same way
(:mod:`tamis.sources.reader`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


def strict_loads(body: bytes | str) -> Any:
    """``json.loads``, with a name repeated in an object, ``NaN`` or ``Infinity`` a
    :class:`json.JSONDecodeError`."""
    doc = body.decode("utf-8", "replace") if isinstance(body, bytes) else body

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(items)
        if len(obj) != len(items):
            seen: set[str] = set()
            for name, _ in items:
                if name in seen:
                    raise json.JSONDecodeError(
                        f"name {name!r} appears more than once in an object", doc, 0
                    )
                seen.add(name)
        return obj

    def constant(name: str) -> Any:
        raise json.JSONDecodeError(f"{name} is not JSON", doc, 0)

    return json.loads(body, object_pairs_hook=pairs, parse_constant=constant)


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = strict_loads(await self.body())
        return self._json


class StrictJSONRoute(APIRoute):
    """A route whose JSON body is read by :func:`strict_loads` (FastAPI's "custom request
    class" hook): a refused body is FastAPI's usual 422 ``json_invalid``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict_handler


__all__ = ["StrictJSONRequest", "StrictJSONRoute", "strict_loads"]
