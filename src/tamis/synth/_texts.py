"""Fill text templates with member mentions and personal data, keeping the ground truth.

Templates are compiled once into ``(literal, slot)`` pairs; filling one is a short loop of
appends, and every inserted value that is personal data yields a truth span
``{type, value, start, end[, member_id, form]}`` with offsets in code points.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tamis.synth import _pii, _templates
from tamis.synth._members import FEMALE, MALE, MEMBER_ID, MemberIndex
from tamis.synth._pools import LocalePool
from tamis.synth._world import COUNTRIES, GENERIC_DOMAINS, INTERESTS, SKILLS

# A slot appends its text to ``parts`` (and its spans to ``truth``) and returns the new length.
Truth = list[dict[str, Any]]
Slot = Callable[[int, str, list[str], Truth, int], int]

MENTION_TYPES: tuple[str, ...] = (
    "EMAIL",
    "PHONE_NUMBER",
    "IBAN_CODE",
    "FR_NIR",
    "IP_ADDRESS",
    "URL",
    "PERSON",
    "MEMBER",
    "STREET_ADDRESS",
    "CREDIT_CARD",
)
SENSITIVE_TOPICS: tuple[str, ...] = ("health", "trade_union", "religion", "politics")
_SLOT = re.compile(r"\{(\w+)\}")
_TOPIC = re.compile(r"^\[(\w+)\] ")
_LANG_POOL = {
    "fr": "fr_FR",
    "en": "en_US",
    "de": "de_DE",
    "es": "es_ES",
    "it": "it_IT",
    "nl": "nl_NL",
    "pt": "pt_PT",
}


@dataclass(frozen=True)
class Template:
    ops: tuple[tuple[str, int, Slot | None], ...]  # (literal, its length, slot after it)
    topic: str | None


class TextMaker:
    """Renders texts; every draw comes from ``self.rand`` (set per batch with :meth:`seed`)."""

    def __init__(self, members: MemberIndex) -> None:
        self.members = members
        self.rand: Callable[[], float] = random.Random(0).random  # nosec B311  # seeded, not for secrets
        self.n_members = len(members)
        pools = members.pools
        self._lang_pool: dict[str, LocalePool] = {
            lang: pools[members.pool_index[key]] for lang, key in _LANG_POOL.items()
        }
        self._country_phones = [tuple(_pii.PhoneFormat(t) for t in c.phones) for c in COUNTRIES]
        self._domains = [c.domains or GENERIC_DOMAINS for c in COUNTRIES]
        slots: dict[str, Slot] = {
            name[3:]: getattr(self, name) for name in dir(self) if name.startswith("_s_")
        }
        self._slots = slots
        self.templates: dict[tuple[str, str], tuple[Template, ...]] = {}
        for lang, table in (("fr", _templates.FR), ("en", _templates.EN)):
            for kind, texts in table.items():
                self.templates[(lang, kind)] = tuple(self._compile(t) for t in texts)
        for lang, kinds in _templates.OTHER.items():
            for kind, texts in kinds.items():
                self.templates[(lang, kind)] = tuple(self._compile(t) for t in texts)

    def seed(self, rng: random.Random) -> None:
        self.rand = rng.random

    def _compile(self, text: str) -> Template:
        topic = None
        m = _TOPIC.match(text)
        if m:
            topic, text = m.group(1), text[m.end() :]
            if topic not in SENSITIVE_TOPICS:
                raise ValueError(f"unknown sensitive topic {topic!r} in template {text!r}")
        pieces = _SLOT.split(text)
        ops: list[tuple[str, int, Slot | None]] = []
        for i in range(0, len(pieces), 2):
            literal = pieces[i]
            slot = None
            if i + 1 < len(pieces):
                name = pieces[i + 1]
                if name not in self._slots:
                    raise ValueError(f"unknown slot {{{name}}} in template {text!r}")
                slot = self._slots[name]
            ops.append((literal, len(literal), slot))
        return Template(tuple(ops), topic)

    # -- rendering -------------------------------------------------------------------------

    def fill(
        self, template: Template, author: int, lang: str, parts: list[str], truth: Truth, pos: int
    ) -> int:
        """Append ``template``'s text to ``parts`` and its spans to ``truth``; return the new
        length of the text (``pos`` is the length before)."""
        for literal, size, slot in template.ops:
            if size:
                parts.append(literal)
                pos += size
            if slot is not None:
                pos = slot(author, lang, parts, truth, pos)
        return pos

    def pick(self, lang: str, kind: str) -> Template:
        group = self.templates[(lang, kind)]
        return group[int(self.rand() * len(group))]

    # -- member mentions -------------------------------------------------------------------

    def _other(self, author: int) -> int:
        j = int(self.rand() * self.n_members)
        if j == author and self.n_members > 1:
            j = (j + 1) % self.n_members
        return j

    def _s_member(self, author: int, lang: str, parts: list[str], truth: Truth, pos: int) -> int:
        n = self.n_members
        j = int(self.rand() * n)
        if j == author and n > 1:
            j = (j + 1) % n
        name = self.members.full_name(j)
        parts.append(name)
        end = pos + len(name)
        truth.append(
            {
                "type": "MEMBER",
                "value": name,
                "start": pos,
                "end": end,
                "member_id": MEMBER_ID % j,
                "form": "full",
            }
        )
        return end

    def _s_member_first(
        self, author: int, lang: str, parts: list[str], truth: Truth, pos: int
    ) -> int:
        j = self._other(author)
        name = self.members.first_name(j)
        parts.append(name)
        end = pos + len(name)
        truth.append(
            {
                "type": "MEMBER",
                "value": name,
                "start": pos,
                "end": end,
                "member_id": MEMBER_ID % j,
                "form": "first",
            }
        )
        return end

    def _s_member_hon(
        self, author: int, lang: str, parts: list[str], truth: Truth, pos: int
    ) -> int:
        j = self._other(author)
        members = self.members
        male, female, neutral = _templates.HONORIFICS.get(lang, _templates.HONORIFICS["en"])
        u = self.rand()
        if u < 0.15:
            title = neutral
        elif members.profile_gender[j] in (MALE, FEMALE):
            title = male if members.gender[j] == MALE else female
        else:
            title = ""
        if title and u > 0.55:
            name, form = members.last_name(j), "last"
        else:
            name, form = members.full_name(j), "full"
        if title:
            parts.append(title + " ")
            pos += len(title) + 1
        parts.append(name)
        end = pos + len(name)
        truth.append(
            {
                "type": "MEMBER",
                "value": name,
                "start": pos,
                "end": end,
                "member_id": MEMBER_ID % j,
                "form": form,
            }
        )
        return end

    def _s_handle(self, author: int, lang: str, parts: list[str], truth: Truth, pos: int) -> int:
        j = self._other(author)
        handle = "@" + self.members.handle(j)
        parts.append(handle)
        end = pos + len(handle)
        truth.append(
            {
                "type": "MEMBER",
                "value": handle,
                "start": pos,
                "end": end,
                "member_id": MEMBER_ID % j,
                "form": "handle",
            }
        )
        return end

    def _s_profile_url(
        self, author: int, lang: str, parts: list[str], truth: Truth, pos: int
    ) -> int:
        """The author's own profile URL ("my profile: ...")."""
        url = "https://www.linkedin.com/in/" + self.members.handle(author)
        if self.rand() < 0.3:
            url += "/"
        parts.append(url)
        end = pos + len(url)
        truth.append(
            {
                "type": "URL",
                "value": url,
                "start": pos,
                "end": end,
                "member_id": MEMBER_ID % author,
                "form": "profile",
            }
        )
        return end

    # -- other personal data ---------------------------------------------------------------

    def _s_person(self, author: int, lang: str, parts: list[str], truth: Truth, pos: int) -> int:
        r = self.rand
        pool = self.members.pool(author)
        first = pool.first[0 if r() < 0.5 else 1]
        name = f"{first[int(r() * len(first))]} {pool.last[int(r() * len(pool.last))]}"
        return _put(parts, truth, pos, "PERSON", name)

    def _s_email(self, author: int, lang: str, parts: list[str], truth: Truth, pos: int) -> int:
        pool = self.members.pool(author)
        r = self.rand
        slugs = pool.first_slug[0 if r() < 0.5 else 1]
        first = slugs[int(r() * len(slugs))] or "contact"
        last = pool.last_slug[int(r() * len(pool.last_slug))].replace("-", "") or "pro"
        u = r()
        if u < 0.45:
            local = f"{first}.{last}"
        elif u < 0.65:
            local = f"{first[0]}{last}"
        elif u < 0.8:
            local = f"{first}.{last}{int(r() * 99)}"
        else:
            local = f"{first}_{last}"
        if r() < 0.3:
            company = pool.company_slug[int(r() * len(pool.company_slug))]
            domain = f"{company}.{'fr' if lang == 'fr' else 'com'}"
        else:
            c = self.members.country[author]
            domains = self._domains[c] if c < len(COUNTRIES) else GENERIC_DOMAINS
            domain = domains[int(r() * len(domains))]
        return _put(parts, truth, pos, "EMAIL", f"{local.replace('-', '')}@{domain}")

    def _s_phone(self, author: int, lang: str, parts: list[str], truth: Truth, pos: int) -> int:
        r = self.rand
        c = self.members.country[author]
        if lang == "fr" and r() < 0.75:
            phone = _pii.phone_fr(r)
        elif c < len(COUNTRIES) and r() < 0.7:
            formats = self._country_phones[c]
            phone = formats[int(r() * len(formats))](r)
        else:
            phone = _pii.phone_intl(r)
        return _put(parts, truth, pos, "PHONE_NUMBER", phone)

    def _s_address(self, author: int, lang: str, parts: list[str], truth: Truth, pos: int) -> int:
        pool = self.members.pool(author)
        if pool.lang != lang and lang in self._lang_pool:
            pool = self._lang_pool[lang]
        address = pool.addresses[int(self.rand() * len(pool.addresses))]
        return _put(parts, truth, pos, "STREET_ADDRESS", address)

    def _s_iban(self, author: int, lang: str, parts: list[str], truth: Truth, pos: int) -> int:
        r = self.rand
        code = self.members.country_code(author)
        if code not in _pii.IBAN_COUNTRIES or r() < 0.3:
            code = "FR" if lang == "fr" and r() < 0.8 else _pii.pick(r, _pii.IBAN_COUNTRIES)
        return _put(parts, truth, pos, "IBAN_CODE", _pii.iban(r, code, grouped=r() < 0.7))

    def _s_nir(self, author: int, lang: str, parts: list[str], truth: Truth, pos: int) -> int:
        nir = _pii.nir(self.rand, spaced=self.rand() < 0.6)
        return _put(parts, truth, pos, "FR_NIR", nir)

    def _s_ip(self, author: int, lang: str, parts: list[str], truth: Truth, pos: int) -> int:
        ip = _pii.ipv4(self.rand) if self.rand() < 0.7 else _pii.ipv6(self.rand)
        return _put(parts, truth, pos, "IP_ADDRESS", ip)

    def _s_card(self, author: int, lang: str, parts: list[str], truth: Truth, pos: int) -> int:
        return _put(parts, truth, pos, "CREDIT_CARD", _pii.credit_card(self.rand))

    # -- fillers (not personal data) -------------------------------------------------------

    def _s_company(self, author: int, lang: str, parts: list[str], truth: Truth, pos: int) -> int:
        companies = self.members.pool(author).companies
        text = companies[int(self.rand() * len(companies))]
        parts.append(text)
        return pos + len(text)

    def _s_city(self, author: int, lang: str, parts: list[str], truth: Truth, pos: int) -> int:
        cities = self.members.pool(author).cities
        text = cities[int(self.rand() * len(cities))]
        parts.append(text)
        return pos + len(text)

    def _s_job(self, author: int, lang: str, parts: list[str], truth: Truth, pos: int) -> int:
        pool = self.members.pool(author)
        if pool.lang != lang:
            pool = self._lang_pool.get(lang, pool)
        text = pool.jobs[int(self.rand() * len(pool.jobs))]
        parts.append(text)
        return pos + len(text)

    def _s_skill(self, author: int, lang: str, parts: list[str], truth: Truth, pos: int) -> int:
        text = SKILLS[int(self.rand() * len(SKILLS))]
        parts.append(text)
        return pos + len(text)

    _s_skill2 = _s_skill

    def _s_interest(self, author: int, lang: str, parts: list[str], truth: Truth, pos: int) -> int:
        text = INTERESTS[int(self.rand() * len(INTERESTS))]
        parts.append(text)
        return pos + len(text)

    def _s_n(self, author: int, lang: str, parts: list[str], truth: Truth, pos: int) -> int:
        text = _SMALL_NUMBERS[int(self.rand() * len(_SMALL_NUMBERS))]
        parts.append(text)
        return pos + len(text)

    def _s_year(self, author: int, lang: str, parts: list[str], truth: Truth, pos: int) -> int:
        text = _YEARS[int(self.rand() * len(_YEARS))]
        parts.append(text)
        return pos + len(text)

    def _s_tag(self, author: int, lang: str, parts: list[str], truth: Truth, pos: int) -> int:
        text = _pii.pick(self.rand, _templates.HASHTAGS)
        parts.append(text)
        return pos + len(text)

    def _s_event(self, author: int, lang: str, parts: list[str], truth: Truth, pos: int) -> int:
        text = _pii.pick(self.rand, _templates.EVENTS)
        parts.append(text)
        return pos + len(text)

    def _s_day(self, author: int, lang: str, parts: list[str], truth: Truth, pos: int) -> int:
        text = _pii.pick(self.rand, _templates.DAYS_FR if lang == "fr" else _templates.DAYS_EN)
        parts.append(text)
        return pos + len(text)


_SMALL_NUMBERS = tuple(str(n) for n in range(2, 16))
_YEARS = tuple(str(y) for y in range(2015, 2026))


def _put(parts: list[str], truth: Truth, pos: int, kind: str, value: str) -> int:
    parts.append(value)
    end = pos + len(value)
    truth.append({"type": kind, "value": value, "start": pos, "end": end})
    return end
