"""The synthetic platform's world: countries, locales, regions and vocabularies.

Pure data (no Faker calls here). Region starts mirror the main policy the synthetic data is meant
to exercise: EU/EEA, CH, GB, CA and HK start 2025-11-03T00:00:00Z, the rest of the world starts
2024-09-18T00:00:00Z; a null country or an unknown code has no region.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split("|"))


MAIN_START = datetime(2025, 11, 3, tzinfo=UTC)
OTHER_START = datetime(2024, 9, 18, tzinfo=UTC)
CONSENT_CUTOFF = datetime(2026, 1, 1, tzinfo=UTC)
"""The cutoff the consent ground truth is computed for (``expected`` in consent_edge_cases)."""

EEA = _split(
    "AT|BE|BG|HR|CY|CZ|DK|EE|FI|FR|DE|GR|HU|IE|IT|LV|LT|LU|MT|NL|PL|PT|RO|SK|SI|ES|SE|IS|LI|NO"
)
MAIN_REGION = frozenset([*EEA, "CH", "GB", "CA", "HK"])
INVALID_COUNTRY_CODES = ("XX", "ZZ")


def region_start(country: str | None) -> datetime | None:
    """The start instant of the region a country belongs to, None for no region."""
    if country is None or country in INVALID_COUNTRY_CODES:
        return None
    return MAIN_START if country in MAIN_REGION else OTHER_START


@dataclass(frozen=True)
class LocaleSpec:
    """Where a locale's names, places and jobs come from, and the language its people write in.

    ``names``/``places``/``work`` are Faker locales (``None`` = the custom lists only).
    """

    key: str
    names: str | None
    places: str | None
    work: str
    lang: str
    first_male: tuple[str, ...] = ()
    first_female: tuple[str, ...] = ()
    last: tuple[str, ...] = ()
    cities: tuple[str, ...] = ()
    streets: tuple[str, ...] = ()


_MAGHREB_MALE = _split(
    "Mohamed|Youssef|Ahmed|Omar|Karim|Mehdi|Hamza|Rachid|Saïd|Anas|Ayoub|Amine|Khalid|"
    "Hicham|Nabil|Abdelkader|Abdellah|Mustapha|Driss|Ilyas|Yassine|Othmane|Badr|Walid|"
    "Soufiane"
)
_MAGHREB_FEMALE = _split(
    "Fatima|Khadija|Salma|Imane|Sara|Meryem|Nadia|Aïcha|Zineb|Houda|Samira|Leïla|Yasmine|"
    "Soukaina|Hajar|Asmae|Fatima-Zahra|Loubna|Ikram|Nour|Kenza|Ghita|Rim|Amal|Hind"
)
_MAGHREB_LAST = _split(
    "El Amrani|Benali|Alaoui|Bennani|Tazi|El Idrissi|Berrada|Chraïbi|El Fassi|Lahlou|"
    "Ouazzani|El Mansouri|Benjelloun|Kettani|Naciri|Bouzid|Haddad|Aït Ouahmane|Belkadi|"
    "Ben Salah|Trabelsi|Gharbi|Jaziri|Mejri|Ben Ammar|Chaouch|Hammami|Zouari|Benkirane|"
    "El Ouafi"
)
_WEST_AFRICA_MALE = _split(
    "Mamadou|Moussa|Ousmane|Abdoulaye|Cheikh|Ibrahima|Modou|Babacar|Aliou|Souleymane|"
    "Serigne|Pape|Lamine|Kouassi|Yao|Koffi|Adama|Seydou|Boubacar|Idrissa"
)
_WEST_AFRICA_FEMALE = _split(
    "Aminata|Fatou|Awa|Mariama|Khady|Ndèye|Aïssatou|Coumba|Rokhaya|Astou|Bineta|Adjoua|"
    "Aya|Mariam|Nafissatou|Oumou|Safiatou|Dieynaba"
)
_WEST_AFRICA_LAST = _split(
    "Diop|Ndiaye|Fall|Sow|Ba|Diallo|Sy|Gueye|Faye|Mbaye|Cissé|Thiam|Diouf|Sarr|Kane|"
    "N'Diaye|Ndour|Konaté|Traoré|Coulibaly|Koné|Ouattara|Kouadio|Bamba|Touré|Sané|Camara"
)
_HK_MALE = _split(
    "Ka Ming|Chi Wai|Wing Kit|Ho Yin|Kwok Leung|Tsz Hin|Jason|Kelvin|Ivan|Alvin|Raymond|"
    "Eric|Kenneth|Wai Lun|Chun Kit"
)
_HK_FEMALE = _split(
    "Mei Ling|Wing Yan|Hoi Yan|Sze Wing|Ka Yee|Cherry|Vivian|Karen|Winnie|Jennifer|Fiona|"
    "Man Yee|Pui Shan|Ching Yi"
)
_HK_LAST = _split(
    "Chan|Wong|Lee|Cheung|Lau|Ng|Leung|Ho|Lam|Tang|Yip|Chow|Tsang|Fung|Kwok|Yeung|Mak|Lo|Chu|Tse"
)

LOCALES: dict[str, LocaleSpec] = {
    spec.key: spec
    for spec in (
        LocaleSpec("fr_FR", "fr_FR", "fr_FR", "fr_FR", "fr"),
        LocaleSpec("fr_BE", "fr_BE", "nl_BE", "fr_FR", "fr"),
        LocaleSpec("nl_BE", "nl_BE", "nl_BE", "nl_NL", "nl"),
        LocaleSpec("fr_CH", "fr_CH", "fr_CH", "fr_FR", "fr"),
        LocaleSpec("de_CH", "de_CH", "de_CH", "de_DE", "de"),
        LocaleSpec("de_DE", "de_DE", "de_DE", "de_DE", "de"),
        LocaleSpec("de_AT", "de_AT", "de_AT", "de_DE", "de"),
        LocaleSpec("es_ES", "es_ES", "es_ES", "es_ES", "es"),
        LocaleSpec("es_MX", "es_MX", "es_MX", "es_ES", "es"),
        LocaleSpec("it_IT", "it_IT", "it_IT", "it_IT", "it"),
        LocaleSpec("nl_NL", "nl_NL", "nl_NL", "nl_NL", "nl"),
        LocaleSpec("pt_PT", "pt_PT", "pt_PT", "pt_PT", "pt"),
        LocaleSpec("pt_BR", "pt_BR", "pt_BR", "pt_BR", "pt"),
        LocaleSpec("pl_PL", "pl_PL", "pl_PL", "pl_PL", "pl"),
        LocaleSpec("sv_SE", "sv_SE", "sv_SE", "sv_SE", "sv"),
        LocaleSpec("da_DK", "da_DK", "da_DK", "da_DK", "da"),
        LocaleSpec("fi_FI", "fi_FI", "fi_FI", "fi_FI", "fi"),
        LocaleSpec("no_NO", "no_NO", "no_NO", "en_GB", "no"),
        LocaleSpec("cs_CZ", "cs_CZ", "cs_CZ", "cs_CZ", "cs"),
        LocaleSpec("ro_RO", "ro_RO", "ro_RO", "ro_RO", "ro"),
        LocaleSpec("el_GR", "el_GR", "el_GR", "el_GR", "el"),
        LocaleSpec("hu_HU", "hu_HU", "hu_HU", "hu_HU", "hu"),
        LocaleSpec("en_GB", "en_GB", "en_GB", "en_GB", "en"),
        LocaleSpec("en_IE", "en_IE", "en_IE", "en_GB", "en"),
        LocaleSpec("en_US", "en_US", "en_US", "en_US", "en"),
        LocaleSpec("en_CA", "en_CA", "en_CA", "en_US", "en"),
        LocaleSpec("fr_CA", "fr_CA", "fr_CA", "fr_FR", "fr"),
        LocaleSpec("en_IN", "en_IN", "en_IN", "en_IN", "en"),
        LocaleSpec("en_AU", "en_AU", "en_AU", "en_US", "en"),
        LocaleSpec(
            "ja_JP",
            "ja_JP",
            None,
            "en_US",
            "en",
            cities=("Tokyo", "Osaka", "Yokohama", "Nagoya", "Sapporo", "Fukuoka", "Kobe", "Kyoto"),
            streets=("Shibuya", "Shinjuku", "Minato", "Chiyoda", "Umeda", "Naka", "Chuo"),
        ),
        LocaleSpec(
            "ar_MA",
            None,
            None,
            "fr_FR",
            "fr",
            _MAGHREB_MALE,
            _MAGHREB_FEMALE,
            _MAGHREB_LAST,
            ("Casablanca", "Rabat", "Marrakech", "Fès", "Tanger", "Agadir", "Meknès", "Oujda"),
            (
                "Boulevard Mohammed V",
                "Avenue Hassan II",
                "Rue Ibn Batouta",
                "Boulevard Zerktouni",
                "Rue Allal Ben Abdellah",
                "Avenue des FAR",
            ),
        ),
        LocaleSpec(
            "ar_TN",
            None,
            None,
            "fr_FR",
            "fr",
            _MAGHREB_MALE,
            _MAGHREB_FEMALE,
            _MAGHREB_LAST,
            ("Tunis", "Sfax", "Sousse", "Bizerte", "Nabeul", "Monastir", "La Marsa"),
            ("Avenue Habib Bourguiba", "Rue de Marseille", "Avenue de la Liberté", "Rue d'Alger"),
        ),
        LocaleSpec(
            "fr_SN",
            None,
            None,
            "fr_FR",
            "fr",
            _WEST_AFRICA_MALE,
            _WEST_AFRICA_FEMALE,
            _WEST_AFRICA_LAST,
            ("Dakar", "Thiès", "Saint-Louis", "Ziguinchor", "Kaolack", "Mbour", "Rufisque"),
            (
                "Avenue Cheikh Anta Diop",
                "Rue Carnot",
                "Boulevard de la République",
                "Route de Ouakam",
                "Avenue Blaise Diagne",
            ),
        ),
        LocaleSpec(
            "fr_CI",
            None,
            None,
            "fr_FR",
            "fr",
            _WEST_AFRICA_MALE,
            _WEST_AFRICA_FEMALE,
            _WEST_AFRICA_LAST,
            ("Abidjan", "Bouaké", "Yamoussoukro", "San-Pédro", "Daloa", "Korhogo"),
            ("Boulevard Latrille", "Rue des Jardins", "Boulevard VGE", "Avenue Chardy"),
        ),
        LocaleSpec(
            "zh_HK",
            None,
            None,
            "en_GB",
            "en",
            _HK_MALE,
            _HK_FEMALE,
            _HK_LAST,
            ("Hong Kong", "Kowloon", "Sha Tin", "Tsuen Wan", "Wan Chai", "Causeway Bay", "Tai Po"),
            (
                "Nathan Road",
                "Queen's Road Central",
                "Hennessy Road",
                "Des Voeux Road",
                "King's Road",
            ),
        ),
    )
}


@dataclass(frozen=True)
class Country:
    code: str
    name: str
    weight: float
    locales: tuple[str, ...]
    phones: tuple[str, ...]
    domains: tuple[str, ...] = ()
    salary: int = 45000  # median, in local-ish units; only for realism of the profile field
    id_doc: str = "AA#######"  # '#' digit, 'A' letter, 'X' alphanumeric


_GENERIC_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com")
_FR_DOMAINS = (
    "gmail.com",
    "orange.fr",
    "free.fr",
    "laposte.net",
    "hotmail.fr",
    "yahoo.fr",
    "sfr.fr",
)

COUNTRIES: tuple[Country, ...] = (
    Country(
        "FR",
        "France",
        26.0,
        ("fr_FR",),
        ("+33 6 ## ## ## ##", "06 ## ## ## ##", "07 ## ## ## ##", "+33 1 ## ## ## ##"),
        _FR_DOMAINS,
        42000,
        "XXXXXXXXX",
    ),
    Country(
        "BE",
        "Belgium",
        3.0,
        ("fr_BE", "fr_BE", "nl_BE"),
        ("+32 4## ## ## ##", "04## ## ## ##"),
        ("gmail.com", "skynet.be", "telenet.be", "hotmail.be", "outlook.com"),
        48000,
    ),
    Country(
        "CH",
        "Switzerland",
        2.5,
        ("fr_CH", "de_CH"),
        ("+41 7# ### ## ##", "07# ### ## ##"),
        ("gmail.com", "bluewin.ch", "gmx.ch", "outlook.com"),
        95000,
        "X#######",
    ),
    Country(
        "DE",
        "Germany",
        6.0,
        ("de_DE",),
        ("+49 15# #######", "015# #######", "+49 30 ########"),
        ("gmail.com", "web.de", "gmx.de", "t-online.de", "outlook.de"),
        52000,
        "XXXXXXXXX",
    ),
    Country("AT", "Austria", 1.0, ("de_AT",), ("+43 664 #######",), ("gmx.at", "gmail.com"), 50000),
    Country(
        "ES",
        "Spain",
        4.0,
        ("es_ES",),
        ("+34 6## ### ###", "6## ## ## ##"),
        ("gmail.com", "hotmail.es", "yahoo.es", "telefonica.net"),
        30000,
        "########A",
    ),
    Country(
        "IT",
        "Italy",
        4.0,
        ("it_IT",),
        ("+39 3## ### ####", "3## ### ####"),
        ("gmail.com", "libero.it", "alice.it", "virgilio.it", "hotmail.it"),
        33000,
        "AA#####AA",
    ),
    Country(
        "NL",
        "Netherlands",
        3.0,
        ("nl_NL",),
        ("+31 6 ########", "06-########"),
        ("gmail.com", "ziggo.nl", "kpnmail.nl", "hotmail.nl"),
        50000,
    ),
    Country(
        "PT", "Portugal", 1.5, ("pt_PT",), ("+351 9## ### ###",), ("gmail.com", "sapo.pt"), 22000
    ),
    Country("PL", "Poland", 2.0, ("pl_PL",), ("+48 5## ### ###",), ("wp.pl", "onet.pl"), 24000),
    Country("SE", "Sweden", 1.0, ("sv_SE",), ("+46 7#-### ## ##",), ("telia.com", "gmail.com")),
    Country("DK", "Denmark", 0.5, ("da_DK",), ("+45 ## ## ## ##",), ("gmail.com", "mail.dk")),
    Country("FI", "Finland", 0.5, ("fi_FI",), ("+358 4# ### ####",), ("gmail.com", "elisanet.fi")),
    Country("IE", "Ireland", 1.0, ("en_IE",), ("+353 8# ### ####",), ("eircom.net", "gmail.com")),
    Country("LU", "Luxembourg", 0.5, ("fr_FR", "de_DE"), ("+352 6## ### ###",), ("pt.lu",)),
    Country("CZ", "Czechia", 0.5, ("cs_CZ",), ("+420 7## ### ###",), ("seznam.cz", "gmail.com")),
    Country("RO", "Romania", 0.5, ("ro_RO",), ("+40 7## ### ###",), ("yahoo.ro", "gmail.com")),
    Country("GR", "Greece", 0.5, ("el_GR",), ("+30 69# ### ####",), ("gmail.com", "otenet.gr")),
    Country("HU", "Hungary", 0.3, ("hu_HU",), ("+36 ## ### ####",), ("freemail.hu", "gmail.com")),
    Country("NO", "Norway", 0.4, ("no_NO",), ("+47 ### ## ###",), ("online.no", "gmail.com")),
    Country("IS", "Iceland", 0.05, ("en_GB",), ("+354 ### ####",)),
    Country("LI", "Liechtenstein", 0.05, ("de_CH",), ("+423 ### ## ##",)),
    Country(
        "GB",
        "United Kingdom",
        5.0,
        ("en_GB",),
        ("+44 7### ######", "07### ######"),
        ("gmail.com", "btinternet.com", "outlook.com", "yahoo.co.uk", "sky.com"),
        38000,
        "#########",
    ),
    Country(
        "CA",
        "Canada",
        3.0,
        ("en_CA", "en_CA", "fr_CA"),
        ("+1 514-###-####", "(416) ###-####", "+1 604 ### ####"),
        ("gmail.com", "videotron.ca", "rogers.com", "outlook.com"),
        60000,
    ),
    Country("HK", "Hong Kong", 1.0, ("zh_HK",), ("+852 #### ####",), _GENERIC_DOMAINS, 400000),
    Country(
        "US",
        "United States",
        10.0,
        ("en_US",),
        ("+1 415-###-####", "(212) ###-####", "+1 (646) ###-####", "312.###.####"),
        ("gmail.com", "yahoo.com", "outlook.com", "aol.com", "icloud.com"),
        75000,
        "#########",
    ),
    Country(
        "BR", "Brazil", 2.5, ("pt_BR",), ("+55 11 9####-####", "(21) 9####-####"), ("uol.com.br",)
    ),
    Country(
        "IN",
        "India",
        4.0,
        ("en_IN",),
        ("+91 9#### #####", "09#########"),
        ("gmail.com", "rediffmail.com", "yahoo.co.in"),
        900000,
        "A#######",
    ),
    Country(
        "MA",
        "Morocco",
        3.0,
        ("ar_MA",),
        ("+212 6##-######", "06 ## ## ## ##"),
        ("gmail.com", "menara.ma", "hotmail.fr"),
        120000,
        "AA######",
    ),
    Country("TN", "Tunisia", 1.0, ("ar_TN",), ("+216 ## ### ###",), ("gmail.com", "topnet.tn")),
    Country(
        "SN",
        "Senegal",
        1.5,
        ("fr_SN",),
        ("+221 7# ### ## ##", "77 ### ## ##"),
        ("gmail.com", "orange.sn", "yahoo.fr"),
        3000000,
    ),
    Country("CI", "Côte d'Ivoire", 0.7, ("fr_CI",), ("+225 07 ## ## ## ##",), ("gmail.com",)),
    Country(
        "JP", "Japan", 1.0, ("ja_JP",), ("+81 90-####-####", "090-####-####"), ("docomo.ne.jp",)
    ),
    Country("MX", "Mexico", 1.0, ("es_MX",), ("+52 55 #### ####",), ("gmail.com", "hotmail.com")),
    Country(
        "AU", "Australia", 1.0, ("en_AU",), ("+61 4## ### ###", "04## ### ###"), ("bigpond.com",)
    ),
)
UNKNOWN_COUNTRY_WEIGHT = 4.0  # country null
INVALID_COUNTRY_WEIGHT = 0.3  # "XX", "ZZ"
GENERIC_DOMAINS = _GENERIC_DOMAINS

SKILLS = _split(
    "Python|SQL|Gestion de projet|Project Management|Data Analysis|Machine Learning|Java|"
    "JavaScript|TypeScript|React|Kubernetes|AWS|Azure|Docker|Excel|Power BI|Tableau|"
    "Communication|Leadership|Négociation|Vente|Sales|Marketing digital|SEO|Comptabilité|"
    "Accounting|Finance|Contrôle de gestion|Ressources humaines|Recrutement|Recruiting|"
    "Droit du travail|Supply Chain|Logistique|Lean Management|Six Sigma|UX Design|Figma|"
    "Product Management|Agile|Scrum|DevOps|Cybersécurité|Cybersecurity|RGPD|GDPR|"
    "Service client|Customer Success|Formation|Coaching|Rédaction|Copywriting|Photoshop|"
    "SAP|Salesforce|Management d'équipe|Team Leadership|Public Speaking|Prise de parole|"
    "Anglais|Espagnol|Allemand|Statistics|R|Deep Learning|NLP|Spark|Airflow|dbt|"
    "Terraform|Go|Rust|C++|Embedded Systems|AutoCAD|BIM|Santé publique|Nursing|"
    "Pharmacovigilance"
)
INTERESTS = _split(
    "intelligence artificielle|artificial intelligence|sustainability|"
    "développement durable|entrepreneuriat|startups|fintech|healthtech|remote work|"
    "télétravail|leadership|diversity & inclusion|cybersecurity|open source|data science|"
    "marketing|design|innovation|climate tech|éducation|running|photographie|voyages|"
    "music|gaming|real estate|immobilier|économie sociale|mobility|energy"
)
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/123.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67",
    "LinkedIn/9.29.8 (iPhone; iOS 17.4.1; Scale/3.00)",
    "com.linkedin.android/4.1.942 (Linux; U; Android 14; fr_FR; SM-A546B)",
)
SCHOOL_TEMPLATES: dict[str, tuple[str, ...]] = {
    "fr": (
        "Université de {city}",
        "IUT de {city}",
        "École de commerce de {city}",
        "INSA {city}",
        "Sciences Po {city}",
        "Lycée Victor Hugo, {city}",
        "École nationale supérieure d'ingénieurs de {city}",
    ),
    "en": ("University of {city}", "{city} State University", "{city} College", "{city} Institute"),
    "de": ("Universität {city}", "TU {city}", "Hochschule {city}"),
    "es": ("Universidad de {city}", "Universidad Politécnica de {city}"),
    "it": ("Università di {city}", "Politecnico di {city}"),
    "nl": ("Universiteit {city}", "Hogeschool {city}"),
    "pt": ("Universidade de {city}", "Instituto Politécnico de {city}"),
}
HEADLINE_TEMPLATES: dict[str, tuple[str, ...]] = {
    "fr": (
        "{position} chez {employer}",
        "{position} | {skill} | {skill2}",
        "{position} @ {employer} — {skill}",
        "En recherche d'opportunités en {skill}",
        "{position} indépendant·e",
    ),
    "en": (
        "{position} at {employer}",
        "{position} | {skill} | {skill2}",
        "Helping teams with {skill} | {position}",
        "Open to work — {skill}",
        "{position} @ {employer}",
    ),
    "de": ("{position} bei {employer}", "{position} | {skill}"),
    "es": ("{position} en {employer}", "{position} | {skill}"),
    "it": ("{position} presso {employer}", "{position} | {skill}"),
    "nl": ("{position} bij {employer}", "{position} | {skill}"),
    "pt": ("{position} na {employer}", "{position} | {skill}"),
}
AGE_RANGES = ((18, "18-24"), (25, "25-34"), (35, "35-44"), (45, "45-54"), (55, "55-64"))


def age_range(age: int) -> str:
    """The inferred age bracket shown on a profile."""
    if age < 18:
        return "13-17"
    if age >= 65:
        return "65+"
    for lower, name in reversed(AGE_RANGES):
        if age >= lower:
            return name
    return AGE_RANGES[0][1]
