"""Who the member is: a small identity-provider interface, and a demo provider.

In production the platform's own authentication says who is calling; it plugs in as an
:class:`IdentityProvider`. The service keeps its own signed session cookie once a principal is
known, and asks the provider again (``member``) on each request, so that a member removed from
the platform loses access at once and the country shown is current.

:class:`DemoIdentityProvider` knows the members of a (synthetic) export and logs anyone in by
member id, without a password: for demos and tests only, and labelled as such on every page.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from tamis.errors import InputError


@dataclass(frozen=True)
class Principal:
    """An authenticated member: their id, country of residence (ISO alpha-2 or None), name."""

    member_id: str
    country: str | None = None
    display_name: str = ""
    email: str | None = None


@runtime_checkable
class IdentityProvider(Protocol):
    """The platform's authentication, as the service sees it.

    ``interactive``: the service shows its own sign-in form and calls :meth:`login` with what the
    member typed (the demo); otherwise the platform authenticates upstream and
    :meth:`authenticate` reads its credentials from the request (a header set by the platform's
    gateway, its own cookie...).
    """

    name: str
    interactive: bool

    def authenticate(self, request: Any) -> Principal | None:
        """The member behind a request from the platform's credentials; None if there are none."""
        ...

    def login(self, username: str) -> Principal | None:
        """The member a sign-in form names (interactive providers); None if unknown."""
        ...

    def member(self, member_id: str) -> Principal | None:
        """The current principal of a member id (session refresh); None if no longer a member."""
        ...

    def find_by_email(self, email: str) -> Principal | None:
        """The member with this verified e-mail address, if any (objection form)."""
        ...


def normalize_email(email: str) -> str:
    """Lower-cased, stripped e-mail address (how addresses are compared)."""
    return email.strip().lower()


class DemoIdentityProvider:
    """Logs in any member of an export by member id (synthetic data only; never in production)."""

    name = "demo"
    interactive = True

    def __init__(self, members: dict[str, Principal]) -> None:
        self._members = members
        self._by_email = {
            normalize_email(p.email): p for p in members.values() if p.email is not None
        }

    @classmethod
    def from_export(cls, export: Path) -> DemoIdentityProvider:
        """Read ``members`` of an export (JSONL, Parquet or a folder of parts)."""
        from tamis.sources.reader import read_table, table_files
        from tamis.sources.schema import MEMBERS

        files = table_files(Path(export), "members")
        if not files:
            raise InputError("the export has no members table", file=str(export))
        members: dict[str, Principal] = {}
        for file in files:
            for chunk in read_table(file, MEMBERS):
                for row in _rows(
                    chunk.valid.select(
                        ["member_id", "country", "first_name", "last_name", "email"]
                    ).to_pylist()
                ):
                    members[row.member_id] = row
        return cls(members)

    def authenticate(self, request: Any) -> Principal | None:
        return None

    def login(self, username: str) -> Principal | None:
        return self._members.get(username.strip())

    def member(self, member_id: str) -> Principal | None:
        return self._members.get(member_id)

    def find_by_email(self, email: str) -> Principal | None:
        return self._by_email.get(normalize_email(email))

    def sample(self, n: int = 6) -> list[Principal]:
        """A few members to try (the demo sign-in page lists them), in id order."""
        return [self._members[m] for m in sorted(self._members)[:n]]

    def __len__(self) -> int:
        return len(self._members)


def _rows(rows: list[dict[str, Any]]) -> Iterator[Principal]:
    for row in rows:
        name = " ".join(p for p in (row.get("first_name"), row.get("last_name")) if p)
        yield Principal(row["member_id"], row.get("country"), name, row.get("email"))


def load_provider(spec: str, config: Any) -> IdentityProvider:
    """The provider named by ``--identity``: ``demo`` or ``package.module:factory``.

    A factory is called with the :class:`~tamis.service.config.ServiceConfig` and returns an
    :class:`IdentityProvider`.
    """
    if spec == "demo":
        if config.export is None:
            raise InputError("the demo identity provider needs --export DIR (its members)")
        return DemoIdentityProvider.from_export(config.export)
    module_name, _, attr = spec.partition(":")
    if not attr:
        raise InputError(
            f"unknown identity provider {spec!r}; give 'demo' or 'package.module:factory'"
        )
    import importlib

    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise InputError(f"cannot load identity provider {spec!r}: {exc}") from None
    provider = factory(config)
    if not isinstance(provider, IdentityProvider):
        raise InputError(f"{spec} did not return an IdentityProvider")
    return provider
