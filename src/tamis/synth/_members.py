"""Compact per-member state shared by the content pass: a few bytes a member, no strings.

Names are indices into the locale pools; full names, handles and ids are rebuilt on demand, so
a million members cost tens of megabytes, not gigabytes.
"""

from __future__ import annotations

from array import array
from typing import Any

from tamis.synth._pools import LocalePool
from tamis.synth._world import COUNTRIES

NO_COUNTRY = 255  # country null
INVALID_COUNTRIES = {254: "XX", 253: "ZZ"}  # codes that are no ISO 3166-1 country
NO_BIRTH = -(2**31)

MALE, FEMALE, NON_BINARY, UNKNOWN_GENDER = 0, 1, 2, 3


MEMBER_ID = "mbr_%08d"  # member number -> member_id (hot loops use ``MEMBER_ID % i``)


def member_id(index: int) -> str:
    return MEMBER_ID % index


class MemberIndex:
    """Arrays indexed by member number (0..n-1), filled by the members pass."""

    def __init__(self, pools: dict[str, LocalePool], seed: int) -> None:
        self.pools = list(pools.values())
        self.pool_index = {p.key: i for i, p in enumerate(self.pools)}
        self.country = array("B")
        self.locale = array("B")
        self.gender = array("B")  # name gender: MALE/FEMALE (profile gender may be unknown)
        self.profile_gender = array("B")
        self.first = array("H")
        self.last = array("H")
        self.created = array("q")  # epoch seconds
        self.birth = array("i")  # days since epoch, NO_BIRTH = unknown
        self.weight = array("d")  # activity: how likely the member is to author a record
        self.alias_prob = array("d")  # alias tables over the weights (see finalize)
        self.alias = array("I")
        self._handle_mix = (seed * 0x2545F491) & 0xFFFFFFFF

    def extend(self, fragment: tuple[array[Any], ...]) -> None:
        """Append a batch of members (columns in ``_people.INDEX_COLUMNS`` order)."""
        country, locale, gender, profile_gender, first, last, created, birth, weight = fragment
        self.country.extend(country)
        self.locale.extend(locale)
        self.gender.extend(gender)
        self.profile_gender.extend(profile_gender)
        self.first.extend(first)
        self.last.extend(last)
        self.created.extend(created)
        self.birth.extend(birth)
        self.weight.extend(weight)

    def finalize(self) -> None:
        """Build the alias tables (Vose) that draw an author by activity in O(1):
        ``i = int(random() * n); author = i if random() < alias_prob[i] else alias[i]``."""
        n = len(self.weight)
        total = sum(self.weight)
        scaled = [w * n / total for w in self.weight]
        prob = array("d", bytes(8 * n))
        alias = array("I", range(n))
        small = [i for i, p in enumerate(scaled) if p < 1.0]
        large = [i for i, p in enumerate(scaled) if p >= 1.0]
        while small and large:
            s, g = small.pop(), large.pop()
            prob[s], alias[s] = scaled[s], g
            scaled[g] += scaled[s] - 1.0
            (small if scaled[g] < 1.0 else large).append(g)
        for i in large + small:  # what rounding leaves: full buckets
            prob[i] = 1.0
        self.alias_prob, self.alias = prob, alias

    def __len__(self) -> int:
        return len(self.created)

    def pool(self, i: int) -> LocalePool:
        return self.pools[self.locale[i]]

    def first_name(self, i: int) -> str:
        return self.pools[self.locale[i]].first[self.gender[i]][self.first[i]]

    def last_name(self, i: int) -> str:
        return self.pools[self.locale[i]].last[self.last[i]]

    def full_name(self, i: int) -> str:
        pool = self.pools[self.locale[i]]
        return f"{pool.first[self.gender[i]][self.first[i]]} {pool.last[self.last[i]]}"

    def handle(self, i: int) -> str:
        """A LinkedIn-style public handle, unique per member (``jean-dupont-1a2b3c4d``)."""
        pool = self.pools[self.locale[i]]
        parts = (pool.first_slug[self.gender[i]][self.first[i]], pool.last_slug[self.last[i]])
        base = "-".join(p for p in parts if p) or "member"
        suffix = (i * 0x9E3779B1 + self._handle_mix) & 0xFFFFFFFF
        return f"{base}-{suffix:08x}"

    def country_code(self, i: int) -> str | None:
        c = self.country[i]
        if c == NO_COUNTRY:
            return None
        if c in INVALID_COUNTRIES:
            return INVALID_COUNTRIES[c]
        return COUNTRIES[c].code
