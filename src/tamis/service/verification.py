"""E-mail verification of objections from people who are not signed in.

Someone whose data may appear in members' content (or a member who prefers not to sign in) gives
an e-mail address; the service sends a link carrying a signed, time-limited token (no server-side
state) and records the objection only when the link is followed and confirmed. How the link is
delivered is pluggable (:class:`VerificationSender`): the platform's mailer in production, the
console in the demo, memory in tests.
"""

from __future__ import annotations

import secrets
import sys
import threading
from dataclasses import dataclass
from typing import Protocol

from itsdangerous import BadSignature, URLSafeTimedSerializer

from tamis.service.identity import normalize_email

VERIFY_MAX_AGE_S = 24 * 3600


class VerificationSender(Protocol):
    """Delivers a verification link to an e-mail address."""

    def send(self, email: str, link: str, lang: str) -> None: ...


class ConsoleSender:
    """The demo: prints the link on the service's console (standard error)."""

    def send(self, email: str, link: str, lang: str) -> None:
        print(f"[tamis] verification link for {email}: {link}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class SentLink:
    email: str
    link: str
    lang: str


class MemorySender:
    """Tests: keeps the links it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[SentLink] = []
        self._lock = threading.Lock()

    def send(self, email: str, link: str, lang: str) -> None:
        with self._lock:
            self.sent.append(SentLink(email, link, lang))

    def last_for(self, email: str) -> SentLink | None:
        with self._lock:
            for sent in reversed(self.sent):
                if sent.email == normalize_email(email):
                    return sent
        return None


class VerificationTokens:
    """Signed tokens naming a verified e-mail address and a nonce; valid for a day."""

    def __init__(self, secret: str, max_age_s: int = VERIFY_MAX_AGE_S) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="tamis.objection-verify.v1")
        self._max_age_s = max_age_s

    def issue(self, email: str) -> str:
        return str(self._serializer.dumps({"e": normalize_email(email), "n": secrets.token_hex(8)}))

    def read(self, token: str) -> tuple[str, str] | None:
        """(e-mail, nonce) of a valid token; None if forged, expired or malformed."""
        try:
            data = self._serializer.loads(token, max_age=self._max_age_s)
        except BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        email, nonce = data.get("e"), data.get("n")
        if not isinstance(email, str) or not isinstance(nonce, str):
            return None
        return email, nonce
