"""Pass 1: members, with their technical events and consent events, one batch at a time.

A batch depends only on the seed, its number and the parameters (its own RNG streams), so
batches can be made in any process and in any order and still give the same bytes.
"""

from __future__ import annotations

import bisect
import math
import random
from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from tamis.sources.schema import CONSENT_EVENTS, MEMBERS, TECHNICAL_EVENTS
from tamis.synth import _pii
from tamis.synth._consent import ConsentMaker
from tamis.synth._io import OFFSET_BY_PERCENT, Payload, Row, encode, encode_records
from tamis.synth._members import (
    FEMALE,
    INVALID_COUNTRIES,
    MALE,
    NO_BIRTH,
    NO_COUNTRY,
    NON_BINARY,
    UNKNOWN_GENDER,
    member_id,
)
from tamis.synth._pools import LocalePool
from tamis.synth._world import (
    CONSENT_CUTOFF,
    COUNTRIES,
    GENERIC_DOMAINS,
    HEADLINE_TEMPLATES,
    INTERESTS,
    INVALID_COUNTRY_WEIGHT,
    MAIN_START,
    SCHOOL_TEMPLATES,
    SKILLS,
    UNKNOWN_COUNTRY_WEIGHT,
    USER_AGENTS,
    age_range,
    region_start,
)

T = TypeVar("T")
Rand = Callable[[], float]

_US = 1_000_000
_DAY = 86400
_YEAR_DAYS = 365.2425
_C_DAYS = int(CONSENT_CUTOFF.timestamp()) // _DAY
_MEMBERS_SINCE = 1199145600  # 2008-01-01T00:00:00Z: the oldest accounts
_FALLBACK_LOCALES = ("fr_FR", "fr_FR", "en_US", "en_GB", "de_DE", "es_ES", "it_IT", "pt_BR")
_GENDERS = (MALE, FEMALE, NON_BINARY, UNKNOWN_GENDER)
_GENDER_CUM = (0.49, 0.97, 0.98)
_GENDER_TEXT = {MALE: "male", FEMALE: "female", NON_BINARY: "non_binary", UNKNOWN_GENDER: None}
_BRACKETS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ALNUM = _UPPER + "0123456789"
_INVALID_CODES = (254, 253)


@dataclass(frozen=True)
class PeopleParams:
    seed: int
    members: int
    batch: int
    fmt: str  # members and technical events
    consent_fmt: str
    start_s: int
    end_s: int
    forced: dict[int, str]  # member number -> consent label every rule needs once


@dataclass
class PeopleBatch:
    members: Payload
    technical: Payload
    technical_rows: int
    consent: Payload
    consent_rows: int
    consent_malformed: int
    consent_labels: Counter[str]
    edges: bytes
    edge_rows: int
    fragment: tuple[array[Any], ...]  # MemberIndex columns for this batch, in INDEX_COLUMNS order


INDEX_COLUMNS = (
    "country",
    "locale",
    "gender",
    "profile_gender",
    "first",
    "last",
    "created",
    "birth",
    "weight",
)
_INDEX_TYPES = ("B", "B", "B", "B", "H", "H", "q", "i", "d")


