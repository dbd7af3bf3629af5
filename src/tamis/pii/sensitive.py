# ruff: noqa: E501  (word lists and patterns are data)
"""Special categories of personal data (GDPR Art. 9) in French and English text.

:class:`SensitiveClassifier` tells whether a record speaks of someone's health, religion,
political opinions, sexual orientation, trade-union membership or ethnic origin, so that a policy
can exclude it (reason code ``sensitive``). It is a lexicon classifier with context, built to be
cheap (one compiled regex per category, a combined pre-check first) and explainable (it says
which category and which cue):

- *strong* terms are enough alone ("syndiqué", "trade union", "chimiothérapie", "coming out",
  "j'ai voté pour", "mosquée");
- *weak* terms ("santé", "church", "parti", "union", "gay") count only with a first-person or
  disclosure cue in the same sentence ("je suis", "I am", "my", "diagnosed", "atteint de") or with
  a second weak term of the same category.

The lists favour recall on disclosures about people over topic detection: "la santé de
l'entreprise", "the European Union", "Church Street" and "un parti pris" are not sensitive.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

HEALTH = "health"
RELIGION = "religion"
POLITICS = "political_opinion"
SEXUAL_ORIENTATION = "sexual_orientation"
TRADE_UNION = "trade_union"
ETHNIC_ORIGIN = "ethnic_origin"
CATEGORIES = (HEALTH, RELIGION, POLITICS, SEXUAL_ORIENTATION, TRADE_UNION, ETHNIC_ORIGIN)

_STRONG: dict[str, tuple[str, ...]] = {
    TRADE_UNION: (
        r"syndiqu[ée]e?s?", r"syndicalistes?", r"d[ée]l[ée]gu[ée]e?s? syndica(?:l|le|ux|les)",
        r"section syndicale", r"adh[ée]rent(?:e|s|es)? (?:de|à) la (?:cgt|cfdt|fo|cfe-cgc|cftc|unsa|sud)",
        r"cgt", r"cfdt", r"force ouvri[èe]re", r"cfe-cgc", r"cftc", r"unsa", r"sud[- ]rail",
        r"trade[- ]unions?", r"labou?r unions?", r"union (?:member(?:ship)?|dues|rep(?:resentative)?|steward)",
        r"shop steward", r"unioni[sz]ed", r"unionists?", r"afl-cio", r"teamsters", r"collective bargaining",
        r"gr[ée]vistes?", r"picket line",
    ),
    HEALTH: (
        r"chimioth[ée]rapie", r"chemotherapy", r"radioth[ée]rapie", r"radiotherapy", r"cancers?",
        r"tumeurs?", r"tumou?rs?", r"leuc[ée]mie", r"leuka?emia", r"diab[èe]te", r"diabet(?:es|ic)",
        r"s[ée]ropositi(?:f|ve)", r"vih", r"hiv", r"sida", r"d[ée]pression", r"burn[- ]?out",
        r"bipolaires?", r"bipolar", r"schizophr[èe]n(?:ie|e)", r"schizophreni[ac]", r"autis(?:me|m|tic|te)",
        r"tdah", r"adhd", r"scl[ée]rose", r"sclerosis", r"alzheimer", r"parkinson", r"[ée]pilep(?:sie|sy|tic|tique)",
        r"handicap[ée]e?s?", r"disabilit(?:y|ies)", r"disabled", r"fausse couche", r"miscarriage",
        r"avortement", r"abortion", r"ivg", r"ivf", r"pregnan(?:t|cy)",
        r"arr[êe]t maladie", r"sick leave", r"hospitali[sz](?:[ée]e?|ed|ation)",
        r"antid[ée]presseurs?", r"antidepressants?", r"psychiatr(?:e|ist|ie|y|ique|ic)",
        r"covid long", r"long covid", r"anorexi[ae]", r"boulimi[ae]",
        r"bulimia", r"alcoolique", r"alcoholic", r"cure de d[ée]sintox",
        r"maladie (?:chronique|de crohn|rare)", r"chronic (?:illness|disease|pain)", r"crohn",
    ),
    RELIGION: (
        r"musulman(?:e|s|es)?", r"muslims?", r"chr[ée]tien(?:ne|s|nes)?", r"christians?",
        r"catholiques?", r"catholics?", r"protestant(?:e|s|es)?", r"[ée]vang[ée]liques?", r"evangelicals?",
        r"juif|juive|juifs|juives", r"jewish", r"jews?", r"bouddhistes?", r"buddhists?", r"hindous?",
        r"hindus?", r"ath[ée]es?", r"atheists?", r"agnostiques?", r"agnostics?", r"mosqu[ée]es?",
        r"mosques?", r"synagogues?", r"ramadan", r"car[êe]me", r"shabbat", r"sabbath",
        r"kippour", r"yom kippur", r"a[iï]d el[- ]?(?:fitr|kebir|adha)", r"eid", r"hijab", r"voile islamique",
        r"kippa", r"halal", r"casher", r"kosher", r"bapt[êe]me", r"baptism", r"bar[- ]mitzva",
        r"premi[èe]re communion", r"je prie", r"i pray", r"my faith", r"ma foi", r"born again",
        r"pasteur", r"imam", r"rabbin", r"rabbi",
    ),
    POLITICS: (
        r"j'ai vot[ée]", r"je vote", r"i voted", r"i(?:'ll| will)? vote for", r"voter pour",
        r"militant(?:e|s|es)? (?:au|à|du|de)", r"adh[ée]rent(?:e)? (?:au|du) parti", r"party member",
        r"encart[ée]e?", r"rassemblement national", r"front national", r"france insoumise", r"lfi",
        r"parti socialiste", r"les r[ée]publicains", r"europe [ée]cologie", r"eelv",
        r"parti communiste", r"reconqu[êe]te", r"nupes", r"macronistes?", r"lepenistes?",
        r"m[ée]lenchonistes?", r"gaullistes?", r"communistes?", r"communists?", r"anarchistes?",
        r"anarchists?", r"socialistes?", r"[ée]cologistes?",
        r"libertarians?", r"democrats?", r"republicans?", r"gop", r"labour party", r"tories",
        r"tory", r"maga", r"trumpistes?", r"extr[êe]me (?:droite|gauche)", r"far[- ](?:right|left)",
        r"left[- ]wing", r"right[- ]wing", r"de gauche", r"de droite",
    ),
    SEXUAL_ORIENTATION: (
        r"gays?", r"lesbiennes?", r"lesbians?", r"homosexuel(?:le|s|les)?", r"homosexuals?",
        r"homosexualit[ée]", r"homosexuality", r"bisexuel(?:le|s|les)?", r"bisexuals?", r"bi(?:e)? et fi[èe]re?",
        r"pansexuel(?:le)?", r"pansexual", r"asexuel(?:le)?", r"asexual", r"queer", r"lgbt\w*",
        r"coming[- ]out", r"same[- ]sex", r"m[êe]me sexe", r"gay pride", r"pride month",
        r"marche des fiert[ée]s",
        r"transgenres?", r"transgender", r"non[- ]binaires?", r"non[- ]binary",
    ),
    ETHNIC_ORIGIN: (
        r"origine ethnique", r"ethnic (?:origin|background|minority)", r"ethnicit[ée]", r"ethnicity",
        r"d'origine (?:maghr[ée]bine|africaine|alg[ée]rienne|marocaine|tunisienne|s[ée]n[ée]galaise|"
        r"asiatique|chinoise|vietnamienne|turque|arabe|juive|rom|antillaise|malienne|ivoirienne|"
        r"camerounaise|congolaise|ha[iï]tienne|portugaise|italienne|polonaise|arm[ée]nienne|kabyle|berb[èe]re)",
        r"maghr[ée]bins?", r"beurs?", r"noirs? de peau", r"black (?:woman|man|women|men|community)",
        r"african[- ]american", r"latin[oa]s?", r"hispanics?", r"tziganes?", r"gitans?",
        r"racis[ée]e?s?", r"people of colou?r", r"bame", r"minorit[ée]s? visibles?",
        r"issu(?:e)? de l'immigration", r"second-generation immigrant", r"m[ée]tis(?:se)?",
        r"mixed[- ]race", r"biracial",
    ),
}  # fmt: skip

_WEAK: dict[str, tuple[str, ...]] = {
    TRADE_UNION: (r"syndicats?", r"unions?", r"gr[èe]ves?", r"on strike", r"cse", r"comit[ée] d'entreprise", r"mobilisation",
                  r"manif(?:estation)?s?", r"strike"),
    HEALTH: (r"sant[ée]", r"health", r"maladie", r"malade", r"illness", r"sick", r"m[ée]decin",
             r"doctor", r"h[ôo]pital", r"hospital", r"traitement", r"treatment", r"op[ée]ration",
             r"surgery", r"chirurgie", r"symptômes?", r"symptoms?", r"douleurs?", r"pain",
             r"mental", r"anxi[ée]t[ée]", r"anxiety", r"infirmi[èe]re", r"th[ée]rapie", r"therapy",
             r"m[ée]dicaments?", r"addiction", r"rehab", r"diagnostiqu[ée]e?", r"diagnosed",
             r"enceinte", r"handicap", r"fiv"),
    RELIGION: (r"[ée]glise", r"church", r"foi", r"faith", r"dieu", r"god", r"pri[èe]re",
               r"prayer", r"messe", r"mass", r"bible", r"coran", r"quran", r"torah", r"religion",
               r"religieu(?:x|se)", r"religious", r"croyant(?:e)?", r"believer"),
    POLITICS: (r"parti", r"party", r"[ée]lections?", r"vote", r"voted", r"candidat(?:e)?",
               r"candidate", r"gauche", r"droite", r"left", r"right", r"militant(?:e)?",
               r"activist", r"manif(?:estation)?", r"protest", r"politique", r"political",
               r"renaissance", r"conservat(?:eur|rice|ive)s?"),
    SEXUAL_ORIENTATION: (r"orientation", r"sexualit[ée]", r"sexuality", r"partenaire",
                         r"partner", r"copain", r"boyfriend", r"girlfriend", r"copine", r"pride",
                         r"fiert[ée]"),
    ETHNIC_ORIGIN: (r"origines?", r"origin", r"immigr[ée]e?s?", r"immigrants?", r"race",
                    r"racial", r"diaspora", r"communaut[ée]", r"community", r"roms?"),
}  # fmt: skip

_DISCLOSURE = (
    r"je suis", r"j'ai", r"j'[ée]tais", r"je me", r"mon", r"ma", r"mes", r"nous sommes",
    r"notre", r"nos", r"i am", r"i'm", r"i was", r"i have", r"i've", r"my", r"we are",
    r"our", r"il est", r"elle est", r"he is", r"she is", r"his", r"her",
    r"atteinte?", r"souffre", r"suffers?", r"suffering", r"diagnosed", r"member of", r"membre",
    r"adh[ée]rent(?:e)?", r"pratiquant(?:e)?", r"practising", r"practicing", r"joined", r"rejoint",
)  # fmt: skip

# Phrases that use a weak or strong term in an everyday, non-sensitive sense.
_NEUTRAL = (
    r"union europ[ée]enne", r"european union", r"union (?:of|de|des|du) (?:two|deux|sets?|ensembles?)",
    r"credit union", r"union station", r"union square", r"soviet union", r"union sovi[ée]tique",
    r"sant[ée] (?:de l'entreprise|financi[èe]re|du march[ée]|[ée]conomique)",
    r"(?:financial|economic|market|business|company|project|code|system) health", r"health ?check",
    r"health (?:insurance|care) (?:industry|sector|market)", r"church street", r"rue de l'[ée]glise",
    r"parti pris", r"party (?:time|tonight|planning)", r"birthday party", r"third[- ]party",
    r"tierce partie", r"left (?:the|a|my|our|early|behind)", r"right (?:now|away|here|there)",
    r"droite? (?:et|ou) (?:à )?gauche", r"[àa] (?:gauche|droite)", r"on the (?:left|right)",
    r"god(?:dess)? of", r"oh my god", r"mon dieu", r"tumeur? (?:de|du) (?:march[ée])",
    r"pride and prejudice", r"pride month marketing", r"mass (?:market|production|media)",
    r"critical mass", r"boost(?:er)? (?:de|your|my) (?:sant[ée]|health)", r"mental model",
    r"cancer (?:du|de la) (?:projet|d[ée]mocratie)", r"d[ée]pression (?:[ée]conomique|tropicale)",
    r"(?:great|economic|tropical) depression", r"take pride", r"pride (?:in|of)", r"fiert[ée] (?:de|d')",
)  # fmt: skip


def _alt(words: Sequence[str]) -> str:
    return r"(?i)(?<![\w-])(?:" + "|".join(words) + r")(?![\w-])"


@dataclass(frozen=True)
class SensitiveFinding:
    """One category found in a text, with the cue that decided it (as offsets)."""

    category: str
    start: int
    end: int
    strength: str  # "strong" or "weak+context"


class SensitiveClassifier:
    """Finds GDPR Art. 9 categories in text (French and English); see the module docstring."""

    def __init__(self) -> None:
        self._strong = {c: re.compile(_alt(w)) for c, w in _STRONG.items()}
        self._weak = {c: re.compile(_alt(w)) for c, w in _WEAK.items()}
        every = [w for ws in _STRONG.values() for w in ws] + [
            w for ws in _WEAK.values() for w in ws
        ]
        self._any = re.compile(_alt(every))
        self._neutral = re.compile(_alt(_NEUTRAL))
        self._disclosure = re.compile(_alt(_DISCLOSURE))
        self._sentence = re.compile(r"[^.!?\n]+")

    def __getstate__(self) -> dict[str, object]:
        return {}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__()  # type: ignore[misc]

    def findings(self, text: str | None) -> list[SensitiveFinding]:
        """What made each category fire (at most one finding per category), in category order."""
        if not text or not self._any.search(text):
            return []
        neutral = [m.span() for m in self._neutral.finditer(text)]

        def is_neutral(a: int, b: int) -> bool:
            return any(s <= a and b <= e for s, e in neutral)

        out: list[SensitiveFinding] = []
        for cat in CATEGORIES:
            found: SensitiveFinding | None = None
            for m in self._strong[cat].finditer(text):
                if not is_neutral(*m.span()):
                    found = SensitiveFinding(cat, m.start(), m.end(), "strong")
                    break
            if found is None:
                for sentence in self._sentence.finditer(text):
                    a, b = sentence.span()
                    weak = [
                        w for w in self._weak[cat].finditer(text, a, b) if not is_neutral(*w.span())
                    ]
                    if not weak:
                        continue
                    distinct = {w.group().lower() for w in weak}
                    if len(distinct) >= 2 or self._disclosure.search(text, a, b):
                        found = SensitiveFinding(
                            cat, weak[0].start(), weak[0].end(), "weak+context"
                        )
                        break
            if found is not None:
                out.append(found)
        return out

    def classify(self, text: str | None) -> list[str]:
        """The categories found in ``text`` (empty = not sensitive)."""
        return [f.category for f in self.findings(text)]

    def classify_many(self, texts: Sequence[str | None]) -> list[list[str]]:
        return [self.classify(t) for t in texts]
