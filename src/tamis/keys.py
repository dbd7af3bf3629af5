"""The pseudonym key: keyed, deterministic pseudonyms for members and values.

The key comes from ``TAMIS_PSEUDONYM_KEY`` (hex, at least 32 bytes) or from a key file
(``TAMIS_PSEUDONYM_KEY_FILE``, default ``$XDG_DATA_HOME/tamis/pseudonym.key``) that is created
with mode 0600 on first use. The key itself is never written into a snapshot; manifests carry only
its ``key_id``, a one-way digest that tells which key was used.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from tamis.errors import TamisError

KEY_ENV = "TAMIS_PSEUDONYM_KEY"
KEY_FILE_ENV = "TAMIS_PSEUDONYM_KEY_FILE"
MIN_KEY_BYTES = 32
MEMBER_REF_HEX = 32  # 128-bit pseudonyms


def default_key_file() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "tamis" / "pseudonym.key"


@dataclass(frozen=True)
class PseudonymKey:
    """A secret key and the deterministic pseudonyms it derives."""

    secret: bytes
    source: str

    def __post_init__(self) -> None:
        if len(self.secret) < MIN_KEY_BYTES:
            raise TamisError(
                f"the pseudonym key from {self.source} has {len(self.secret)} bytes; "
                f"it needs at least {MIN_KEY_BYTES} (64 hex digits)"
            )

    def __repr__(self) -> str:  # never print the secret
        return f"PseudonymKey(key_id={self.key_id!r}, source={self.source!r})"

    @property
    def key_id(self) -> str:
        return hashlib.sha256(b"tamis.key-id.v1\x00" + self.secret).hexdigest()[:16]

    def digest(self, domain: str, value: str) -> bytes:
        """HMAC-SHA256 of ``value`` in a named domain (pseudonyms of two kinds never collide)."""
        return hmac.digest(self.secret, f"{domain}\x00{value}".encode(), "sha256")

    def member_ref(self, member_id: str) -> str:
        """The member's pseudonym in snapshots: 128 bits of HMAC, hex."""
        return self.digest("member", member_id).hex()[:MEMBER_REF_HEX]

    def token(self, domain: str, value: str, length: int = 6) -> str:
        """A short keyed token, e.g. for ``<PERSON_7f3a1c>`` placeholders."""
        return self.digest(domain, value).hex()[:length]


def load_key(path: Path | None = None) -> PseudonymKey:
    """Load the pseudonym key from the environment or a key file, creating the file on first use."""
    env = os.environ.get(KEY_ENV)
    if env:
        try:
            return PseudonymKey(bytes.fromhex(env.strip()), f"${KEY_ENV}")
        except ValueError:
            raise TamisError(
                f"${KEY_ENV} must be hexadecimal (e.g. from `openssl rand -hex 32`)"
            ) from None
    path = path or Path(os.environ.get(KEY_FILE_ENV) or default_key_file())
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    mode = path.stat().st_mode & 0o077
    if mode:
        raise TamisError(f"key file {path} is readable by group or others; run `chmod 600 {path}`")
    try:
        secret = bytes.fromhex(path.read_text().strip())
    except ValueError:
        raise TamisError(f"key file {path} must hold the key in hexadecimal") from None
    return PseudonymKey(secret, str(path))
