"""What differs between two policies: categories, content kinds, visibility and jurisdictions."""

from __future__ import annotations

from dataclasses import dataclass, field

from tamis.policy.model import Policy


@dataclass(frozen=True)
class PurposeDiff:
    purpose: str
    categories_only_a: list[str]
    categories_only_b: list[str]
    kinds_only_a: list[str]
    kinds_only_b: list[str]
    visibility_only_a: list[str]
    visibility_only_b: list[str]

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
    # (jurisdiction name, attribute, value in a, value in b); a missing jurisdiction has None.
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


def diff_policies(a: Policy, b: Policy) -> PolicyDiff:
    """Compare effective scopes: categories resolved (groups expanded, exclusions applied)."""
    common = sorted(set(a.purposes) & set(b.purposes))
    purposes = []
    for name in common:
        cats = _only(set(a.used_categories(name)), set(b.used_categories(name)))
        kinds = _only(set(a.allowed_kinds(name)), set(b.allowed_kinds(name)))
        vis = _only(set(a.purposes[name].visibility), set(b.purposes[name].visibility))
        purposes.append(PurposeDiff(name, *cats, *kinds, *vis))
    jur: list[tuple[str, str, str | None, str | None]] = []
    ja = {j.name: j for j in a.jurisdictions}
    jb = {j.name: j for j in b.jurisdictions}
    for name in sorted(set(ja) | set(jb)):
        x, y = ja.get(name), jb.get(name)
        if x is None or y is None:
            jur.append((name, "present", "yes" if x else None, "yes" if y else None))
            continue
        for attr in ("countries", "start", "default", "minimum_age", "unknown_age", "notice_from"):
            vx, vy = getattr(x, attr), getattr(y, attr)
            if vx != vy:
                jur.append((name, attr, str(vx), str(vy)))
    return PolicyDiff(
        a.name,
        b.name,
        *_only(set(a.purposes), set(b.purposes)),
        purposes,
        *_only(set(a.exclusions.categories), set(b.exclusions.categories)),
        jurisdictions=jur,
    )
