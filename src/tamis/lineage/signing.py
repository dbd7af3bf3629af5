"""The platform's signing key (Ed25519) and signatures over canonical JSON.

The key comes from ``TAMIS_SIGNING_KEY`` (a PEM private key, or the 32-byte seed in hex) or from a
key file (``TAMIS_SIGNING_KEY_FILE``, default ``$XDG_DATA_HOME/tamis/signing.key``) that is created
with mode 0600 on first use, as an unencrypted PKCS#8 PEM; a key file that the group or others may
read is refused. Third parties get the public key as PEM (:meth:`SigningKey.public_pem`) and tell
keys apart by their ``key_id``: the first 16 hex digits of SHA-256 of the raw 32-byte public key.

What is signed is the canonical JSON of an object (:func:`canonical_json`): keys sorted, no
whitespace, UTF-8, non-ASCII characters written as is, no NaN or infinity; it is the output of
``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tamis.errors import TamisError, VerificationError

SIGNING_KEY_ENV = "TAMIS_SIGNING_KEY"
SIGNING_KEY_FILE_ENV = "TAMIS_SIGNING_KEY_FILE"
SEED_BYTES = 32
SIGNATURE_HEX = 128
KEY_ID_HEX = 16

_HEX_SEED = re.compile(r"[0-9a-fA-F]{64}")


def default_signing_key_file() -> Path:
    """``$XDG_DATA_HOME/tamis/signing.key`` (``~/.local/share/tamis/signing.key`` by default)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "tamis" / "signing.key"


def canonical_json(obj: Any) -> bytes:
    """The canonical JSON bytes of ``obj``: sorted keys, no whitespace, UTF-8.

    >>> canonical_json({"b": [1, None], "a": "é"}).decode()
    '{"a":"é","b":[1,null]}'
    """
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def canonical_json_nofloat(obj: Any) -> bytes:
    """:func:`canonical_json` for objects without floats, about 20 times faster.

    orjson writes the same bytes as ``json.dumps`` for strings, integers, booleans, null, lists
    and dicts as long as nothing needs escaping; anything else falls back to ``json.dumps``.
    Floats are the caller's to avoid (the two libraries spell some of them differently).
    """
    try:
        data = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError: e.g. an integer beyond 64 bits
        return canonical_json(obj)
    if data.isascii() and b"\\" not in data:
        return data
    return canonical_json(obj)


def key_id_of(public_raw: bytes) -> str:
    """The key id of a raw Ed25519 public key: SHA-256, hex, first 16 digits."""
    return hashlib.sha256(public_raw).hexdigest()[:KEY_ID_HEX]


@dataclass(frozen=True, repr=False)
class SigningKey:
    """An Ed25519 private key that signs canonical JSON; ``repr`` never shows the secret."""

    private_key: Ed25519PrivateKey
    source: str

    @classmethod
    def from_seed(cls, seed: bytes, source: str = "seed") -> SigningKey:
        """The key whose 32-byte Ed25519 seed is ``seed``."""
        if len(seed) != SEED_BYTES:
            raise TamisError(
                f"the signing key from {source} has {len(seed)} bytes; "
                f"an Ed25519 seed has {SEED_BYTES} (64 hex digits)"
            )
        return cls(Ed25519PrivateKey.from_private_bytes(seed), source)

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh random key (for tests and benchmarks)."""
        return cls.from_seed(secrets.token_bytes(SEED_BYTES), "generated")

    def __repr__(self) -> str:
        return f"SigningKey(key_id={self.key_id!r}, source={self.source!r})"

    @property
    def public_raw(self) -> bytes:
        """The raw 32-byte public key."""
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def key_id(self) -> str:
        """SHA-256 of the raw public key, hex, first 16 digits."""
        return key_id_of(self.public_raw)

    def public_pem(self) -> bytes:
        """The public verification key as PEM (SubjectPublicKeyInfo), for ``tamis keys public``."""
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def private_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM (what the key file holds)."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def _seed(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        return self.private_key.sign(message)

    def sign_json(self, obj: Any) -> str:
        """The signature of ``canonical_json(obj)``, in lowercase hex (128 digits)."""
        return self.private_key.sign(canonical_json(obj)).hex()


def _parse_private(text: str, source: str) -> SigningKey:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        except TypeError:
            raise TamisError(
                f"the signing key from {source} is encrypted; give an unencrypted PKCS#8 PEM"
            ) from None
        except (ValueError, UnicodeEncodeError, UnsupportedAlgorithm):
            raise TamisError(f"the signing key from {source} is not a readable PEM key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise TamisError(
                f"the signing key from {source} is not an Ed25519 key "
                "(make one with `openssl genpkey -algorithm ed25519`)"
            )
        return SigningKey(key, source)
    if not _HEX_SEED.fullmatch(text):
        raise TamisError(
            f"the signing key from {source} must be a PEM private key or a 32-byte seed in hex "
            "(e.g. from `openssl rand -hex 32`)"
        )
    return SigningKey.from_seed(bytes.fromhex(text), source)


def _create_key_file(path: Path) -> None:
    """Write a fresh key to ``path`` with mode 0600, atomically; keep an existing file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(SigningKey.generate().private_pem())
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process was first: keep theirs
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_signing_key(path: Path | None = None) -> SigningKey:
    """Load the platform signing key from the environment or a key file (created on first use)."""
    env = os.environ.get(SIGNING_KEY_ENV)
    if env:
        return _parse_private(env.replace("\\n", "\n"), f"${SIGNING_KEY_ENV}")
    path = path or Path(os.environ.get(SIGNING_KEY_FILE_ENV) or default_signing_key_file())
    if not path.exists():
        _create_key_file(path)
    if path.stat().st_mode & 0o077:
        raise TamisError(
            f"signing key file {path} is readable by group or others; run `chmod 600 {path}`"
        )
    try:
        text = path.read_text(encoding="ascii")
    except UnicodeDecodeError:
        raise TamisError(f"signing key file {path} must hold a PEM key or a hex seed") from None
    return _parse_private(text, str(path))


def load_public_key(public_key_pem: bytes) -> Ed25519PublicKey:
    """Read an Ed25519 public key from PEM; raise :class:`VerificationError` if it is not one."""
    try:
        key = serialization.load_pem_public_key(public_key_pem)
    except (ValueError, UnsupportedAlgorithm):
        raise VerificationError("the public key is not a readable PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise VerificationError("the public key is not an Ed25519 key")
    return key


def public_key_id(public_key_pem: bytes) -> str:
    """The key id of a PEM public key."""
    raw = load_public_key(public_key_pem).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return key_id_of(raw)


def verify_json(public_key: bytes | Ed25519PublicKey, obj: Any, signature_hex: str) -> None:
    """Check an Ed25519 signature (lowercase hex) of ``canonical_json(obj)``; raise if it fails."""
    key = public_key if isinstance(public_key, Ed25519PublicKey) else load_public_key(public_key)
    if (
        not isinstance(signature_hex, str)
        or len(signature_hex) != SIGNATURE_HEX
        or signature_hex.strip("0123456789abcdef")
    ):
        raise VerificationError(f"the signature is not {SIGNATURE_HEX} lowercase hex digits")
    try:
        key.verify(bytes.fromhex(signature_hex), canonical_json(obj))
    except InvalidSignature:
        raise VerificationError(
            "the signature does not match: the content was altered or another key signed it"
        ) from None
