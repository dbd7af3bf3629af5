# ruff: noqa: E501  (a message catalogue: one message a line reads better than wrapped text)
"""French and English: language negotiation, interface strings, category names and dates.

The language is, in order: ``?lang=`` (the switch on every page, remembered in the session), the
session's choice, the best of the ``Accept-Language`` header, English.
"""

from __future__ import annotations

from datetime import UTC, datetime

LANGS = ("en", "fr")
DEFAULT_LANG = "en"


def negotiate(query: str | None, remembered: str | None, accept_language: str | None) -> str:
    """The language to answer in (see the module docstring)."""
    for choice in (query, remembered):
        if choice in LANGS:
            return str(choice)
    best, best_q = DEFAULT_LANG, -1.0
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGS:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        q -= position * 1e-6  # earlier wins a tie
        if q > best_q and q > 0:
            best, best_q = primary, q
    return best


_MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"],
}  # fmt: skip


def format_date(value: datetime, lang: str) -> str:
    """``3 November 2025`` / ``3 novembre 2025`` (UTC)."""
    v = value.astimezone(UTC)
    return f"{v.day} {_MONTHS[lang][v.month - 1]} {v.year}"


def format_datetime(value: datetime, lang: str) -> str:
    """``3 November 2025, 14:05 UTC`` / ``3 novembre 2025 à 14:05 UTC``."""
    v = value.astimezone(UTC)
    sep = ", " if lang == "en" else " à "
    return f"{format_date(v, lang)}{sep}{v.hour:02d}:{v.minute:02d}:{v.second:02d} UTC"


CATEGORY_NAMES: dict[str, tuple[str, str]] = {
    "user.content.post": ("Your posts", "Vos publications"),
    "user.content.article": ("Your articles", "Vos articles"),
    "user.content.comment": ("Your comments", "Vos commentaires"),
    "user.content.private_message": ("Private messages", "Messages privés"),
    "user.content.ai_prompt": ("What you typed into AI features", "Vos saisies dans les fonctions d'IA"),
    "user.content.ai_feedback": ("Your feedback on AI features", "Vos avis sur les fonctions d'IA"),
    "user.behavior.search_history": ("Your searches", "Vos recherches"),
    "user.behavior.interests": ("Interests inferred about you", "Centres d'intérêt déduits"),
    "user.behavior.activity": ("Activity (views, logins)", "Activité (consultations, connexions)"),
    "user.name": ("Your name", "Votre nom"),
    "user.job_title": ("Headline and position", "Titre et poste"),
    "user.workplace": ("Employer", "Employeur"),
    "user.education": ("Education", "Formation"),
    "user.professional": ("Skills", "Compétences"),
    "user.location": ("Country of residence", "Pays de résidence"),
    "user.location.imprecise": ("City or region on your profile", "Ville ou région de votre profil"),
    "user.contact.email": ("E-mail address", "Adresse e-mail"),
    "user.contact.phone_number": ("Phone number", "Numéro de téléphone"),
    "user.demographic.gender": ("Gender (inferred)", "Genre (déduit)"),
    "user.demographic.age_range": ("Age range (inferred)", "Tranche d'âge (déduite)"),
    "user.demographic.date_of_birth": ("Date of birth", "Date de naissance"),
    "user.biometric.photo": ("Profile photo", "Photo de profil"),
    "user.government_id": ("Identity document number", "Numéro de pièce d'identité"),
    "user.financial": ("Financial data (salary)", "Données financières (salaire)"),
    "user.financial.salary": ("Salary", "Salaire"),
    "user.authentication": ("Passwords and credentials", "Mots de passe et identifiants"),
    "user.device.ip_address": ("IP address", "Adresse IP"),
    "user.device.device_id": ("Device identifier", "Identifiant d'appareil"),
    "user.device.browser": ("Browser (user agent)", "Navigateur (user agent)"),
}  # fmt: skip


def category_name(key: str, lang: str) -> str:
    """A member-facing name of a data category (the key itself when unknown)."""
    names = CATEGORY_NAMES.get(key)
    if names is None:
        return key
    return names[LANGS.index(lang)]


