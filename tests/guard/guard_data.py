"""Synthetic members and generations for the guard tests and benchmark (deterministic)."""

from __future__ import annotations

import random
import unicodedata

from faker import Faker


def ascii_slug(text: str) -> str:
    base = unicodedata.normalize("NFKD", text)
    return "".join(c for c in base if c.isalnum() and c.isascii()).lower()


def members(n: int, seed: int = 0) -> list[dict[str, str]]:
    """``n`` members with distinct full names, e-mails and French mobile numbers."""
    rng = random.Random(seed)
    faker = Faker(["fr_FR", "en_US"])
    faker.seed_instance(seed)
    firsts = sorted({faker.first_name() for _ in range(400)})
    lasts = sorted({faker.last_name() for _ in range(800)})
    seen: set[tuple[str, str]] = set()
    out = []
    while len(out) < n:
        pair = (rng.choice(firsts), rng.choice(lasts))
        if pair in seen:
            continue
        seen.add(pair)
        k = len(out)
        out.append(
            {
                "first_name": pair[0],
                "last_name": pair[1],
                "email": f"{ascii_slug(pair[0])}.{ascii_slug(pair[1])}{k}@example.com",
                "phone": f"06{k:08d}"[:10] if k < 10**8 else f"07{k % 10**8:08d}",
            }
        )
    return out


def phone_variants(phone: str, rng: random.Random) -> str:
    d = phone
    forms = [
        " ".join(d[i : i + 2] for i in range(0, 10, 2)),
        ".".join(d[i : i + 2] for i in range(0, 10, 2)),
        d,
        "+33 " + d[1] + " " + " ".join(d[i : i + 2] for i in range(2, 10, 2)),
    ]
    return rng.choice(forms)


def name_variants(first: str, last: str, rng: random.Random) -> str:
    forms = [
        f"{first} {last}",
        f"{last.upper()} {first}",
        f"{first} {last}".lower(),
        f"{last} {first}",
    ]
    return rng.choice(forms)


TEMPLATES = (
    "You can reach {name} at {email} or on {phone}.",
    "{name} wrote: call me on {phone} tomorrow.",
    "Contact: {name} <{email}>",
    "Je vous mets en relation avec {name} ({email}).",
    "Le numéro de {name} est le {phone}, merci de rappeler.",
    "Thanks to {name} for the great talk!",
)

CLEAN_TEMPLATES = (
    "Great article about {topic}, thanks for sharing.",
    "Our {topic} meetup is on 12/03 at 18:30, room 4.",
    "Version 2.4.1 of the {topic} toolkit is out with 35 fixes.",
    "Order 4521 of 250 units shipped; see page 12 of the {topic} guide.",
    "Super présentation sur {topic}, bravo à toute l'équipe !",
    "We grew revenue by 12% in Q3 thanks to {topic}.",
    "Looking for advice on {topic} in Paris or Lyon.",
)
TOPICS = ("data engineering", "Kubernetes", "machine learning", "marketing", "la cybersécurité")


def member_generations(people: list[dict[str, str]], n: int, seed: int = 1) -> list[dict[str, str]]:
    """Generations that each contain a member's full name and/or e-mail and/or phone."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        p = rng.choice(people)
        template = rng.choice(TEMPLATES)
        values = {
            "name": name_variants(p["first_name"], p["last_name"], rng),
            "email": p["email"],
            "phone": phone_variants(p["phone"], rng),
        }
        out.append({"text": template.format(**values), **values, "_tpl": template})
    return out


def clean_generations(n: int, seed: int = 2) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(CLEAN_TEMPLATES).format(topic=rng.choice(TOPICS)) for _ in range(n)]
