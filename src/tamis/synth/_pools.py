"""Pools of Faker values per locale, drawn once per seed and sampled in the hot loop.

Faker is slow per call (tens of microseconds), so each locale's names, places, companies and
jobs are drawn once into tuples (keeping Faker's frequency weighting: common surnames appear
several times) and the generator samples them with its own seeded RNG. Each (locale, category)
draw uses a Faker instance re-seeded from the run's seed, so pools are identical run to run.
"""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

from faker import Faker

from tamis.synth._world import LOCALES, LocaleSpec

FIRST_NAMES = 250  # draws per gender
LAST_NAMES = 600
CITIES = 150
ADDRESSES = 250
COMPANIES = 200
JOBS = 150

_MILITARY = re.compile(r"\b(FPO|APO|DPO|USNS|USS|USCGC|PSC \d|Unit \d)")
_FR_MALE_HEADS = ("Jean", "Jean", "Pierre", "Marc", "Paul", "Louis", "François")
_FR_FEMALE_HEADS = ("Marie", "Marie", "Anne", "Claire", "Laure", "Marie")
_FR_MALE_TAILS = ("Pierre", "Luc", "Marc", "Baptiste", "Yves", "Michel", "Philippe", "Louis")
_FR_FEMALE_TAILS = ("Claire", "Sophie", "Hélène", "Laure", "Christine", "Charlotte", "Lise")
_FR_PARTICLE_NOUNS = ("Fontaine", "Tour", "Roche", "Motte", "Croix", "Vallée", "Rivière")


@dataclass(frozen=True)
class LocalePool:
    """Sampled values for one locale; ``*_slug`` are ASCII forms for e-mails and handles."""

    key: str
    lang: str
    first: tuple[tuple[str, ...], tuple[str, ...]]  # (male, female)
    first_slug: tuple[tuple[str, ...], tuple[str, ...]]
    last: tuple[str, ...]
    last_slug: tuple[str, ...]
    cities: tuple[str, ...]
    addresses: tuple[str, ...]
    companies: tuple[str, ...]
    company_slug: tuple[str, ...]
    jobs: tuple[str, ...]


