"""Dates of birth: a date right after a birth cue ("née le", "date de naissance", "born on",
"DOB:"). A date without such a cue is not a date of birth (meetings, deadlines, publication
dates stay), which is what keeps this detector precise.
"""

from __future__ import annotations

import re

from tamis.pii.base import Detector, detectors
from tamis.pii.spans import DOB, Span

_FR_MONTHS = (
    r"janv(?:ier|\.)?|f[ée]v(?:rier|\.)?|mars|avr(?:il|\.)?|mai|juin|juil(?:let|\.)?|"
    r"ao[uû]t|sept(?:embre|\.)?|oct(?:obre|\.)?|nov(?:embre|\.)?|d[ée]c(?:embre|\.)?"
)
_EN_MONTHS = (
    r"jan(?:uary|\.)?|feb(?:ruary|\.)?|mar(?:ch|\.)?|apr(?:il|\.)?|may|june?|july?|"
    r"aug(?:ust|\.)?|sep(?:t(?:ember)?|\.)?|oct(?:ober|\.)?|nov(?:ember|\.)?|dec(?:ember|\.)?"
)
_MONTH = rf"(?:{_FR_MONTHS}|{_EN_MONTHS})"
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:er|st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d\d"
DATE = (
    rf"(?:{_DAY}\s+{_MONTH}\s+{_YEAR}"  # 12 mars 1985, 4 July 1990
    rf"|{_MONTH}\s+{_DAY},?\s+{_YEAR}"  # July 4, 1990
    rf"|{_DAY}[/.\-](?:0?[1-9]|1[0-2])[/.\-]{_YEAR}"  # 12/03/1985
    rf"|(?:0?[1-9]|1[0-2])/{_DAY}/{_YEAR}"  # 03/12/1985 (US)
    rf"|{_YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01]))"  # 1985-03-12
)
CUES = (
    r"n[ée]e?s?\s+(?:le|en)",
    r"date\s+de\s+naissance\s*:?",
    r"naissance\s*:?",
    r"n[ée]e?\s*:",
    r"anniversaire\s*:?",
    r"born(?:\s+on)?",
    r"birth\s*date\s*:?",
    r"date\s+of\s+birth\s*:?",
    r"d\.?o\.?b\.?\s*:?",
    r"birthday\s*:?",
)
DOB_PATTERN = rf"(?i)(?<!\w)(?:{'|'.join(CUES)})\s*(?:(?:on|le|the)\s+)?(?P<date>{DATE})(?!\d)"
# Where a cue may start, searched in the lower-cased text: a case-sensitive alternation lets the
# regex engine skip to its first letters in C, where ``(?i)`` tries every position.
# Each branch starts with a letter, then checks it starts a word.
CUE_ANCHOR = (
    r"n(?<!\wn)(?:[ée]|aissance)|a(?<!\wa)nniversaire|b(?<!\wb)(?:orn|irth)"
    r"|d(?<!\wd)(?:ate\s|\.?o\.?b)"
)


class DobDetector:
    id = "dob.v1"
    types: tuple[str, ...] = (DOB,)
    prefilter: str | None = r"(?i)n[ée]e?|naissance|anniversaire|born|birth|dob|d\.o\.b"

    def __init__(self) -> None:
        self._rx = re.compile(DOB_PATTERN)
        self._anchor = re.compile(CUE_ANCHOR)

    def detect(self, text: str, lang: str | None = None) -> list[Span]:
        lower = text.lower()
        if len(lower) != len(text):  # a letter whose lower case is longer ("İ"): scan all
            matches = list(self._rx.finditer(text))
        else:
            matches = []
            last = -1
            for anchor in self._anchor.finditer(lower):
                if anchor.start() < last:
                    continue
                m = self._rx.match(text, anchor.start())
                if m is not None:
                    matches.append(m)
                    last = m.end()
        return [
            Span(m.start("date"), m.end("date"), DOB, 0.9, self.id, "date after a birth cue")
            for m in matches
        ]


@detectors.register("dob.v1")
def dob_v1(**options: object) -> Detector:
    return DobDetector()
