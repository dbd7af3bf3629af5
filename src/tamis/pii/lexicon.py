"""Word lists for the name heuristics: function words, calendar words, titles, places.

Everything here is either a short hand-written list of everyday French and English words (the
capitalised words that start sentences and must not be read as names), or comes from packaged
data (Faker's person names, pycountry's countries and subdivisions), built once per process.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from functools import cache
from pathlib import Path

from tamis.pii.fold import fold_key

FUNCTION_WORDS = [
    "a",
    "à",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "au",
    "aux",
    "avec",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "ça",
    "car",
    "ce",
    "ceci",
    "cela",
    "celle",
    "celles",
    "celui",
    "ces",
    "cet",
    "cette",
    "ceux",
    "chaque",
    "chez",
    "ci",
    "comme",
    "comment",
    "d",
    "dans",
    "de",
    "des",
    "do",
    "does",
    "doing",
    "donc",
    "dont",
    "du",
    "during",
    "each",
    "elle",
    "elles",
    "en",
    "encore",
    "entre",
    "est",
    "et",
    "étaient",
    "était",
    "été",
    "être",
    "eu",
    "eux",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "him",
    "his",
    "how",
    "i",
    "if",
    "il",
    "ils",
    "in",
    "into",
    "is",
    "it",
    "its",
    "je",
    "l",
    "la",
    "là",
    "le",
    "les",
    "leur",
    "leurs",
    "lui",
    "ma",
    "mais",
    "me",
    "même",
    "mes",
    "moi",
    "mon",
    "more",
    "most",
    "my",
    "ne",
    "ni",
    "no",
    "non",
    "nor",
    "nos",
    "not",
    "notre",
    "nous",
    "now",
    "o",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "ou",
    "où",
    "our",
    "ours",
    "out",
    "over",
    "own",
    "par",
    "pas",
    "pour",
    "pourquoi",
    "qu",
    "quand",
    "que",
    "quel",
    "quelle",
    "quelles",
    "quels",
    "qui",
    "sa",
    "same",
    "sans",
    "se",
    "ses",
    "she",
    "should",
    "si",
    "son",
    "so",
    "some",
    "such",
    "sur",
    "ta",
    "te",
    "tes",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "toi",
    "ton",
    "too",
    "tous",
    "tout",
    "toute",
    "toutes",
    "très",
    "tu",
    "un",
    "une",
    "under",
    "until",
    "up",
    "us",
    "very",
    "vos",
    "votre",
    "vous",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "y",
    "you",
    "your",
    "yours",
    "hier",
    "today",
    "aujourd",
    "demain",
    "yesterday",
    "tomorrow",
    "tonight",
    "ce",
    "soir",
    "oui",
    "yes",
    "ok",
    "okay",
    "merci",
    "thanks",
    "thank",
    "please",
    "bonjour",
    "bonsoir",
    "hello",
    "hi",
    "hey",
    "salut",
    "dear",
    "cher",
    "chère",
    "chers",
    "bravo",
    "félicitations",
    "congrats",
    "congratulations",
    "welcome",
    "bienvenue",
    "voici",
    "voilà",
    "here's",
    "let's",
    "c'est",
    "new",
    "nouveau",
    "nouvelle",
    "great",
    "super",
    "top",
    "best",
    "good",
    "bien",
    "bon",
    "bonne",
    "happy",
    "heureux",
    "heureuse",
    "proud",
    "fier",
    "fière",
    "excited",
    "ravi",
    "ravie",
    "just",
    "juste",
    "first",
    "premier",
    "première",
    "last",
    "dernier",
    "dernière",
    "next",
    "prochain",
    "prochaine",
    "big",
    "grand",
    "grande",
    "little",
    "petit",
    "petite",
    "old",
    "vieux",
    "young",
    "jeune",
    "many",
    "much",
    "plus",
    "moins",
    "every",
    "rien",
    "nothing",
    "everything",
    "tout",
    "another",
    "autre",
    "other",
    "others",
    "note",
    "nb",
    "ps",
    "pss",
    "re",
    "fw",
    "fwd",
    "objet",
    "subject",
    "lol",
    "mdr",
    "omg",
    "wow",
    "ah",
    "oh",
    "eh",
    "hum",
    "bref",
    "enfin",
    "alors",
    "ensuite",
    "puis",
    "donc",
    "ainsi",
    "aussi",
    "pourtant",
    "cependant",
    "however",
    "therefore",
    "also",
    "still",
    "yet",
    "already",
    "déjà",
    "toujours",
    "jamais",
    "never",
    "always",
    "sometimes",
    "parfois",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "lundi",
    "mardi",
    "mercredi",
    "jeudi",
    "vendredi",
    "samedi",
    "dimanche",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
    "spring",
    "summer",
    "autumn",
    "fall",
    "winter",
    "printemps",
    "été",
    "automne",
    "hiver",
    "noël",
    "christmas",
    "easter",
    "pâques",
    "team",
    "équipe",
    "group",
    "groupe",
    "company",
    "société",
    "entreprise",
    "inc",
    "ltd",
    "llc",
    "sa",
    "sas",
    "sarl",
    "gmbh",
    "corp",
    "co",
    "plc",
    "university",
    "université",
    "école",
    "school",
    "college",
    "lycée",
    "institute",
    "institut",
    "bank",
    "banque",
    "ministry",
    "ministère",
    "department",
    "département",
    "service",
    "direction",
    "conseil",
    "council",
    "court",
    "cour",
    "tribunal",
    "government",
    "gouvernement",
    "state",
    "état",
    "city",
    "ville",
    "street",
    "rue",
    "avenue",
    "road",
    "boulevard",
    "place",
    "north",
    "south",
    "east",
    "west",
    "nord",
    "sud",
    "est",
    "ouest",
    "centre",
    "center",
    "central",
    "saint",
    "sainte",
    "st",
    "ceo",
    "cto",
    "cfo",
    "coo",
    "vp",
    "hr",
    "rh",
    "dg",
    "pdg",
    "drh",
    "it",
    "ai",
    "ia",
    "ml",
    "api",
    "ui",
    "ux",
    "seo",
    "pr",
    "rse",
    "esg",
    "kpi",
    "b2b",
    "b2c",
    "saas",
    "linkedin",
    "google",
    "microsoft",
    "apple",
    "amazon",
    "meta",
    "facebook",
    "twitter",
    "openai",
    "github",
    "python",
    "java",
    "javascript",
    "excel",
    "word",
    "powerpoint",
    "teams",
    "slack",
    "zoom",
    "covid",
    "europe",
    "european",
    "européen",
    "européenne",
    "french",
    "français",
    "française",
    "english",
    "anglais",
    "anglaise",
    "american",
    "américain",
    "article",
    "section",
    "chapter",
    "chapitre",
    "page",
    "figure",
    "table",
    "annexe",
    "appendix",
    "partie",
    "part",
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "mme",
    "mlle",
    "m",
    "mm",
    "me",
    "maître",
    "monsieur",
    "madame",
    "mademoiselle",
    "docteur",
    "professeur",
    "sir",
    "madam",
    "lady",
    "lord",
    "miss",
    "mister",
]

TITLES = (
    "M.", "MM.", "Mme", "Mmes", "Mlle", "Mlles", "Mr", "Mr.", "Mrs", "Mrs.", "Ms", "Ms.",
    "Dr", "Dr.", "Pr", "Pr.", "Prof", "Prof.", "Me", "Maître", "Madame", "Monsieur",
    "Mademoiselle", "Docteur", "Professeur", "Sir", "Lady", "Lord", "Miss", "Mister",
)  # fmt: skip

MAJOR_CITIES = [
    "Paris",
    "Marseille",
    "Lyon",
    "Toulouse",
    "Nice",
    "Nantes",
    "Strasbourg",
    "Montpellier",
    "Bordeaux",
    "Lille",
    "Rennes",
    "Reims",
    "Toulon",
    "Grenoble",
    "Dijon",
    "Angers",
    "Nîmes",
    "Villeurbanne",
    "Clermont-Ferrand",
    "Aix-en-Provence",
    "Brest",
    "Tours",
    "Amiens",
    "Limoges",
    "Annecy",
    "Perpignan",
    "Metz",
    "Besançon",
    "Orléans",
    "Rouen",
    "Mulhouse",
    "Caen",
    "Nancy",
    "Avignon",
    "Poitiers",
    "La",
    "Rochelle",
    "Bruxelles",
    "Brussels",
    "Genève",
    "Geneva",
    "Lausanne",
    "Zurich",
    "Montréal",
    "Montreal",
    "Québec",
    "Quebec",
    "London",
    "Manchester",
    "Birmingham",
    "Liverpool",
    "Leeds",
    "Glasgow",
    "Edinburgh",
    "Dublin",
    "New",
    "York",
    "Los",
    "Angeles",
    "Chicago",
    "Houston",
    "Boston",
    "Seattle",
    "Austin",
    "Denver",
    "Atlanta",
    "Miami",
    "San",
    "Francisco",
    "Washington",
    "Toronto",
    "Vancouver",
    "Sydney",
    "Melbourne",
    "Berlin",
    "Munich",
    "Hamburg",
    "Frankfurt",
    "Madrid",
    "Barcelona",
    "Rome",
    "Milan",
    "Lisbon",
    "Amsterdam",
    "Rotterdam",
    "Vienna",
    "Prague",
    "Warsaw",
    "Stockholm",
    "Oslo",
    "Copenhagen",
    "Helsinki",
    "Tokyo",
    "Beijing",
    "Shanghai",
    "Singapore",
    "Dubai",
    "Mumbai",
    "Delhi",
    "Bangalore",
    "Strasbourg",
    "Luxembourg",
    "Monaco",
    "Casablanca",
    "Tunis",
    "Alger",
    "Dakar",
    "Abidjan",
    "Silicon",
    "Valley",
    "Europe",
    "Afrique",
    "Africa",
    "Asie",
    "Asia",
    "Amérique",
    "America",
]


@cache
def stop_words() -> frozenset[str]:
    """Folded everyday words that are not names even when capitalised."""
    return frozenset(fold_key(w) for w in FUNCTION_WORDS)


@cache
def major_places() -> frozenset[str]:
    """Folded names of countries and major cities."""
    out = {fold_key(c) for c in MAJOR_CITIES}
    try:
        import pycountry

        for country in pycountry.countries:
            for attr in ("name", "common_name", "official_name"):
                value = getattr(country, attr, None)
                if value:
                    out.add(fold_key(value))
    except ImportError:  # pragma: no cover - pycountry is a core dependency
        pass
    return frozenset(out)


@cache
def places() -> frozenset[str]:
    """Folded names of countries, major cities and French/English-speaking subdivisions."""
    out = set(major_places())
    try:
        import pycountry

        for sub in pycountry.subdivisions:
            if sub.country_code in ("FR", "US", "GB", "BE", "CH", "CA"):
                out.add(fold_key(sub.name))
    except ImportError:  # pragma: no cover - pycountry is a core dependency
        pass
    return frozenset(out)


CORE_LOCALES = ("fr", "en")


def _names(value: object) -> list[str]:
    if isinstance(value, dict):
        return [str(k) for k in value]
    if isinstance(value, list | tuple | set | frozenset):
        return [str(v) for v in value]
    return []


@cache
def person_names() -> tuple[dict[str, int], dict[str, int]]:
    """First and last names from Faker's Latin-script locales, folded, with a tier each.

    Tier 2: a French or English locale has the name; tier 1: only other locales do. Everyday
    words and places are removed, so the gazetteer never turns "Paris" or "Will" into a person.
    """
    import faker.providers.person as person_pkg

    first: dict[str, int] = {}
    last: dict[str, int] = {}
    blocked_first = stop_words() | major_places()
    blocked_last = stop_words() | places()
    for info in sorted(pkgutil.iter_modules(person_pkg.__path__), key=lambda m: m.name):
        try:
            module = importlib.import_module(f"faker.providers.person.{info.name}")
        except ImportError:  # pragma: no cover
            continue
        provider = getattr(module, "Provider", None)
        if provider is None:
            continue
        attrs = provider.__dict__
        firsts = (
            _names(attrs.get("first_names"))
            + _names(attrs.get("first_names_male"))
            + _names(attrs.get("first_names_female"))
        )
        lasts = _names(attrs.get("last_names"))
        sample = "".join(firsts[:50])
        if not firsts or any(ord(c) >= 0x250 for c in sample):
            continue  # non-Latin scripts
        tier = 2 if info.name.split("_")[0] in CORE_LOCALES else 1
        for target, names, blocked in ((first, firsts, blocked_first), (last, lasts, blocked_last)):
            for name in names:
                key = fold_key(name)
                if len(key) < 2 or key in blocked:
                    continue
                if target.get(key, 0) < tier:
                    target[key] = tier
    return first, last


STREET_LOCALES = (
    "en_US", "en_GB", "en_AU", "en_CA", "fr_FR", "fr_CH", "it_IT", "es_ES", "pt_BR", "pt_PT",
)  # fmt: skip

ORG_WORDS = (
    "Inc", "Corp", "Corporation", "Company", "Co", "Ltd", "LLC", "LLP", "PLC", "GmbH", "SARL",
    "SAS", "Group", "Groupe", "Holding", "Holdings", "Partners", "Associates", "Capital",
    "Ventures", "Industries", "Solutions", "Systems", "Technologies", "Technology", "Labs",
    "Software", "Services", "Consulting", "Research", "Institute", "Institut", "University",
    "Université", "College", "School", "École", "Academy", "Académie", "Foundation",
    "Fondation", "Hospital", "Hôpital", "Clinic", "Clinique", "Orchestra", "Band", "Records",
    "Studios", "Studio", "Media", "News", "Press", "Times", "Journal", "Magazine", "Agency",
    "Agence", "Bank", "Banque", "Ministry", "Ministère", "Department", "Council", "Conseil",
    "Court", "Cour", "Tribunal", "Committee", "Comité", "Commission", "Association", "Club",
    "Union", "Party", "Parti", "Church", "Église", "Movers", "Lines", "Airlines", "Airways",
    "Motors", "Hotel", "Hôtel", "Restaurant", "Museum", "Musée", "Library", "Bibliothèque",
    "Center", "Centre", "Stadium", "Stade", "Airport", "Aéroport", "Act", "Regulation",
    "Regulations", "Scheme", "Protocol", "Protocole", "Convention", "Treaty", "Traité",
    "Certificate", "Certificates", "Award", "Awards", "Prize", "Prix", "Cup", "Coupe", "League",
    "Ligue", "Festival", "Summit", "Conference", "Conférence", "Show", "Series", "Movie",
    "Album", "Project", "Projet", "Program", "Programme", "Network", "Réseau", "Store", "Shop",
    "Market", "Marché", "Team", "Équipe", "Service", "Office", "Bureau", "Police", "Army",
    "Armée", "Navy", "Government", "Gouvernement", "State", "République", "Republic",
    "Kingdom", "Royaume", "Empire", "Federation", "Fédération", "Society", "Société",
    "Organisation", "Organization", "Agreement", "Accord", "Code", "Law", "Loi", "Day", "Week",
    "Games", "Data", "Cloud", "Online", "Digital", "Global", "International", "National",
)  # fmt: skip


def _spacy_stop_words(lang: str) -> frozenset[str]:
    """spaCy's stop words for ``lang``, read from its ``lang/<lang>/stop_words.py`` alone.

    ``import spacy.lang.en.stop_words`` runs ``spacy/__init__`` first, which imports thinc and
    torch: seconds of CPU in every process that only wants a word list (fast mode and each of the
    build's stage workers). The file has no imports of its own; it is run by itself here."""
    spec = importlib.util.find_spec("spacy")  # locates the package without running it
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - pii extra
        return frozenset()
    path = Path(next(iter(spec.submodule_search_locations))) / "lang" / lang / "stop_words.py"
    module_spec = importlib.util.spec_from_file_location(f"_tamis_spacy_stop_{lang}", path)
    if module_spec is None or module_spec.loader is None or not path.is_file():
        return frozenset()  # pragma: no cover - another spaCy layout
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return frozenset(getattr(module, "STOP_WORDS", ()))


@cache
def common_words() -> frozenset[str]:
    """Folded everyday French and English words (Faker's lorem lists, spaCy's stop words and
    the function words here): a gazetteer name that is also one of these ("Rose", "Will",
    "Can") is ambiguous and needs more evidence than a name that is only a name."""
    out = set(stop_words())
    try:
        from faker.providers.lorem.en_US import Provider as EnLorem
        from faker.providers.lorem.fr_FR import Provider as FrLorem

        out.update(fold_key(w) for w in (*EnLorem.word_list, *FrLorem.word_list))
    except ImportError:  # pragma: no cover - faker is a core dependency
        pass
    for lang in ("en", "fr"):
        out.update(fold_key(w) for w in _spacy_stop_words(lang))
    out.discard("")
    return frozenset(out)


VOCABULARY_LANGS = ("en", "fr")
VOCABULARY_ZIPF = 4.0
"""A word is everyday vocabulary from this Zipf frequency on (``wordfreq``'s scale: 4.0 is once
per 100,000 words, about the 7,000 most frequent words of English, and of French)."""


@cache
def vocabulary(min_zipf: float = VOCABULARY_ZIPF) -> frozenset[str]:
    """Folded frequent French and English words, from ``wordfreq``'s packaged lists (the ``pii``
    extra); empty when ``wordfreq`` is not installed.

    The lists count words case-folded, so famous people's names are in them too ("obama",
    "london" and "john" are as frequent as many nouns): a capitalised word found here is only
    known *not* to be a rare word, which is what the heuristic needs before it reads an unknown
    capitalised word as a name ("Slides", "Quarterly" are frequent; "Yefremova" is not)."""
    try:
        import wordfreq
    except ImportError:
        return frozenset()
    out: set[str] = set()
    # the lists hold words in buckets of one centibel: bucket i has frequency 10 ** (-i / 100),
    # that is a Zipf frequency of 9 - i / 100
    last_bucket = round(100 * (9 - min_zipf))
    for lang in VOCABULARY_LANGS:
        for bucket in wordfreq.get_frequency_list(lang)[: last_bucket + 1]:
            for word in bucket:
                key = fold_key(word)
                if key and " " not in key:
                    out.add(key)
    return frozenset(out)


@cache
def street_words(kind: str = "suffixes") -> frozenset[str]:
    """Folded street types of French, English, Italian, Spanish and Portuguese addresses, from
    Faker's packaged lists: ``suffixes`` end a street name ("Baker Street", "Eriksson Bridge"),
    ``prefixes`` start one ("Via Roma", "Rua Nova", "rue de la Paix")."""
    out: set[str] = set()
    for locale in STREET_LOCALES:
        try:
            module = importlib.import_module(f"faker.providers.address.{locale}")
        except ImportError:  # pragma: no cover
            continue
        attrs = module.Provider.__dict__
        for name in (f"street_{kind}",):
            for word in _names(attrs.get(name)):
                key = fold_key(word)
                if key and " " not in key and len(key) > 2:
                    out.add(key)
    return frozenset(out)


@cache
def org_words() -> frozenset[str]:
    """Folded words that head or end organisation, event and law names ("Inc", "Research",
    "Orchestra", "Act"), with Faker's company suffixes."""
    out = {fold_key(w) for w in ORG_WORDS}
    try:
        import faker.providers.company as company_pkg

        for info in pkgutil.iter_modules(company_pkg.__path__):
            if info.name.split("_")[0] not in ("en", "fr", "de", "it", "es", "nl", "pt"):
                continue
            module = importlib.import_module(f"faker.providers.company.{info.name}")
            for word in _names(module.Provider.__dict__.get("company_suffixes")):
                key = fold_key(word)
                if key and " " not in key and len(key) > 1:
                    out.add(key)
    except ImportError:  # pragma: no cover
        pass
    return frozenset(out)