def slug(text: str) -> str:
    """ASCII, lower-case, hyphen-separated form of a name ('' when nothing is left)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")


def _derived_seed(seed: int, *parts: str) -> int:
    digest = hashlib.sha256(":".join(["tamis.synth", str(seed), *parts]).encode()).digest()
    return int.from_bytes(digest[:8], "big")


@cache
def _faker(locale: str) -> Faker:
    fk = Faker(locale)
    # Some providers build their lists from sets (it_IT cities), so their order, hence what a
    # seeded draw returns, depends on PYTHONHASHSEED. Sorted copies make the draws stable.
    for provider in fk.providers:
        for name in dir(provider):
            if name.startswith("__"):
                continue
            value = getattr(provider, name, None)
            if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
                setattr(provider, name, sorted(value))
    return fk


def _draw(seed: int, spec: LocaleSpec, locale: str, what: str, n: int) -> list[str]:
    fk = _faker(locale)
    fk.seed_instance(_derived_seed(seed, spec.key, what))
    if locale == "ja_JP" and what in ("first_male", "first_female", "last"):
        method = {
            "first_male": fk.first_romanized_name_male,
            "first_female": fk.first_romanized_name_female,
            "last": fk.last_romanized_name,
        }[what]
    else:
        method = {
            "first_male": fk.first_name_male,
            "first_female": fk.first_name_female,
            "last": fk.last_name,
            "city": fk.city,
            "address": fk.address,
            "company": fk.company,
            "job": fk.job,
        }[what]
    values = [" ".join(str(method()).replace("\n", ", ").split()) for _ in range(n)]
    if what == "address":  # en_US also makes military mail addresses (USNS Foo, FPO AE 12345)
        values = [v for v in values if not _MILITARY.search(v)] or values
    return values


def _custom_addresses(rng: random.Random, spec: LocaleSpec, n: int) -> list[str]:
    out = []
    for _ in range(n):
        city, street = rng.choice(spec.cities), rng.choice(spec.streets)
        number = rng.randint(1, 250)
        if spec.key == "ja_JP":
            out.append(f"{number}-{rng.randint(1, 30)}-{rng.randint(1, 20)} {street}, {city}")
        elif spec.key == "zh_HK":
            out.append(
                f"Flat {rng.randint(1, 40)}{rng.choice('ABCDEFGH')}, {number} {street}, {city}"
            )
        else:
            out.append(f"{number} {street}, {city}")
    return out


def _compound(
    rng: random.Random, spec: LocaleSpec, male: list[str], female: list[str], last: list[str]
) -> None:
    """Add the compound forms Faker lists rarely: Jean-Pierre, de la Fontaine, García López."""
    lang = spec.lang
    if spec.names is None:
        return  # hand-written lists already hold their compound names
    if lang == "fr":
        male += [f"{rng.choice(_FR_MALE_HEADS)}-{rng.choice(_FR_MALE_TAILS)}" for _ in range(50)]
        female += [
            f"{rng.choice(_FR_FEMALE_HEADS)}-{rng.choice(_FR_FEMALE_TAILS)}" for _ in range(50)
        ]
        base = list(last)
        last += [f"de {rng.choice(base)}" for _ in range(25)]
        last += [f"de la {rng.choice(_FR_PARTICLE_NOUNS)}" for _ in range(10)]
        last += [f"d'{rng.choice(('Artois', 'Estienne', 'Orléans', 'Harcourt'))}" for _ in range(5)]
        last += [f"{rng.choice(base)}-{rng.choice(base)}" for _ in range(40)]
    elif lang == "es":
        base = list(last)
        last[:] = [f"{a} {rng.choice(base)}" if rng.random() < 0.7 else a for a in base]
    elif lang == "de":
        base = list(last)
        last += [f"von {rng.choice(base)}" for _ in range(20)]
        last += [f"{rng.choice(base)}-{rng.choice(base)}" for _ in range(40)]
    elif spec.key in ("en_GB", "en_IE"):
        base = list(last)
        irish = ("Brien", "Connor", "Neill", "Sullivan", "Reilly")
        last += [f"O'{rng.choice(irish)}" for _ in range(20)]
        last += [f"{rng.choice(base)}-{rng.choice(base)}" for _ in range(20)]
    elif lang == "pt":
        base = list(last)
        last += [f"{rng.choice(('da', 'dos', 'de'))} {rng.choice(base)}" for _ in range(40)]


def _build_one(seed: int, spec: LocaleSpec) -> LocalePool:
    rng = random.Random(f"tamis.synth:{seed}:pool:{spec.key}")  # nosec B311  # seeded, not for secrets
    if spec.names is not None:
        male = _draw(seed, spec, spec.names, "first_male", FIRST_NAMES)
        female = _draw(seed, spec, spec.names, "first_female", FIRST_NAMES)
        last = _draw(seed, spec, spec.names, "last", LAST_NAMES)
    else:
        male, female, last = list(spec.first_male), list(spec.first_female), list(spec.last)
    _compound(rng, spec, male, female, last)
    if spec.places is not None:
        cities = _draw(seed, spec, spec.places, "city", CITIES)
        addresses = _draw(seed, spec, spec.places, "address", ADDRESSES)
    else:
        cities = list(spec.cities)
        addresses = _custom_addresses(rng, spec, ADDRESSES)
    companies = _draw(seed, spec, spec.work, "company", COMPANIES)
    jobs = _draw(seed, spec, spec.work, "job", JOBS)
    return LocalePool(
        key=spec.key,
        lang=spec.lang,
        first=(tuple(male), tuple(female)),
        first_slug=(tuple(map(slug, male)), tuple(map(slug, female))),
        last=tuple(last),
        last_slug=tuple(map(slug, last)),
        cities=tuple(cities),
        addresses=tuple(addresses),
        companies=tuple(companies),
        company_slug=tuple(slug(c).replace("-", "")[:20] or "company" for c in companies),
        jobs=tuple(jobs),
    )


@lru_cache(maxsize=4)
def build_pools(seed: int) -> dict[str, LocalePool]:
    """Every locale's pool for ``seed`` (cached: building them takes about a second)."""
    return {key: _build_one(seed, spec) for key, spec in LOCALES.items()}
