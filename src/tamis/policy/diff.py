"""What differs between two policies: for each purpose its categories, content kinds,
visibility, governing setting, legal basis, text stages and deduplication; the exclusions; and
for each country the jurisdiction rule that applies to it (compared by what it says, not by its
name: renaming a jurisdiction changes nothing, moving a country from one to another may)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from tamis.policy.model import Jurisdiction, Policy


@dataclass(frozen=True)
class PurposeDiff:
    purpose: str
    categories_only_a: list[str]
    categories_only_b: list[str]
    kinds_only_a: list[str]
    kinds_only_b: list[str]
    visibility_only_a: list[str]
    visibility_only_b: list[str]
    # (what, value in a, value in b): setting, legal_basis, stages, dedup
    changes: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(
            (
                self.categories_only_a,
                self.categories_only_b,
                self.kinds_only_a,
                self.kinds_only_b,
                self.visibility_only_a,
                self.visibility_only_b,
                self.changes,
            )
        )


@dataclass(frozen=True)
class PolicyDiff:
    a: str
    b: str
    purposes_only_a: list[str]
    purposes_only_b: list[str]
    purposes: list[PurposeDiff]
    exclusions_only_a: list[str]
    exclusions_only_b: list[str]
    # (countries, attribute, value in a, value in b), countries grouped by identical difference
    # ("*": every country neither policy lists); a country no rule covers has None.
    jurisdictions: list[tuple[str, str, str | None, str | None]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.purposes_only_a
            or self.purposes_only_b
            or self.exclusions_only_a
            or self.exclusions_only_b
            or self.jurisdictions
            or any(not p.empty for p in self.purposes)
        )


def _only(a: set[str], b: set[str]) -> tuple[list[str], list[str]]:
    return sorted(a - b), sorted(b - a)


_RULE_FIELDS = ("start", "default", "minimum_age", "unknown_age", "notice_from")


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def _purpose_changes(a: Policy, b: Policy, name: str) -> list[tuple[str, str, str]]:
    pa_, pb = a.purposes[name], b.purposes[name]
    values = {
        "setting": (pa_.setting, pb.setting),
        "legal_basis": (pa_.legal_basis, pb.legal_basis),
        "stages": (
            [s.model_dump() for s in pa_.stages],
            [s.model_dump() for s in pb.stages],
        ),
        "dedup": (pa_.dedup, pb.dedup),
    }
    return [(what, _shown(x), _shown(y)) for what, (x, y) in values.items() if x != y]


def _rule(policy: Policy, country: str) -> Jurisdiction | None:
    if country == "*":
        return next((j for j in policy.jurisdictions if j.countries == "*"), None)
    return policy.jurisdiction_for(country)


def _jurisdiction_changes(a: Policy, b: Policy) -> list[tuple[str, str, str | None, str | None]]:
    listed = {c for p in (a, b) for j in p.jurisdictions if j.countries != "*" for c in j.countries}
    grouped: dict[tuple[str, str | None, str | None], list[str]] = defaultdict(list)
    for country in [*sorted(listed), "*"]:
        x, y = _rule(a, country), _rule(b, country)
        if x is None or y is None:
            if x is not y:
                grouped[("covered", "yes" if x else None, "yes" if y else None)].append(country)
            continue
        for attr in _RULE_FIELDS:
            vx, vy = getattr(x, attr), getattr(y, attr)
            if vx != vy:
                grouped[(attr, str(vx), str(vy))].append(country)
    return [
        (", ".join(c if c != "*" else "every other country" for c in countries), *key)
        for key, countries in grouped.items()
    ]


def diff_policies(a: Policy, b: Policy) -> PolicyDiff:
    """Compare effective scopes: categories resolved (groups expanded, exclusions applied)."""
    common = sorted(set(a.purposes) & set(b.purposes))
    purposes = []
    for name in common:
        cats = _only(set(a.used_categories(name)), set(b.used_categories(name)))
        kinds = _only(set(a.allowed_kinds(name)), set(b.allowed_kinds(name)))
        vis = _only(set(a.purposes[name].visibility), set(b.purposes[name].visibility))
        purposes.append(PurposeDiff(name, *cats, *kinds, *vis, _purpose_changes(a, b, name)))
    exclusions = _only(
        {*a.exclusions.categories, *(f"kind {k}" for k in a.exclusions.content_kinds)},
        {*b.exclusions.categories, *(f"kind {k}" for k in b.exclusions.content_kinds)},
    )
    return PolicyDiff(
        a.name,
        b.name,
        *_only(set(a.purposes), set(b.purposes)),
        purposes,
        *exclusions,
        jurisdictions=_jurisdiction_changes(a, b),
    )
