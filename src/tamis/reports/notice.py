"""The members' information notice, generated from the policy (English and French).

The notice is what the CNIL's first condition (clear information) asks for; it is rendered from
the same policy that drives the builds, so it cannot say something the pipeline does not do::

    from tamis.policy import load_policy
    from tamis.reports.notice import render_notice
    notice = render_notice(load_policy("minimal"), "fr")
    notice.version   # 'minimal@2025-11-03.1+4c1d…/fr'
    notice.markdown  # the text, in Markdown
    notice.html      # the same, as an HTML fragment

The service's notice page may reuse :func:`render_notice`; the version string changes whenever the
policy's bytes change (it carries the first 12 hex digits of the policy's sha256).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from tamis.policy.categories import ALL_CATEGORIES, covers
from tamis.policy.loader import LoadedPolicy

NoticeLang = Literal["en", "fr"]
LANGS: tuple[NoticeLang, ...] = ("en", "fr")

# Plain-language names of data categories, for members (not for engineers).
CATEGORY_LABELS: dict[str, tuple[str, str]] = {
    "user.content.post": ("your posts", "vos publications"),
    "user.content.article": ("your articles", "vos articles"),
    "user.content.comment": ("your comments", "vos commentaires"),
    "user.content.private_message": ("your private messages", "vos messages privés"),
    "user.content.ai_prompt": (
        "what you write to our AI features",
        "ce que vous écrivez à nos fonctions d'IA",
    ),
    "user.content.ai_feedback": (
        "your feedback on our AI features",
        "vos retours sur nos fonctions d'IA",
    ),
    "user.behavior.search_history": ("your searches", "vos recherches"),
    "user.behavior.interests": (
        "interests we inferred",
        "les centres d'intérêt que nous déduisons",
    ),
    "user.behavior.activity": (
        "your activity (views, logins)",
        "votre activité (vues, connexions)",
    ),
    "user.name": ("your name", "votre nom"),
    "user.job_title": ("your headline and position", "votre titre et votre poste"),
    "user.workplace": ("your employer", "votre employeur"),
    "user.education": ("your education", "votre formation"),
    "user.professional": ("your skills", "vos compétences"),
    "user.location": ("your country", "votre pays"),
    "user.location.imprecise": ("your city or area", "votre ville ou région"),
    "user.contact.email": ("your e-mail address", "votre adresse e-mail"),
    "user.contact.phone_number": ("your phone number", "votre numéro de téléphone"),
    "user.demographic.gender": ("your gender (inferred)", "votre genre (déduit)"),
    "user.demographic.age_range": ("your age range (inferred)", "votre tranche d'âge (déduite)"),
    "user.demographic.date_of_birth": ("your date of birth", "votre date de naissance"),
    "user.biometric.photo": ("your profile photo", "votre photo de profil"),
    "user.government_id": (
        "your identity document number",
        "le numéro de votre pièce d'identité",
    ),
    "user.financial.salary": ("your salary", "votre salaire"),
    "user.device.ip_address": ("your IP address", "votre adresse IP"),
    "user.device.device_id": ("your device identifier", "l'identifiant de votre appareil"),
    "user.device.browser": ("your browser", "votre navigateur"),
    "user.authentication": ("your credentials", "vos identifiants de connexion"),
}

LEGAL_BASES: dict[str, tuple[str, str]] = {
    "legitimate_interest": (
        "our legitimate interest (GDPR Art. 6(1)(f))",
        "notre intérêt légitime (RGPD, art. 6, 1, f)",
    ),
    "consent": ("your consent (GDPR Art. 6(1)(a))", "votre consentement (RGPD, art. 6, 1, a)"),
    "contract": ("our contract with you (Art. 6(1)(b))", "notre contrat avec vous (art. 6, 1, b)"),
    "legal_obligation": (
        "a legal obligation (Art. 6(1)(c))",
        "une obligation légale (art. 6, 1, c)",
    ),
    "public_task": ("a public task (Art. 6(1)(e))", "une mission d'intérêt public (art. 6, 1, e)"),
}

_MONTHS_FR = [
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
]

_TEXT: dict[str, dict[NoticeLang, str]] = {
    "title": {
        "en": "How {controller} uses your data to train AI models",
        "fr": "Comment {controller} utilise vos données pour entraîner des modèles d'IA",
    },
    "purpose": {"en": "What for", "fr": "Dans quel but"},
    "basis": {"en": "On what legal basis: {basis}.", "fr": "Sur quelle base légale : {basis}."},
    "used": {"en": "What we use", "fr": "Ce que nous utilisons"},
    "used_kinds": {
        "en": "Only content that is {visibility}.",
        "fr": "Uniquement les contenus {visibility}.",
    },
    "never": {"en": "What we never use", "fr": "Ce que nous n'utilisons jamais"},
    "when": {"en": "From when", "fr": "À partir de quand"},
    "region": {
        "en": "- {countries}: from {start} (this notice from {notice}).",
        "fr": "- {countries} : à partir du {start} (cette information depuis le {notice}).",
    },
    "choice": {"en": "Your choice", "fr": "Votre choix"},
    "default_allow": {
        "en": "The setting is on unless you turn it off.",
        "fr": "Le paramètre est activé tant que vous ne le désactivez pas.",
    },
    "default_object": {
        "en": "The setting is off unless you turn it on.",
        "fr": "Le paramètre est désactivé tant que vous ne l'activez pas.",
    },
    "how": {
        "en": "To object, turn off «{label}» in Settings & Privacy > Data privacy (one click "
        "from this notice). If you are not a member, use our objection form. Your objection "
        "covers all your data, including what you published before, in every training snapshot "
        "taken after it.",
        "fr": "Pour vous opposer, désactivez « {label} » dans Préférences et confidentialité > "
        "Confidentialité des données (un clic depuis cette information). Si vous n'êtes pas "
        "membre, utilisez notre formulaire d'opposition. Votre opposition couvre toutes vos "
        "données, y compris celles publiées avant, dans chaque jeu d'entraînement constitué "
        "après elle.",
    },
    "age": {
        "en": "Data of members under {age} is never used, nor anything written before that age.",
        "fr": "Les données des membres de moins de {age} ans ne sont jamais utilisées, ni ce "
        "qu'ils ont écrit avant cet âge.",
    },
    "safeguards": {"en": "How we protect you", "fr": "Comment nous vous protégeons"},
    "redact": {
        "en": "Personal data found in texts ({types}) is removed before training.",
        "fr": "Les données personnelles trouvées dans les textes ({types}) sont retirées avant "
        "l'entraînement.",
    },
    "pseudonyms": {
        "en": "Training data never carries your name or member id, only a keyed pseudonym.",
        "fr": "Les données d'entraînement ne portent jamais votre nom ni votre identifiant, "
        "seulement un pseudonyme à clé.",
    },
    "version": {
        "en": "Notice version {version}.",
        "fr": "Version de cette information : {version}.",
    },
}

_VISIBILITY = {
    "public": ("public", "publics"),
    "connections": ("shared with your connections", "partagés avec vos relations"),
    "private": ("private", "privés"),
}
_REDACT_TYPES = {
    "contact": ("e-mail addresses, phone numbers", "adresses e-mail, numéros de téléphone"),
    "fast": (
        "names, e-mail addresses, phone numbers, addresses, identifiers",
        "noms, adresses e-mail, numéros de téléphone, adresses, identifiants",
    ),
    "thorough": (
        "names, e-mail addresses, phone numbers, addresses, identifiers",
        "noms, adresses e-mail, numéros de téléphone, adresses, identifiants",
    ),
}


@dataclass(frozen=True)
class Notice:
    """A rendered notice: its language, version string, title and Markdown text."""

    lang: NoticeLang
    version: str
    title: str
    markdown: str

    @property
    def html(self) -> str:
        from markdown_it import MarkdownIt

        return str(MarkdownIt("commonmark").render(self.markdown))


def notice_version(policy: LoadedPolicy, lang: NoticeLang) -> str:
    """``name@version+sha12/lang``: changes whenever the policy's bytes change."""
    return f"{policy.name}@{policy.policy.version}+{policy.sha256[:12]}/{lang}"


