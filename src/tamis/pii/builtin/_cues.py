"""Context cues shared by numeric detectors: words that say "this number is not personal data"."""

from __future__ import annotations

import re

NEGATIVE_NUMBER_CUES = (
    r"commande",
    r"order",
    r"invoice",
    r"facture",
    r"r[ée]f(?:[ée]rence)?\.?",
    r"n°",
    r"no\.",
    r"nr\.?",
    r"siret",
    r"siren",
    r"tva",
    r"vat",
    r"ticket",
    r"dossier",
    r"iso",
    r"version",
    r"v",
    r"build",
    r"colis",
    r"tracking",
    r"suivi",
    r"isbn",
    r"issn",
    r"doi",
    r"article",
    r"loi",
)
NEGATIVE_RX = re.compile(r"(?i)(?:(?<!\w)(?:" + "|".join(NEGATIVE_NUMBER_CUES) + r")(?!\w)|[#°])")


def negative_before(text: str, start: int, window: int = 18) -> bool:
    """Whether a "not personal" cue (order, version, n°, #...) closely precedes ``start``."""
    return NEGATIVE_RX.search(text, max(0, start - window), start) is not None


def cue_before(rx: re.Pattern[str], text: str, start: int, window: int = 40) -> bool:
    return rx.search(text, max(0, start - window), start) is not None
