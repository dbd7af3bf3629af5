"""The policy as data: purposes, categories, exclusions and jurisdictions.

A policy file is validated into these frozen objects; everything downstream (snapshot builder,
notice, reports) reads them. The file's sha256 identifies the policy in every manifest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import pycountry
from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

from tamis.errors import TimestampError
from tamis.policy.categories import (
    ALL_CATEGORIES,
    KIND_CATEGORY,
    PROFILE_FIELDS,
    covers,
    is_known_prefix,
)
from tamis.sources.schema import CONTENT_KINDS, VISIBILITIES
from tamis.timefmt import parse_instant

COUNTRY_CODES: frozenset[str] = frozenset(c.alpha_2 for c in pycountry.countries)
POLICY_FORMAT = 1

# What the data contract keeps out of every purpose, whatever a policy file says: a policy's
# exclusions must cover these (a file that leaves one out is refused, not completed silently).
CONTRACT_EXCLUSIONS: dict[str, str] = {
    "user.content.private_message": "private messages: no purpose may ever use them",
    "user.financial": "salary and financial data: never used for training",
    "user.authentication": "credentials: never used for training",
}
CONTRACT_EXCLUDED_KINDS: dict[str, str] = {"message": "private messaging: no purpose may use it"}


class PolicyValueError(ValueError):
    """A policy error about one key (``loc``, as in the file) found by a whole-policy check: the
    loader names that key and its line instead of the top of the file."""

    def __init__(self, message: str, loc: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.loc = loc


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        value = value.isoformat()
    if not isinstance(value, str):
        raise ValueError("expected an RFC 3339 timestamp with an offset")
    try:
        return parse_instant(value)
    except TimestampError as exc:
        raise ValueError(str(exc)) from None


def _check_categories(keys: tuple[str, ...]) -> tuple[str, ...]:
    unknown = [k for k in keys if not is_known_prefix(k)]
    if unknown:
        raise ValueError(
            f"unknown categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}; "
            f"valid: {', '.join(sorted(ALL_CATEGORIES))}"
        )
    return keys


def _check_kinds(kinds: tuple[str, ...]) -> tuple[str, ...]:
    unknown = [k for k in kinds if k not in CONTENT_KINDS]
    if unknown:
        raise ValueError(
            f"unknown content kind {', '.join(unknown)}; valid: {', '.join(CONTENT_KINDS)}"
        )
    return kinds


class Localised(_Frozen):
    en: str
    fr: str


class Setting(_Frozen):
    label: Localised
    description: Localised | None = None


class StageSpec(_Frozen):
    """A text stage chosen by registered name, with its options."""

    name: str
    options: dict[str, Any] = Field(default_factory=dict)


class Purpose(_Frozen):
    setting: str
    legal_basis: Literal[
        "legitimate_interest", "consent", "contract", "legal_obligation", "public_task"
    ]
    description: Localised
    content_kinds: tuple[str, ...]
    # Left out: public only (the least a policy can mean), never every visibility.
    visibility: tuple[str, ...] = ("public",)
    categories: tuple[str, ...]
    # Text stages in order. At least one: the data contract wants the text redacted.
    stages: tuple[StageSpec, ...] = Field(min_length=1)
    # Whole-snapshot deduplication (exact, near with MinHash); checked by tamis.dedup.
    dedup: dict[str, Any] | None = None

    _kinds = field_validator("content_kinds")(_check_kinds)
    _cats = field_validator("categories")(_check_categories)

    @field_validator("visibility")
    @classmethod
    def _visibility(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [v for v in value if v not in VISIBILITIES]
        if unknown:
            raise ValueError(
                f"unknown visibility {', '.join(unknown)}; valid: {', '.join(VISIBILITIES)}"
            )
        return value


class Exclusions(_Frozen):
    """What no purpose may ever use, whatever it lists."""

    categories: tuple[str, ...]
    content_kinds: tuple[str, ...] = ()
    reason: Localised | None = None

    _kinds = field_validator("content_kinds")(_check_kinds)
    _cats = field_validator("categories")(_check_categories)


class Jurisdiction(_Frozen):
    name: str
    countries: tuple[str, ...] | Literal["*"]
    start: Annotated[datetime, Field(description="instant from which the purpose may use data")]
    default: Literal["allow", "object"]
    minimum_age: StrictInt = Field(ge=0, le=120)  # strict: YAML's `true` is not an age
    unknown_age: Literal["exclude", "allow"] = "exclude"
    notice_from: datetime | None = None

    @field_validator("start", "notice_from", mode="before")
    @classmethod
    def _ts(cls, value: Any) -> datetime | None:
        return None if value is None else _instant(value)

    @field_validator("countries")
    @classmethod
    def _countries(cls, value: tuple[str, ...] | str) -> tuple[str, ...] | str:
        if value == "*":
            return value
        bad = [c for c in value if c not in COUNTRY_CODES]
        if bad:
            raise ValueError(f"not ISO 3166-1 alpha-2 country codes: {', '.join(bad)}")
        return tuple(value)


class Policy(_Frozen):
    tamis_policy: Literal[1] = Field(description="policy file format version")
    name: str
    version: str
    title: str
    description: str = ""
    controller: str = ""
    settings: dict[str, Setting]
    purposes: dict[str, Purpose] = Field(min_length=1)
    exclusions: Exclusions
    jurisdictions: tuple[Jurisdiction, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        # each category the contract's key covers must be excluded (user.financial.salary
        # excluded is user.financial excluded while salary is its only category)
        missing = [
            c
            for c in CONTRACT_EXCLUSIONS
            if not all(self.excludes_category(k) for k in ALL_CATEGORIES if covers(c, k))
        ]
        missing_kinds = [
            k for k in CONTRACT_EXCLUDED_KINDS if k not in self.exclusions.content_kinds
        ]
        if missing or missing_kinds:
            what = [f"{c} ({CONTRACT_EXCLUSIONS[c]})" for c in missing] + [
                f"content kind {k} ({CONTRACT_EXCLUDED_KINDS[k]})" for k in missing_kinds
            ]
            raise PolicyValueError(
                f"the exclusions must keep out {'; '.join(what)}",
                ("exclusions", "categories" if missing else "content_kinds"),
            )
        for pname, purpose in self.purposes.items():
            if purpose.setting not in self.settings:
                raise PolicyValueError(
                    f"purpose {pname} is governed by unknown setting {purpose.setting!r}; "
                    f"settings: {', '.join(self.settings)}",
                    ("purposes", pname, "setting"),
                )
            # A purpose may name a group (user.content) that contains an excluded category: the
            # exclusion still wins. Naming an excluded category (or one inside it) is an error.
            explicit = [c for c in purpose.categories if self.excludes_category(c)]
            kinds = [k for k in purpose.content_kinds if k in self.exclusions.content_kinds]
            if explicit or kinds:
                raise PolicyValueError(
                    f"purpose {pname} lists what the exclusions forbid "
                    f"({', '.join([*explicit, *kinds])}); exclusions cannot be overridden",
                    ("purposes", pname, "categories" if explicit else "content_kinds"),
                )
            if purpose.legal_basis == "consent":
                opt_out = [j.name for j in self.jurisdictions if j.default == "allow"]
                if opt_out:
                    raise PolicyValueError(
                        f"purpose {pname} rests on consent, which must be given: a jurisdiction "
                        f"cannot default to allow ({', '.join(opt_out)}); use default: object",
                        ("purposes", pname, "legal_basis"),
                    )
        names = [j.name for j in self.jurisdictions]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise PolicyValueError(
                    f"jurisdiction names must be unique: {name}", ("jurisdictions", i, "name")
                )
        seen: dict[str, str] = {}
        wildcards = [j.name for j in self.jurisdictions if j.countries == "*"]
        for i, j in enumerate(self.jurisdictions):
            if j.countries == "*":
                if len(wildcards) > 1:
                    raise PolicyValueError(
                        f"only one jurisdiction may use countries '*': {', '.join(wildcards)}",
                        ("jurisdictions", i, "countries"),
                    )
                continue
            for c in j.countries:
                if c in seen:
                    raise PolicyValueError(
                        f"country {c} is listed twice in {j.name}"
                        if seen[c] == j.name
                        else f"country {c} is in two jurisdictions: {seen[c]} and {j.name}",
                        ("jurisdictions", i, "countries"),
                    )
                seen[c] = j.name
        return self

    def excludes_category(self, category: str) -> bool:
        """Whether the exclusions keep ``category`` (or the group it names) out."""
        return any(covers(x, category) for x in self.exclusions.categories)

    # --- what the pipeline asks -------------------------------------------------------------
    def purpose(self, name: str) -> Purpose:
        try:
            return self.purposes[name]
        except KeyError:
            raise KeyError(
                f"unknown purpose {name!r}; this policy has: {', '.join(self.purposes)}"
            ) from None

    def allows_category(self, purpose: str, category: str) -> bool:
        p = self.purpose(purpose)
        if self.excludes_category(category):
            return False
        return any(covers(g, category) for g in p.categories)

    def allowed_kinds(self, purpose: str) -> tuple[str, ...]:
        """Content kinds the purpose may use: its kinds less exclusions and excluded categories."""
        p = self.purpose(purpose)
        return tuple(
            k
            for k in p.content_kinds
            if k not in self.exclusions.content_kinds
            and self.allows_category(purpose, KIND_CATEGORY[k])
        )

    def allowed_profile_fields(self, purpose: str) -> tuple[str, ...]:
        """Profile field groups (see ``PROFILE_FIELDS``) whose category the purpose may use."""
        return tuple(
            g for g, (_, cat) in PROFILE_FIELDS.items() if self.allows_category(purpose, cat)
        )

    def jurisdiction_for(self, country: str | None) -> Jurisdiction | None:
        if country is None or country not in COUNTRY_CODES:
            return None
        wildcard = None
        for j in self.jurisdictions:
            if j.countries == "*":
                wildcard = j
            elif country in j.countries:
                return j
        return wildcard

    def used_categories(self, purpose: str) -> list[str]:
        return sorted(c for c in ALL_CATEGORIES if self.allows_category(purpose, c))
