"""Government identifiers: the French NIR (social security number, mod-97 key) and the US SSN.

The NIR's 15 characters encode sex, birth year and month, department (``2A``/``2B`` for
Corsica), commune and order, and end with a key = 97 - (number mod 97): the key check is what
tells a NIR from any 15-digit number. US SSNs have no checksum; the ``AAA-GG-SSSS`` shape with the
ranges the SSA never assigns excluded (000, 666, 9xx; group 00; serial 0000) is the signal, and
the unformatted or space-separated forms need a cue ("SSN", "social security").
"""

from __future__ import annotations

import re

from tamis.pii.base import Detector, detectors
from tamis.pii.builtin._cues import cue_before, negative_before
from tamis.pii.spans import FR_NIR, US_SSN, Span

NIR_PATTERN = (
    r"[12](?<![\w][12])[ .]?\d\d[ .]?(?:0[1-9]|1[0-2]|[2-9]\d)[ .]?(?:\d\d|2[ABab])[ .]?"
    r"\d\d\d[ .]?\d\d\d[ .]?\d\d(?![\w])"
)


def nir_valid(compact: str) -> bool:
    body, key = compact[:13].upper(), compact[13:]
    if len(compact) != 15 or not key.isdigit():
        return False
    body = body.replace("2A", "19").replace("2B", "18") if body[5:7] in ("2A", "2B") else body
    if not body.isdigit():
        return False
    return 97 - int(body) % 97 == int(key)


class NirDetector:
    id = "fr_nir.v1"
    types: tuple[str, ...] = (FR_NIR,)
    prefilter: str | None = r"[12][ .]?\d\d[ .]?\d\d"

    def __init__(self) -> None:
        self._rx = re.compile(NIR_PATTERN)

    def detect(self, text: str, lang: str | None = None) -> list[Span]:
        out = []
        for m in self._rx.finditer(text):
            compact = re.sub(r"[ .]", "", m.group())
            if nir_valid(compact):
                out.append(Span(m.start(), m.end(), FR_NIR, 0.95, self.id, "NIR key"))
        return out


SSN_PATTERN = r"(?P<a>\d(?<![\w\-]\d)\d\d)(?P<s1>[\- ]?)(?P<g>\d{2})(?P=s1)(?P<s>\d{4})(?![\w]|-\d)"
SSN_CUES = re.compile(r"(?i)(?<!\w)(?:ssn|ss#|social security(?: number| no\.?)?|soc\.? sec\.?)")


class SsnDetector:
    id = "us_ssn.v1"
    types: tuple[str, ...] = (US_SSN,)
    prefilter: str | None = r"\d{3}[\- ]?\d\d[\- ]?\d{4}"

    def __init__(self) -> None:
        self._rx = re.compile(SSN_PATTERN)

    def detect(self, text: str, lang: str | None = None) -> list[Span]:
        out = []
        for m in self._rx.finditer(text):
            area, group, serial = m.group("a"), m.group("g"), m.group("s")
            if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
                continue
            if len({*area, *group, *serial}) == 1:
                continue
            start = m.start()
            cued = cue_before(SSN_CUES, text, start)
            dashed = m.group("s1") == "-"
            score = (0.95 if cued else 0.85) if dashed else (0.8 if cued else 0.0)
            if score < 0.5 or (not cued and negative_before(text, start)):
                continue
            out.append(Span(start, m.end(), US_SSN, score, self.id, "SSN shape"))
        return out


@detectors.register("fr_nir.v1")
def fr_nir_v1(**options: object) -> Detector:
    return NirDetector()


@detectors.register("us_ssn.v1")
def us_ssn_v1(**options: object) -> Detector:
    return SsnDetector()
