"""The output guard: checks model generations for member personal data before they leave.

It reuses the PII engine (:mod:`tamis.pii`): validated pattern detectors (e-mail, phone, IBAN,
card, NIR, SSN) and the member directory's automaton for members' full names. Lone first or last
names are not flagged (with a large directory almost every capitalised word is somebody's first
name); the heuristic person detector is off for the same reason.

Scopes:

- ``any`` (default): every e-mail, phone and identifier the detectors find, plus members' full
  names;
- ``member``: e-mails and phones only when they belong to a member of the directory (identifiers
  such as IBANs are flagged in both scopes: they are personal data whoever they belong to).

Modes: ``redact`` replaces each finding with a typed placeholder (``<EMAIL>``); ``block``
withholds the whole text when anything is found. The result says what was found (type, offsets,
detector, whether it is a member's), never the found text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from tamis.errors import TamisError
from tamis.pii.anonymizers import Placeholder, apply
from tamis.pii.builtin.contact import PHONE_EXTENSION
from tamis.pii.directory import FULL, MemberDirectory
from tamis.pii.engine import PiiEngine
from tamis.pii.spans import EMAIL, PERSON, PHONE, Span

Mode = Literal["redact", "block"]
Scope = Literal["any", "member"]
Action = Literal["allow", "redact", "block"]

GUARD_DETECTORS: tuple[str, ...] = (
    "email.v1",
    "phone.v1",
    "iban.v1",
    "credit_card.v1",
    "fr_nir.v1",
    "us_ssn.v1",
    "person.members.v1",
)
FULL_NAME_SCORE = 0.9  # person.members.v1 scores full names 0.97, lone names <= 0.8
MODES: tuple[str, ...] = ("redact", "block")
SCOPES: tuple[str, ...] = ("any", "member")


# a phone extension at the end of a phone span ("06 12 34 56 78 poste 4")
_EXTENSION = re.compile(PHONE_EXTENSION + "$")


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of personal data in a checked text (offsets into the *input* text)."""

    type: str
    start: int
    end: int
    detector: str
    member: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "type": self.type,
            "start": self.start,
            "end": self.end,
            "detector": self.detector,
            "member": self.member,
        }


@dataclass(frozen=True, slots=True)
class GuardResult:
    """``action`` taken, the ``text`` to release (empty when blocked) and the ``findings``."""

    action: Action
    text: str
    findings: tuple[Finding, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "action": self.action,
            "text": self.text,
            "findings": [f.to_dict() for f in self.findings],
        }


class Guard:
    """Checks generated text for (member) personal data and redacts or blocks it.

    Build once (the directory's automaton is compiled on first use) and call :meth:`check` per
    generation; the object is safe to share between threads (it holds no per-call state).
    """

    def __init__(
        self,
        directory: MemberDirectory | None = None,
        *,
        scope: Scope = "any",
        detectors: Sequence[str] = GUARD_DETECTORS,
        threshold: float = 0.5,
    ) -> None:
        if scope not in SCOPES:
            raise TamisError(f"unknown guard scope {scope!r}; available: {', '.join(SCOPES)}")
        self.directory = directory
        self.scope = scope
        self.engine = PiiEngine(tuple(detectors), directory=directory, threshold=threshold)
        self._placeholder = Placeholder()

    def warm(self) -> None:
        """Compile the member directory's automaton now rather than on the first check."""
        if self.directory is not None:
            _ = self.directory.automaton

    def _keep(self, text: str, span: Span) -> Finding | None:
        member = False
        if span.type == PERSON:
            if span.detector != "person.members.v1" or span.score < FULL_NAME_SCORE:
                return None
            member = True
        elif span.type in (EMAIL, PHONE) and self.directory is not None:
            value = text[span.start : span.end]
            member = (
                self.directory.is_member_email(value)
                if span.type == EMAIL
                # the span runs over an extension ("... poste 4"): the number is before it
                else self.directory.is_member_phone(_EXTENSION.split(value, maxsplit=1)[0])
            )
            if span.type == EMAIL and not member:
                # an address made of a member's full name ("jeanne.martin+ia@...") is theirs
                local = value.split("@", 1)[0]
                member = any(m.kinds & FULL for m in self.directory.matches(local))
            if self.scope == "member" and not member:
                return None
        return Finding(span.type, span.start, span.end, span.detector, member)

    def check(self, text: str, mode: Mode = "redact") -> GuardResult:
        """Check one generation; see :meth:`check_many`."""
        return self.check_many([text], mode)[0]

    def check_many(self, texts: Sequence[str], mode: Mode = "redact") -> list[GuardResult]:
        """Check generations: ``allow`` when nothing is found, else ``redact`` or ``block``."""
        if mode not in MODES:
            raise TamisError(f"unknown guard mode {mode!r}; available: {', '.join(MODES)}")
        out: list[GuardResult] = []
        for text, spans in zip(texts, self.engine.analyze_many(texts), strict=True):
            kept: list[tuple[Span, Finding]] = []
            for span in spans:
                finding = self._keep(text, span)
                if finding is not None:
                    kept.append((span, finding))
            if not kept:
                out.append(GuardResult("allow", text, ()))
            elif mode == "block":
                out.append(GuardResult("block", "", tuple(f for _, f in kept)))
            else:
                redacted = apply(text, [s for s, _ in kept], self._placeholder)
                out.append(GuardResult("redact", redacted, tuple(f for _, f in kept)))
        return out