MESSAGES: dict[str, tuple[str, str]] = {
    "site_title": ("Data for Generative AI Improvement", "Données pour l'amélioration de l'IA générative"),
    "nav_settings": ("Setting", "Paramètre"),
    "nav_data_use": ("How my data was used", "Utilisation de mes données"),
    "nav_notice": ("Information notice", "Note d'information"),
    "nav_object": ("Objection form", "Formulaire d'opposition"),
    "skip": ("Skip to content", "Aller au contenu"),
    "lang_switch": ("Language:", "Langue :"),
    "demo_banner": (
        "Demonstration: synthetic members, sign-in without a password. Not for production.",
        "Démonstration : membres fictifs, connexion sans mot de passe. Pas pour la production.",
    ),
    "signed_in_as": ("Signed in as {name} ({member})", "Connecté·e : {name} ({member})"),
    "sign_out": ("Sign out", "Se déconnecter"),
    "sign_in": ("Sign in", "Se connecter"),
    "login_title": ("Sign in (demo)", "Connexion (démo)"),
    "login_help": (
        "Type the member id of a synthetic member of the demo export.",
        "Saisissez l'identifiant d'un membre fictif de l'export de démonstration.",
    ),
    "member_id": ("Member id", "Identifiant de membre"),
    "login_unknown": ("No member has this id.", "Aucun membre n'a cet identifiant."),
    "login_examples": ("Members you can try", "Membres à essayer"),
    "login_upstream": (
        "Sign in on the platform, then come back to this page.",
        "Connectez-vous sur la plateforme, puis revenez sur cette page.",
    ),
    "status_on": ("On", "Activé"),
    "status_off": ("Off", "Désactivé"),
    "current_value": ("Current value:", "Valeur actuelle :"),
    "why_choice": ("You chose this on {when} ({channel}).", "Vous avez fait ce choix le {when} ({channel})."),
    "why_default": (
        "You have never changed it: this is the default for your region ({region}: {country}).",
        "Vous ne l'avez jamais modifié : c'est la valeur par défaut de votre région ({region} : {country}).",
    ),
    "why_not_covered": (
        "Your country ({country}) is not covered by this use: your data is not used, whatever the value.",
        "Votre pays ({country}) n'est pas concerné par cet usage : vos données ne sont pas utilisées, quelle que soit la valeur.",
    ),
    "not_started": (
        "In your region, this use starts on {start}; nothing of yours is used before.",
        "Dans votre région, cet usage commence le {start} ; rien de vous n'est utilisé avant.",
    ),
    "invalid_note": (
        "One of your consent events could not be processed: your data is excluded until it is resolved.",
        "Un de vos événements de consentement n'a pas pu être traité : vos données sont exclues jusqu'à sa résolution.",
    ),
    "turn_off": ("Turn off: I object", "Désactiver : je m'oppose"),
    "turn_on": ("Turn on", "Activer"),
    "what_used": ("What is used when it is on", "Ce qui est utilisé quand c'est activé"),
    "what_never": ("What is never used", "Ce qui n'est jamais utilisé"),
    "off_does": ("What turning it off does", "Ce que fait la désactivation"),
    "off_does_text": (
        "Every training snapshot with a cutoff after the moment you turn it off excludes all your data, including what you published before.",
        "Chaque jeu d'entraînement dont la date de coupure est postérieure à votre désactivation exclut toutes vos données, y compris celles publiées auparavant.",
    ),
    "off_doesnt": ("What it does not do", "Ce qu'elle ne fait pas"),
    "off_doesnt_text": (
        "It does not remove your data from models already trained on earlier snapshots. The snapshots that already included your data are listed on the page “How my data was used”.",
        "Elle ne retire pas vos données des modèles déjà entraînés sur des jeux antérieurs. Les jeux qui ont déjà inclus vos données sont listés sur la page « Utilisation de mes données ».",
    ),
    "off_account": (
        "It changes nothing else: your account, your posts and the other features stay as they are.",
        "Elle ne change rien d'autre : votre compte, vos publications et les autres fonctions restent inchangés.",
    ),
    "confirm_off": (
        "Recorded on {when}: you object. From this instant, every new training snapshot excludes all your data. Receipt: {receipt}.",
        "Enregistré le {when} : vous vous opposez. Dès cet instant, chaque nouveau jeu d'entraînement exclut toutes vos données. Reçu : {receipt}.",
    ),
    "confirm_on": (
        "Recorded on {when}: you allow the use. It applies to training snapshots with a cutoff after this instant. Receipt: {receipt}.",
        "Enregistré le {when} : vous autorisez l'usage. Il s'applique aux jeux d'entraînement dont la date de coupure est postérieure à cet instant. Reçu : {receipt}.",
    ),
    "history": ("Your history of changes", "Historique de vos modifications"),
    "history_empty": ("No change yet: the default of your region applies.", "Aucune modification : la valeur par défaut de votre région s'applique."),
    "col_when": ("When (UTC)", "Quand (UTC)"),
    "col_value": ("Value", "Valeur"),
    "col_channel": ("How", "Comment"),
    "col_receipt": ("Receipt", "Reçu"),
    "col_state": ("State", "État"),
    "value_allow": ("allowed", "autorisé"),
    "value_object": ("objected", "opposition"),
    "ch_settings_page": ("settings page", "page de paramètres"),
    "ch_objection_form": ("objection form", "formulaire d'opposition"),
    "ch_api": ("app or API", "application ou API"),
    "ch_support": ("customer support", "service client"),
    "ch_import": ("imported from the platform", "importé de la plateforme"),
    "data_use_title": ("How my data was used", "Utilisation de mes données"),
    "data_use_none": (
        "None of the {n} training snapshots known to this service includes your data.",
        "Aucun des {n} jeux d'entraînement connus de ce service n'inclut vos données.",
    ),
    "data_use_some": (
        "{k} of the {n} training snapshots known to this service include your data:",
        "{k} des {n} jeux d'entraînement connus de ce service incluent vos données :",
    ),
    "data_use_unverifiable": (
        "{n} snapshot(s) could not be checked for your data (built with a pseudonym key this "
        "service no longer holds, or unreadable): ask the data protection officer.",
        "{n} jeu(x) d'entraînement n'ont pas pu être vérifiés pour vos données (construits avec "
        "une clé de pseudonymisation que ce service n'a plus, ou illisibles) : interrogez le "
        "délégué à la protection des données.",
    ),
    "col_snapshot": ("Snapshot", "Jeu"),
    "col_cutoff": ("Data up to (cutoff)", "Données jusqu'au (coupure)"),
    "col_purpose": ("Purpose", "Finalité"),
    "col_records": ("Records by category", "Éléments par catégorie"),
    "requests_title": ("Your requests", "Vos demandes"),
    "state_in_effect": ("in effect", "en vigueur"),
    "state_superseded": ("replaced by a later choice", "remplacée par un choix ultérieur"),
    "pseudonym_note": (
        "Snapshots never hold your member id: they hold a keyed pseudonym ({ref}), which this page uses to find you.",
        "Les jeux ne contiennent jamais votre identifiant : ils contiennent un pseudonyme à clé ({ref}), que cette page utilise pour vous retrouver.",
    ),
    "object_title": ("Object to the use of your data for AI training", "Vous opposer à l'utilisation de vos données pour l'entraînement de l'IA"),
    "object_intro": (
        "Under Article 21 of the GDPR you may object to this use at any time, without giving a reason. Members and people whose data may appear in members' content can use this form.",
        "En vertu de l'article 21 du RGPD, vous pouvez vous opposer à cet usage à tout moment, sans avoir à vous justifier. Les membres et les personnes dont les données peuvent figurer dans les contenus des membres peuvent utiliser ce formulaire.",
    ),
    "object_member": ("You are signed in as {name}: your objection is recorded at once.", "Vous êtes connecté·e en tant que {name} : votre opposition est enregistrée immédiatement."),
    "object_email": ("Your e-mail address", "Votre adresse e-mail"),
    "object_email_help": (
        "We send a link to confirm that the address is yours. Nothing is recorded until you follow it. The address itself is not stored.",
        "Nous envoyons un lien pour confirmer que l'adresse est la vôtre. Rien n'est enregistré avant que vous ne le suiviez. L'adresse elle-même n'est pas conservée.",
    ),
    "object_submit": ("Object", "M'opposer"),
    "object_send": ("Send the confirmation link", "Envoyer le lien de confirmation"),
    "object_sent": (
        "If the address is valid, a confirmation link is on its way to {email}. It is valid for 24 hours.",
        "Si l'adresse est valide, un lien de confirmation est en route vers {email}. Il est valable 24 heures.",
    ),
    "object_bad_email": ("Give a valid e-mail address.", "Indiquez une adresse e-mail valide."),
    "verify_title": ("Confirm your objection", "Confirmez votre opposition"),
    "verify_text": ("Confirm the objection for {email}.", "Confirmez l'opposition pour {email}."),
    "verify_confirm": ("Confirm my objection", "Confirmer mon opposition"),
    "verify_bad": ("This link is invalid or has expired. Fill in the form again.", "Ce lien est invalide ou a expiré. Remplissez à nouveau le formulaire."),
    "receipt_title": ("Objection recorded", "Opposition enregistrée"),
    "receipt_text": (
        "Your objection was recorded on {when}. Every training snapshot with a cutoff after this instant excludes your data. Keep your receipt number:",
        "Votre opposition a été enregistrée le {when}. Chaque jeu d'entraînement dont la date de coupure est postérieure à cet instant exclut vos données. Conservez votre numéro de reçu :",
    ),
    "receipt_again": ("This link was already used; here is the receipt of that objection.", "Ce lien a déjà été utilisé ; voici le reçu de cette opposition."),
    "rate_limited": ("Too many requests from your network. Try again in {s} seconds.", "Trop de demandes depuis votre réseau. Réessayez dans {s} secondes."),
    "csrf_failed": ("The form expired. Go back, reload the page and try again.", "Le formulaire a expiré. Revenez en arrière, rechargez la page et réessayez."),
    "error_title": ("Something went wrong", "Une erreur s'est produite"),
    "registry_down": ("Your choice could not be recorded. Nothing was changed; try again in a moment.", "Votre choix n'a pas pu être enregistré. Rien n'a été modifié ; réessayez dans un instant."),
    "notice_title": ("Information notice: your data and generative AI", "Note d'information : vos données et l'IA générative"),
    "notice_controller": ("Data controller: {controller}.", "Responsable du traitement : {controller}."),
    "notice_basis": ("Legal basis: {basis}.", "Base légale : {basis}."),
    "basis_legitimate_interest": ("legitimate interest (you may object)", "intérêt légitime (vous pouvez vous y opposer)"),
    "basis_consent": ("your consent", "votre consentement"),
    "basis_contract": ("contract", "contrat"),
    "basis_legal_obligation": ("legal obligation", "obligation légale"),
    "basis_public_task": ("public task", "mission d'intérêt public"),
    "notice_kinds": ("Content used: {kinds}; visibility: {visibility}.", "Contenus utilisés : {kinds} ; visibilité : {visibility}."),
    "notice_regions": ("When and where", "Quand et où"),
    "col_region": ("Region", "Région"),
    "col_notice_from": ("Informed from", "Informé·e à partir du"),
    "col_start": ("Use starts", "Début de l'usage"),
    "col_delay": ("Delay", "Délai"),
    "col_default": ("If you do nothing", "Si vous ne faites rien"),
    "col_min_age": ("Minimum age", "Âge minimum"),
    "delay_days": ("{n} days", "{n} jours"),
    "default_allow": ("used", "utilisées"),
    "default_object": ("not used", "non utilisées"),
    "all_other": ("all other countries", "tous les autres pays"),
    "notice_minors": ("Data of members under the minimum age, and content they created while under it, is never used.", "Les données des membres n'ayant pas l'âge minimum, et les contenus créés avant cet âge, ne sont jamais utilisés."),
    "notice_how_object": ("How to object", "Comment vous opposer"),
    "notice_how_object_text": (
        "Members: turn the setting off on the settings page, in one click. Anyone, member or not: use the objection form. It takes effect at once for every later training snapshot.",
        "Membres : désactivez le paramètre sur la page de paramètres, en un clic. Toute personne, membre ou non : utilisez le formulaire d'opposition. L'opposition prend effet immédiatement pour tout jeu d'entraînement ultérieur.",
    ),
    "years": ("{n} years", "{n} ans"),
    "policy_version": ("Policy {name}, version {version}.", "Politique {name}, version {version}."),
}  # fmt: skip


def translate(key: str, lang: str, **values: object) -> str:
    """The interface string ``key`` in ``lang``, formatted with ``values``."""
    text = MESSAGES[key][LANGS.index(lang)]
    return text.format(**values) if values else text
