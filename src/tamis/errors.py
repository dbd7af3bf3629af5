"""Exceptions raised by tamis.

Every error a user can cause is a :class:`TamisError`; the CLI prints its message on one line
(with a remedy where there is one) instead of a traceback::

    TamisError
    ├── InputError            bad input that the user must fix (file, line/row and field named)
    │   ├── PolicyError       a policy file that does not validate (line and key named)
    │   └── TimestampError    a timestamp that is not RFC 3339 with an offset
    ├── ConsentConflictError  an event id seen again with other content
    ├── RegistryError         the consent registry cannot be opened or migrated
    ├── SnapshotError         a snapshot cannot be built or published
    └── VerificationError     a published snapshot does not match its manifest
"""

from __future__ import annotations


class TamisError(Exception):
    """Base class of every error a user can cause; ``str(err)`` is the message to show."""


class InputError(TamisError):
    """Input the user must fix; the message names the file, line/row and field when known."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        where = ":".join(str(p) for p in (file, line) if p is not None)
        prefix = f"{where}: " if where else ""
        suffix = f" (field '{field}')" if field else ""
        super().__init__(f"{prefix}{message}{suffix}")


class PolicyError(InputError):
    """A policy file that does not parse or validate."""


class TimestampError(InputError):
    """A timestamp that is not RFC 3339 with an explicit offset."""


class ConsentConflictError(TamisError):
    """The same consent event id was seen again with different content."""


class RegistryError(TamisError):
    """The consent registry cannot be opened, migrated or written."""


class SnapshotError(TamisError):
    """A snapshot cannot be built or published."""


class VerificationError(TamisError):
    """A published snapshot, receipt or log does not verify."""