class PeopleMaker:
    """Makes member batch ``b`` (members ``b*batch`` .. ``(b+1)*batch - 1``)."""

    def __init__(self, params: PeopleParams, pools: dict[str, LocalePool]) -> None:
        self.p = params
        self.pools = list(pools.values())
        self.pool_index = {pool.key: i for i, pool in enumerate(self.pools)}
        self._phones = [tuple(_pii.PhoneFormat(t) for t in c.phones) for c in COUNTRIES]
        cum: list[float] = []
        total = 0.0
        for country in COUNTRIES:
            total += country.weight
            cum.append(total)
        cum.append(total + UNKNOWN_COUNTRY_WEIGHT)
        cum.append(total + UNKNOWN_COUNTRY_WEIGHT + INVALID_COUNTRY_WEIGHT)
        self._country_cum = cum

    def _rng(self, stream: str, b: int) -> random.Random:
        return random.Random(f"tamis.synth:{self.p.seed}:{stream}:{b}")  # nosec B311  # seeded, not for secrets

    def __call__(self, b: int) -> PeopleBatch:
        p = self.p
        rng, trng = self._rng("members", b), self._rng("technical", b)
        consent = ConsentMaker(self._rng("consent", b), p.consent_fmt)
        r = rng.random
        fragment: tuple[array[Any], ...] = tuple(array(t) for t in _INDEX_TYPES)
        country_a, locale_a, gender_a, pgender_a, first_a, last_a, created_a, birth_a, weight_a = (
            fragment
        )
        rows: list[Row] = []
        tech_rows: list[Row] = []
        consent_rows: list[Row] = []
        edges: list[dict[str, Any]] = []
        cum = self._country_cum
        total = cum[-1]
        n_countries = len(COUNTRIES)
        stop = min(p.members, (b + 1) * p.batch)
        for i in range(b * p.batch, stop):
            c = bisect.bisect_right(cum, r() * total)
            if c == n_countries:
                c = NO_COUNTRY
            elif c > n_countries:
                c = _INVALID_CODES[int(r() * 2)]
            label = p.forced.get(i) or consent.draw_label()
            if i in p.forced and c >= n_countries:
                c = 0  # the forced cases live in a covered country (France)
            code = COUNTRIES[c].code if c < n_countries else INVALID_COUNTRIES.get(c)
            locales = COUNTRIES[c].locales if c < n_countries else _FALLBACK_LOCALES
            locale = self.pool_index[locales[int(r() * len(locales))]]
            pool = self.pools[locale]

            profile_gender = _GENDERS[bisect.bisect_right(_GENDER_CUM, r())]
            gender = profile_gender if profile_gender in (MALE, FEMALE) else int(r() * 2)
            first = int(r() * len(pool.first[gender]))
            last = int(r() * len(pool.last))
            birth = self._birth(r)
            if r() < 0.88:
                created = _MEMBERS_SINCE + int(r() * (p.start_s - _MEMBERS_SINCE))
            else:
                created = p.start_s + int(r() * max(1, p.end_s - p.start_s - 30 * _DAY))
            if birth is not None:  # accounts open from age 13
                created = max(created, (birth + int(13 * _YEAR_DAYS)) * _DAY + int(r() * _DAY))

            mid = member_id(i)
            if label is not None:
                start = int((region_start(code) or MAIN_START).timestamp())
                events, truth, earliest = consent.member_events(label, mid, start)
                consent_rows.extend(events)
                edges.append(truth)
                if earliest < created:  # nobody acts before their account exists
                    created = max(0, earliest - _DAY - int(r() * 400 * _DAY))

            country_a.append(c)
            locale_a.append(locale)
            gender_a.append(gender)
            pgender_a.append(profile_gender)
            first_a.append(first)
            last_a.append(last)
            created_a.append(created)
            birth_a.append(NO_BIRTH if birth is None else birth)
            weight_a.append(rng.lognormvariate(0.0, 1.0) if r() < 0.9 else 0.05)
            name = (gender, first, last)
            rows.append(self._profile(rng, i, c, code, pool, name, profile_gender, birth, created))
            self._technical(trng, mid, created, tech_rows)

        if stop == p.members:  # the last batch: events for members that do not exist
            for k in range(max(1, p.members // 500)):
                events, truth = consent.unknown_member(member_id(p.members + 1 + 7 * k))
                consent_rows.extend(events)
                edges.append(truth)
        return PeopleBatch(
            members=encode(MEMBERS, rows, p.fmt),
            technical=encode(TECHNICAL_EVENTS, tech_rows, p.fmt),
            technical_rows=len(tech_rows),
            consent=encode(CONSENT_EVENTS, consent_rows, p.consent_fmt),
            consent_rows=len(consent_rows),
            consent_malformed=consent.malformed,
            consent_labels=Counter({k: v for k, v in consent.counts.items() if v}),
            edges=encode_records(edges),
            edge_rows=len(edges),
            fragment=fragment,
        )

    def _birth(self, r: Rand) -> int | None:
        """Birth date in days since the epoch (None = unknown): some minors at the cutoff and
        some who turn 18 during the content period."""
        u = r()
        if u < 0.08:
            return None
        if u < 0.11:  # minor at the cutoff: 13..17
            age = 13.0 + r() * 4.95
        elif u < 0.14:  # turns 18 between the start and the cutoff
            age = 18.0 + r() * max(0.0, (_C_DAYS - self.p.start_s // _DAY) / _YEAR_DAYS)
        else:
            age = 18.0 + r() * 52.0
        return _C_DAYS - int(age * _YEAR_DAYS)

    def _profile(
        self,
        rng: random.Random,
        i: int,
        c: int,
        code: str | None,
        pool: LocalePool,
        name: tuple[int, int, int],
        profile_gender: int,
        birth: int | None,
        created: int,
    ) -> Row:
        r = rng.random
        gender, first, last = name
        country = COUNTRIES[c] if c < len(COUNTRIES) else None
        lang = pool.lang if pool.lang in HEADLINE_TEMPLATES else "en"
        position = _pick(r, pool.jobs)
        employer = _pick(r, pool.companies) if r() < 0.9 else None
        skills = _sample(r, SKILLS, int(r() * 9))
        headline = _pick(r, HEADLINE_TEMPLATES[lang]).format(
            position=position,
            employer=employer or "Freelance",
            skill=_pick(r, SKILLS),
            skill2=_pick(r, SKILLS),
        )
        schools = SCHOOL_TEMPLATES.get(pool.lang, SCHOOL_TEMPLATES["en"])
        education = [
            _pick(r, schools).format(city=_pick(r, pool.cities)) for _ in range(int(r() * 4))
        ]
        city = _pick(r, pool.cities)
        location = None if r() < 0.05 else f"{city}, {country.name}" if country else city

        first_slug = pool.first_slug[gender][first]
        last_slug = pool.last_slug[last].replace("-", "")
        u = r()
        if not (first_slug and last_slug):
            local = f"user{_pii.digits(r, 7)}"
        elif u < 0.5:
            local = f"{first_slug}.{last_slug}"
        elif u < 0.7:
            local = f"{first_slug[0]}{last_slug}"
        elif u < 0.85:
            local = f"{first_slug}.{last_slug}{_pii.digits(r, 2)}"
        else:
            local = f"{first_slug}{last_slug}{1950 + int(r() * 60)}"
        domains = (country.domains if country else ()) or GENERIC_DOMAINS
        email = None if r() < 0.03 else f"{local.replace('-', '')}@{_pick(r, domains)}"
        phone = _pick(r, self._phones[c])(r) if country and r() < 0.65 else None
        if birth is not None:
            bracket: str | None = age_range(int((_C_DAYS - birth) / _YEAR_DAYS))
        else:
            bracket = _pick(r, _BRACKETS) if r() < 0.3 else None  # inferred anyway
        interests = _sample(r, INTERESTS, int(r() * 6))
        photo = None
        if r() < 0.8:
            photo = f"https://media.example.net/profile-photos/{_pii.hex_token(r, 24)}.jpg"
        document = None
        if r() < 0.25:
            document = _id_document(r, country.id_doc if country else "AA#######")
        salary = None
        if r() < 0.35:
            level = country.salary if country else 40000
            salary = float(round(level * math.exp(rng.gauss(0.0, 0.45)), -2))
        return (
            member_id(i),
            code,
            birth,
            created * _US + (int(r() * 1000) * 1000 if r() < 0.3 else 0),
            pool.first[gender][first],
            pool.last[last],
            headline,
            position,
            employer,
            education,
            skills,
            location,
            email,
            phone,
            _GENDER_TEXT[profile_gender],
            bracket,
            interests,
            photo,
            document,
            salary,
            draw_offset(r),
        )

    def _technical(self, rng: random.Random, mid: str, created: int, out: list[Row]) -> None:
        r = rng.random
        k = int(r() * 7)
        if not k:
            return
        lo = max(created, self.p.start_s)
        span = max(1, self.p.end_s - lo)
        devices = [_pii.hex_token(r, 16) for _ in range(1 + int(r() * 2))]
        agents = [_pick(r, USER_AGENTS) for _ in devices]
        home_ip = _pii.ipv4(r)
        for _ in range(k):
            d = int(r() * len(devices))
            u = r()
            event = "view" if u < 0.5 else "search" if u < 0.8 else "login"
            u = r()
            ip = home_ip if u < 0.7 else _pii.ipv4(r) if u < 0.9 else _pii.ipv6(r)
            ts = (lo + int(r() * span)) * _US + int(r() * 1000) * 1000
            out.append((mid, ts, event, ip, devices[d], agents[d], draw_offset(r)))


def draw_offset(r: Rand) -> int:
    """The index of the UTC offset a timestamp is written with in JSONL."""
    return OFFSET_BY_PERCENT[int(r() * 100.0)]


def _pick(r: Rand, items: Sequence[T]) -> T:
    return items[int(r() * len(items))]


def _sample(r: Rand, items: Sequence[T], k: int) -> list[T]:
    """``k`` distinct items in random order (a partial Fisher-Yates shuffle)."""
    pool = list(items)
    n = len(pool)
    for i in range(k):
        j = i + int(r() * (n - i))
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:k]


def _id_document(r: Rand, template: str) -> str:
    out = []
    for ch in template:
        if ch == "#":
            out.append(str(int(r() * 10)))
        elif ch == "A":
            out.append(_UPPER[int(r() * 26)])
        elif ch == "X":
            out.append(_ALNUM[int(r() * 36)])
        else:
            out.append(ch)
    return "".join(out)
