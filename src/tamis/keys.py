"""The pseudonym key: keyed, deterministic pseudonyms for members and values.

The key comes from ``TAMIS_PSEUDONYM_KEY`` (hex, at least 32 bytes) or from a key file
(``TAMIS_PSEUDONYM_KEY_FILE``, default ``$XDG_DATA_HOME/tamis/pseudonym.key``) that is created
with mode 0600 on first use. The key itself is never written into a snapshot; manifests carry only
its ``key_id``, a one-way digest that tells which key was used.

Rotation: a key ring holds the active key and retired ones, so that the pseudonyms of snapshots
built with an older key (receipts, member refs) can still be recomputed with
``load_key(key_id=manifest["key_id"])``. The ring is, by where the key comes from:

- ``TAMIS_PSEUDONYM_KEY`` (active) and ``TAMIS_PSEUDONYM_RETIRED_KEYS`` (hex keys separated by
  commas or blanks);
- a key file: one hex key per line, the first is the active one, the next ones are retired
  (``#`` starts a comment); a one-line file is a ring of one key;
- a key directory (``TAMIS_PSEUDONYM_KEY_FILE`` naming a directory, mode 0700): ``active.key`` and
  retired ``*.key`` files.

:func:`rotate_key` makes a fresh active key and keeps the previous ones. Every file (and the
directory) must be private to its owner, else it is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tamis.errors import TamisError

KEY_ENV = "TAMIS_PSEUDONYM_KEY"
KEY_FILE_ENV = "TAMIS_PSEUDONYM_KEY_FILE"
RETIRED_KEYS_ENV = "TAMIS_PSEUDONYM_RETIRED_KEYS"
ACTIVE_KEY_NAME = "active.key"  # in a key directory
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

    def member_refs(self, member_ids: Iterable[str]) -> list[str]:
        """:meth:`member_ref` of many members: the HMAC state after the key and the domain is
        computed once and copied for each member (a third less time than one call each)."""
        base = hmac.new(self.secret, b"member\x00", "sha256")
        refs = []
        for member_id in member_ids:
            h = base.copy()
            h.update(member_id.encode())
            refs.append(h.hexdigest()[:MEMBER_REF_HEX])
        return refs

    def token(self, domain: str, value: str, length: int = 6) -> str:
        """A short keyed token, e.g. for ``<PERSON_7f3a1c>`` placeholders."""
        return self.digest(domain, value).hex()[:length]


@dataclass(frozen=True)
class KeyRing:
    """The active pseudonym key and the retired ones, found by ``key_id``."""

    active: PseudonymKey
    retired: tuple[PseudonymKey, ...] = ()

    @property
    def keys(self) -> tuple[PseudonymKey, ...]:
        return (self.active, *self.retired)

    def get(self, key_id: str) -> PseudonymKey:
        """The key whose ``key_id`` is ``key_id`` (e.g. from an older snapshot's manifest)."""
        for key in self.keys:
            if key.key_id == key_id:
                return key
        known = ", ".join(k.key_id for k in self.keys)
        raise TamisError(
            f"no pseudonym key has key_id {key_id}; this key ring has {known} "
            f"(keep retired keys in ${RETIRED_KEYS_ENV} or in the key file, see docs/trust.md)"
        )


def load_key(path: Path | None = None, *, key_id: str | None = None) -> PseudonymKey:
    """Load the pseudonym key from the environment or a key file, creating the file on first use.

    Without ``key_id``: the active key. With it: the key of the ring that has this id.
    """
    ring = load_keyring(path)
    return ring.active if key_id is None else ring.get(key_id)


def _hex_key(text: str, source: str) -> PseudonymKey:
    try:
        return PseudonymKey(bytes.fromhex(text.strip()), source)
    except ValueError:
        raise TamisError(
            f"{source} must hold the key in hexadecimal (e.g. from `openssl rand -hex 32`)"
        ) from None


def _check_private(path: Path, what: str) -> None:
    if path.stat().st_mode & 0o077:
        raise TamisError(f"{what} {path} is readable by group or others; run `chmod 600 {path}`")


def _key_path(path: Path | None) -> Path:
    return path or Path(os.environ.get(KEY_FILE_ENV) or default_key_file())


def load_keyring(path: Path | None = None) -> KeyRing:
    """The key ring from the environment, a key file or a key directory (see the module doc)."""
    env = os.environ.get(KEY_ENV)
    if env:
        try:
            active = PseudonymKey(bytes.fromhex(env.strip()), f"${KEY_ENV}")
        except ValueError:
            raise TamisError(
                f"${KEY_ENV} must be hexadecimal (e.g. from `openssl rand -hex 32`)"
            ) from None
        retired = os.environ.get(RETIRED_KEYS_ENV, "").replace(",", " ").split()
        return KeyRing(
            active, tuple(_hex_key(h, f"${RETIRED_KEYS_ENV}[{i}]") for i, h in enumerate(retired))
        )
    path = _key_path(path)
    if path.is_dir():
        return _load_key_dir(path)
    if not path.exists():
        _write_private(path, secrets.token_hex(32) + "\n", exclusive=True)
    mode = path.stat().st_mode & 0o077
    if mode:
        raise TamisError(f"key file {path} is readable by group or others; run `chmod 600 {path}`")
    lines = [ln.split("#", 1)[0].strip() for ln in path.read_text().splitlines()]
    hexes = [ln for ln in lines if ln]
    if not hexes:
        raise TamisError(f"key file {path} must hold the key in hexadecimal")
    keys = [_hex_key(h, f"key file {path}") for h in hexes]
    return KeyRing(
        PseudonymKey(keys[0].secret, str(path)),
        tuple(PseudonymKey(k.secret, f"{path} (retired)") for k in keys[1:]),
    )


def _load_key_dir(folder: Path) -> KeyRing:
    _check_private(folder, "key directory")
    active_path = folder / ACTIVE_KEY_NAME
    if not active_path.exists():
        _write_private(active_path, secrets.token_hex(32) + "\n", exclusive=True)
    keys = []
    for file in sorted(folder.glob("*.key")):
        _check_private(file, "key file")
        keys.append((file, _hex_key(file.read_text(), f"key file {file}")))
    active = next(k for f, k in keys if f == active_path)
    return KeyRing(active, tuple(k for f, k in keys if f != active_path))


def _write_private(path: Path, text: str, *, exclusive: bool = False) -> None:
    """Write ``text`` to ``path`` with mode 0600 (atomically when replacing a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if exclusive:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        return
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def rotate_key(path: Path | None = None) -> KeyRing:
    """Make a fresh active key; the previous keys stay in the ring as retired keys.

    Only for key files and key directories: with ``$TAMIS_PSEUDONYM_KEY``, set a new key there
    and move the old one to ``$TAMIS_PSEUDONYM_RETIRED_KEYS``.
    """
    if os.environ.get(KEY_ENV):
        raise TamisError(
            f"the key comes from ${KEY_ENV}: put a new key there and the old one in "
            f"${RETIRED_KEYS_ENV}"
        )
    ring = load_keyring(path)  # creates the ring on first use, checks permissions
    fresh = secrets.token_hex(32)
    target = _key_path(path)
    if target.is_dir():
        active = target / ACTIVE_KEY_NAME
        os.replace(active, target / f"{ring.active.key_id}.key")
        _write_private(active, fresh + "\n", exclusive=True)
    else:
        old = "".join(f"{k.secret.hex()}\n" for k in ring.keys)
        _write_private(target, f"{fresh}\n# retired keys (older snapshots)\n{old}")
    return load_keyring(path)
