"""Sessions, CSRF tokens, the DPO's bearer token and the objection form's rate limiter.

Sessions are stateless: a cookie signed with itsdangerous (HMAC-SHA1 over a key derived from the
session secret) carrying a random session id, the CSRF token and, once signed in, the member id.
The cookie is ``HttpOnly`` and ``SameSite=Lax`` (and ``Secure`` behind HTTPS). Every form carries
the CSRF token in a hidden field; API writes from a signed-in session carry it in the
``X-CSRF-Token`` header. Tokens are compared in constant time.

The rate limiter is in-process: one instance of the service counts only its own requests. A
deployment with several instances needs a shared limiter (at the gateway, or in Redis).
"""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from tamis.errors import TamisError
from tamis.service.config import SESSION_SECRET_ENV, SESSION_SECRET_FILE_ENV

SESSION_COOKIE = "tamis_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
MIN_SECRET_CHARS = 32


def default_secret_file() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "tamis" / "session.key"


def load_session_secret(explicit: str | None = None) -> str:
    """The secret that signs session cookies: given, ``$TAMIS_SESSION_SECRET``, or a key file.

    The key file (``$TAMIS_SESSION_SECRET_FILE``, default ``$XDG_DATA_HOME/tamis/session.key``)
    is created with mode 0600 on first use; one readable by group or others is refused. Several
    instances of the service must share the secret, or a session works on one only.
    """
    secret = explicit or os.environ.get(SESSION_SECRET_ENV)
    if secret:
        if len(secret) < MIN_SECRET_CHARS:
            raise TamisError(
                f"the session secret must have at least {MIN_SECRET_CHARS} characters "
                "(e.g. from `openssl rand -hex 32`)"
            )
        return secret
    path = Path(os.environ.get(SESSION_SECRET_FILE_ENV) or default_secret_file())
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another instance created it meanwhile
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
    if path.stat().st_mode & 0o077:
        raise TamisError(
            f"session key file {path} is readable by group or others; run `chmod 600 {path}`"
        )
    secret = path.read_text().strip()
    if len(secret) < MIN_SECRET_CHARS:
        raise TamisError(f"session key file {path} holds fewer than {MIN_SECRET_CHARS} characters")
    return secret


@dataclass
class Session:
    """What the session cookie carries. ``member_id`` is None until the visitor signs in."""

    sid: str
    csrf: str
    member_id: str | None = None
    lang: str | None = None
    changed: bool = field(default=False, compare=False)

    @classmethod
    def fresh(cls, lang: str | None = None) -> Session:
        return cls(secrets.token_urlsafe(16), secrets.token_urlsafe(24), None, lang, changed=True)

    def signed_in(self, member_id: str) -> Session:
        """A new session (new id and CSRF token: no fixation) for a member who signed in."""
        return Session(
            secrets.token_urlsafe(16), secrets.token_urlsafe(24), member_id, self.lang, True
        )

    def check_csrf(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token.encode(), self.csrf.encode())


class SessionCodec:
    """Signs and reads session cookies (expired, tampered or malformed cookies read as None).

    Verified cookies are remembered (up to ``cache_size``, with the instant they were signed), so
    that a member's next requests skip the HMAC; a cached cookie still expires on time.
    """

    def __init__(self, secret: str, max_age_s: int, *, cache_size: int = 50_000) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="tamis.session.v1")
        self.max_age_s = max_age_s
        self._cache: OrderedDict[str, tuple[float, Session]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def dumps(self, session: Session) -> str:
        data = {"s": session.sid, "c": session.csrf, "m": session.member_id, "l": session.lang}
        return str(self._serializer.dumps(data))

    def loads(self, cookie: str | None) -> Session | None:
        if not cookie:
            return None
        with self._lock:
            hit = self._cache.get(cookie)
        if hit is not None:
            signed_at, session = hit
            if time.time() - signed_at <= self.max_age_s:
                return Session(session.sid, session.csrf, session.member_id, session.lang)
        return self._verify(cookie)

    def _verify(self, cookie: str) -> Session | None:
        try:
            data: Any
            data, signed = self._serializer.loads(
                cookie, max_age=self.max_age_s, return_timestamp=True
            )
        except BadSignature:  # includes SignatureExpired
            return None
        if not isinstance(data, dict) or not isinstance(data.get("s"), str):
            return None
        if not isinstance(data.get("c"), str):
            return None
        member = data.get("m")
        lang = data.get("l")
        session = Session(
            data["s"],
            data["c"],
            member if isinstance(member, str) else None,
            lang if isinstance(lang, str) else None,
        )
        with self._lock:
            self._cache[cookie] = (signed.timestamp(), session)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return Session(session.sid, session.csrf, session.member_id, session.lang)


def check_bearer(header: str | None, token: str | None) -> bool | None:
    """Whether an ``Authorization`` header carries the DPO token.

    None: no bearer token given; False: a wrong one (or the DPO API is disabled); True: valid.
    """
    if not header:
        return None
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return False
    if not token:
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


class TokenBucketLimiter:
    """A token bucket per key (client IP): ``burst`` requests at once, refilled at ``rate_per_s``.

    Thread-safe; remembers at most ``max_keys`` clients (the least recently seen are forgotten,
    which only ever makes the limiter more lenient, never blocks a client wrongly).
    """

    def __init__(self, burst: int, rate_per_s: float, *, max_keys: int = 100_000) -> None:
        if burst < 1 or rate_per_s <= 0:
            raise ValueError("burst must be >= 1 and rate_per_s > 0")
        self.burst = burst
        self.rate_per_s = rate_per_s
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> tuple[bool, float]:
        """Take one token for ``key``; returns (allowed, seconds until a token is available)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate_per_s)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        wait = 0.0 if allowed else (1.0 - tokens) / self.rate_per_s
        return allowed, wait