def category_label(category: str, lang: NoticeLang) -> str:
    en, fr = CATEGORY_LABELS.get(category, (category, category))
    return en if lang == "en" else fr


def format_date(value: datetime | None, lang: NoticeLang) -> str:
    if value is None:
        return "—"
    if lang == "fr":
        return f"{value.day} {_MONTHS_FR[value.month - 1]} {value.year}"
    return f"{value.day} {value:%B} {value.year}"


def render_notice(policy: LoadedPolicy, lang: NoticeLang, purpose: str | None = None) -> Notice:
    """The notice for one purpose (the only one, by default) in ``lang`` (``en`` or ``fr``)."""
    if lang not in LANGS:
        raise ValueError(f"unknown notice language {lang!r}; available: {', '.join(LANGS)}")
    p = policy.policy
    name = purpose or next(iter(p.purposes))
    purpose_ = p.purpose(name)
    i = 0 if lang == "en" else 1

    def t(key: str, **kw: object) -> str:
        return _TEXT[key][lang].format(**kw)

    controller = p.controller.split("(")[0].strip() or p.name
    version = notice_version(policy, lang)
    title = t("title", controller=controller)
    setting = p.settings[purpose_.setting]
    label = setting.label.en if lang == "en" else setting.label.fr
    used = [category_label(c, lang) for c in p.used_categories(name)]
    never = sorted(
        {
            category_label(c, lang)
            for c in ALL_CATEGORIES
            if any(covers(x, c) for x in p.exclusions.categories)
        }
    )
    excluded_reason = p.exclusions.reason
    vis = [_VISIBILITY[v][i] for v in purpose_.visibility]
    lines = [f"# {title}", ""]
    description = purpose_.description.en if i == 0 else purpose_.description.fr
    lines += [f"## {t('purpose')}", "", description, ""]
    lines += [t("basis", basis=LEGAL_BASES[purpose_.legal_basis][i]), ""]
    lines += [f"## {t('used')}", ""]
    lines += [f"- {u}" for u in used]
    lines += ["", t("used_kinds", visibility=_join(vis, lang)), ""]
    lines += [f"## {t('never')}", ""]
    if excluded_reason is not None:
        lines += [excluded_reason.en if i == 0 else excluded_reason.fr, ""]
    lines += [f"- {n}" for n in never] + [""]
    lines += [f"## {t('when')}", ""]
    for j in p.jurisdictions:
        countries = (
            ("all other countries" if i == 0 else "tous les autres pays")
            if j.countries == "*"
            else ", ".join(j.countries)
        )
        lines.append(
            t(
                "region",
                countries=countries,
                start=format_date(j.start, lang),
                notice=format_date(j.notice_from, lang),
            )
        )
    lines += ["", f"## {t('choice')}", ""]
    defaults = {j.default for j in p.jurisdictions}
    if "allow" in defaults:
        lines.append(t("default_allow"))
    if "object" in defaults:
        lines.append(t("default_object"))
    lines += ["", t("how", label=label), ""]
    ages = sorted({j.minimum_age for j in p.jurisdictions})
    if ages:
        lines += [t("age", age=ages[-1] if len(ages) == 1 else "/".join(map(str, ages))), ""]
    lines += [f"## {t('safeguards')}", ""]
    for stage in purpose_.stages:
        if stage.name.startswith("pii.redact"):
            mode = str(stage.options.get("mode", "contact"))
            lines.append("- " + t("redact", types=_REDACT_TYPES.get(mode, (mode, mode))[i]))
    lines += ["- " + t("pseudonyms"), "", "---", "", t("version", version=f"`{version}`"), ""]
    return Notice(lang, version, title, "\n".join(lines))


def _join(items: list[str], lang: NoticeLang) -> str:
    if len(items) <= 1:
        return "".join(items)
    last = " or " if lang == "en" else " ou "
    return ", ".join(items[:-1]) + last + items[-1]
