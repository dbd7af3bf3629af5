"""Text templates of the synthetic platform, by language and content kind.

Slots in braces are filled by :mod:`tamis.synth._texts`. Those that insert personal data (and are
written to the ground truth) are:

``{member}`` full name of another member · ``{member_hon}`` honorific + a member's name ·
``{member_first}`` a member's first name · ``{handle}`` a member's @handle · ``{profile_url}`` a
member's profile URL · ``{person}`` someone who is not a member · ``{email}`` · ``{phone}`` ·
``{address}`` · ``{iban}`` · ``{nir}`` (French social security number) · ``{ip}`` · ``{card}``.

The others are harmless fillers: ``{company} {city} {job} {skill} {skill2} {interest} {n} {year}
{tag} {event} {day}``.

A template that starts with ``[topic]`` talks about a sensitive subject (``health``,
``trade_union``, ``religion``, ``politics``); the topic goes to ``_truth/sensitive.jsonl``.
"""

from __future__ import annotations

FR: dict[str, tuple[str, ...]] = {
    "post": (
        "Ravi d'annoncer que je rejoins {company} en tant que {job} ! Merci à {member} pour sa "
        "confiance et à toute l'équipe de {city}. #{tag}",
        "Après {n} belles années chez {company}, je tourne la page. Merci à {member}, "
        "{member} et {member} pour tout ce que vous m'avez appris.",
        "Super échange ce matin avec {member_hon} sur {skill} et {skill2}. Les slides sont "
        "dispo sur demande : {email}",
        "Nous recrutons un·e {job} à {city} ! CV à envoyer à {email} ou par téléphone au "
        "{phone}. #recrutement #{tag}",
        "Retour sur le {event} de {city} : merci aux organisateurs et bravo à {member} pour "
        "sa keynote sur {skill}.",
        "Fier·e de notre équipe ! Le projet {skill} est en production. Un grand merci à "
        "{member_hon} et {member}. #{tag} #fierté",
        "Petit rappel : le {day}, je serai au {event} à {city}. Qui y sera ? Écrivez-moi en "
        "MP ou au {phone}.",
        "Je cherche un stage de {n} mois en {skill} à partir de septembre. Mon profil : "
        "{profile_url}",
        "Conseil du jour : en {skill}, la documentation vaut mieux qu'un long discours.",
        "{n} leçons apprises en {n} ans de {skill} : 1) écouter 2) mesurer 3) simplifier. "
        "Et vous ?",
        "Félicitations à {member} pour sa promotion chez {company} ! Bien mérité.",
        "Merci {handle} pour la recommandation, ça me touche beaucoup.",
        "Ce que j'ai retenu de la conférence {event} : {skill} change tout, mais seulement "
        "avec les bonnes personnes. Merci à {member} !",
        "Quel plaisir de retrouver {member} et {member_hon} à {city} pour parler {interest}.",
        "Notre nouveau bureau ouvre au {address}. Venez nous voir !",
        "Offre d'alternance chez {company} : {job} (H/F) à {city}. Contact : {member_hon}, {email}",
        "Je suis à la recherche d'un nouveau poste de {job}. N'hésitez pas à partager ! "
        "#OpenToWork #{tag}",
        "Bonne nouvelle : {company} lève {n} millions d'euros pour accélérer sur {skill} !",
        "On parle souvent de {interest}, rarement de ceux qui le font vraiment. Merci "
        "{member} pour ton engagement.",
        "Mon article sur {skill} est en ligne. Merci à {member} pour la relecture 🙏",
        "Webinaire {skill} le {day} à 12h. Inscription par mail à {email}.",
        "Merci à {member_hon} qui m'a accompagné·e pendant {n} mois de mentorat.",
        "Trop de réunions tuent la réunion. Chez {company} on a testé une semaine sans : "
        "verdict dans {n} jours.",
        "Heureux de rejoindre le comité {interest} de {city} aux côtés de {member}.",
        "{member} et moi lançons un podcast sur {skill}. Premier épisode vendredi !",
    ),
    "article": (
        "Pourquoi {skill} va transformer le métier de {job}",
        "{n} erreurs à éviter quand on se lance en {skill}",
        "Ce que {n} ans chez {company} m'ont appris sur {interest}",
        "Retour d'expérience : migrer vers {skill} en {n} mois",
        "{interest} : au-delà des slogans",
    ),
    "paragraph": (
        "Quand j'ai commencé chez {company}, personne ne parlait de {skill}. Aujourd'hui, "
        "c'est au cœur de chaque projet, et {member} a été l'un des premiers à y croire.",
        "Avec {member_hon}, nous avons mené {n} entretiens auprès d'équipes de {city}. Le "
        "constat est clair : {skill} sans {skill2} ne tient pas la route.",
        "La première étape consiste à cartographier l'existant. Cela prend du temps, mais "
        "c'est indispensable pour convaincre la direction.",
        "Les chiffres parlent d'eux-mêmes : {n} % de gain de productivité en {year}, et une "
        "équipe plus sereine.",
        "Je remercie {member}, {member} et toute l'équipe de {company} pour leurs retours.",
        "Pour aller plus loin, écrivez-moi à {email} ou retrouvez-moi sur {profile_url}.",
        "Bien sûr, tout n'a pas été simple. Nous avons dû revoir notre approche de {skill} "
        "deux fois avant de trouver le bon équilibre.",
        "Le plus important reste humain : écouter, expliquer, et accepter de se tromper.",
        "Comme le rappelait {person} lors du {event}, la technique n'est jamais le problème "
        "principal.",
        "Si vous êtes à {city}, passez nous voir au {address} : la porte est ouverte.",
        "En {year}, nous étions {n} ; nous sommes aujourd'hui trois fois plus, avec la même "
        "culture.",
    ),
    "comment": (
        "Bravo {member_first} ! 👏",
        "Félicitations, bien mérité !",
        "Merci pour le partage, très intéressant.",
        "Tout à fait d'accord avec toi {member_first}.",
        "Je plussoie. {member} avait dit la même chose au {event}.",
        "Super nouvelle, plein de succès chez {company} !",
        "Intéressé·e ! Je vous envoie mon CV à quelle adresse ? Moi c'est {email}.",
        "Merci {member_hon} pour cet éclairage.",
        "Je tague {handle} qui devrait trouver ça utile.",
        "Pas tout à fait d'accord : {skill} ne règle pas tout.",
        "Hâte de lire la suite !",
        "Merci à toi {member_first}, c'était un plaisir.",
        "Tu peux me joindre au {phone} pour en parler.",
        "Excellente analyse, je partage.",
        "On en parle au prochain {event} ?",
    ),
    "message": (
        "Bonjour {member_first}, merci pour ton message. Tu peux me joindre au {phone} "
        "ou à {email}.",
        "Salut {member_first} ! Voici mon RIB pour le remboursement : {iban}",
        "Bonjour {member_hon}, suite à notre échange, voici mes coordonnées : {phone}, {address}.",
        "Hello {member_first}, dispo jeudi pour un café à {city} ?",
        "Bonjour, je me permets de vous contacter de la part de {member}. Seriez-vous "
        "disponible pour un échange ? Mon numéro : {phone}",
        "Voici mon numéro de sécu pour le dossier mutuelle : {nir}",
        "Pour la note de frais : {iban}, au nom de {person}.",
        "Bonjour {member_first}, je t'envoie le contrat à {email}. Adresse de livraison : "
        "{address}",
        "Merci pour l'entretien ! Comme convenu, mon numéro de sécurité sociale est {nir} et "
        "mon IBAN {iban}.",
        "Coucou {member_first}, tu as le contact de {member} ? Son mail c'est bien {email} ?",
        "Je t'ai payé avec ma carte {card}, tu peux vérifier ?",
        "Salut, le VPN me bloque, mon IP est {ip}. Tu peux l'ajouter à la liste blanche ?",
        "Bonjour {member_hon}, je vous confirme le rendez-vous du {day} au {address}.",
        "Ok pour moi, on se retrouve devant {company} à 18h.",
        "Merci {member_first}, je te rappelle demain au {phone}.",
    ),
    "search_query": (
        "{job} {city}",
        "{member}",
        "{skill} {city}",
        "offre {job}",
        "{company} recrutement",
        "{member} {company}",
        "formation {skill}",
        "stage {skill} {city}",
        "{person}",
        "salaire {job}",
    ),
    "ai_prompt": (
        "Rédige un post pour annoncer mon arrivée chez {company} en tant que {job}.",
        "Écris un message de remerciement à {member} pour son aide sur le projet {skill}.",
        "Améliore mon résumé de profil : {job} depuis {n} ans, spécialiste {skill}, basé·e "
        "à {city}.",
        "Rédige une lettre de motivation pour un poste de {job} chez {company}. Mes "
        "coordonnées : {email}, {phone}, {address}.",
        "Propose {n} idées de posts sur {interest}.",
        "Corrige ce texte : je remercie {member_hon} pour son soutien pendant mon arrêt.",
        "Résume cet article sur {skill} en trois points.",
        "Écris une recommandation pour {member}, avec qui j'ai travaillé {n} ans chez {company}.",
        "Traduis en anglais : « Merci à {member} pour cette belle collaboration. »",
        "Rédige une réponse polie à {member_first} qui me propose un poste de {job}.",
    ),
    "ai_feedback": (
        "Utile 👍",
        "Pas mal, mais trop long.",
        "Le ton est trop formel.",
        "La réponse a inventé une entreprise, {company} n'existe pas.",
        "Il a mal orthographié le nom de {member}.",
        "Parfait, merci !",
        "Trop générique, je voulais parler de {skill}.",
        "La réponse contenait mon numéro ({phone}), à retirer.",
    ),
    "sensitive": (
        "[health] Après {n} mois d'arrêt pour burn-out, je reprends le travail chez {company}. "
        "Merci à {member} pour son soutien.",
        "[health] On m'a diagnostiqué un cancer du sein l'an dernier. Aujourd'hui je suis en "
        "rémission et je veux en parler sans tabou.",
        "[health] Vivre avec un diabète de type 1 et travailler en {skill} : mon quotidien.",
        "[health] Merci au service d'oncologie de {city} et au Dr {member} pour leur écoute.",
        "[trade_union] Élu·e délégué·e syndical·e CGT chez {company}, je serai le relais de "
        "vos questions.",
        "[trade_union] Grève jeudi à {city} : la CFDT appelle tous les salariés de {company} "
        "à se mobiliser.",
        "[trade_union] Adhérent FO depuis {n} ans, je défends les droits des collègues.",
        "[religion] Pendant le ramadan, je décale mes réunions en fin de journée, merci de "
        "votre compréhension.",
        "[religion] Heureux·se d'avoir célébré ma confirmation à la paroisse de {city}.",
        "[religion] Shabbat shalom à tous mes contacts !",
        "[politics] Candidat·e aux municipales à {city} sur la liste écologiste, je "
        "m'engage pour {interest}.",
        "[politics] Militant·e au Rassemblement national depuis {n} ans, je m'exprime ici "
        "à titre personnel.",
        "[politics] Fier·e de soutenir La France insoumise aux prochaines élections.",
    ),
}

EN: dict[str, tuple[str, ...]] = {
    "post": (
        "Thrilled to share that I'm joining {company} as {job}! Thanks to {member} for the "
        "trust and to the whole {city} team. #{tag}",
        "After {n} great years at {company}, I'm moving on. Thank you {member}, {member} and "
        "{member} for everything.",
        "Great chat this morning with {member_hon} about {skill} and {skill2}. Slides "
        "available on request: {email}",
        "We're hiring a {job} in {city}! Send your CV to {email} or call {phone}. #hiring",
        "Back from {event} in {city}: thanks to the organisers and kudos to {member} for the "
        "keynote on {skill}.",
        "So proud of the team! Our {skill} project is live. Huge thanks to {member_hon} and "
        "{member}. #{tag}",
        "Quick reminder: on {day} I'll be at {event} in {city}. Who's coming? DM me or call "
        "{phone}.",
        "Looking for a {n}-month internship in {skill} from September. My profile: {profile_url}",
        "Tip of the day: in {skill}, good documentation beats long meetings.",
        "{n} lessons from {n} years in {skill}: listen, measure, simplify. What would you add?",
        "Congratulations to {member} on the promotion at {company}! Well deserved.",
        "Thanks {handle} for the recommendation, it means a lot.",
        "My takeaway from {event}: {skill} changes everything, but only with the right "
        "people. Thanks to {member}!",
        "Lovely to catch up with {member} and {member_hon} in {city} to talk about {interest}.",
        "Our new office opens at {address}. Come and say hi!",
        "Open to new opportunities as a {job}. Please share! #OpenToWork",
        "Big news: {company} raises {n} million to double down on {skill}!",
        "My article on {skill} is out. Thanks {member} for the review 🙏",
        "{skill} webinar on {day} at noon. Register by email at {email}.",
        "Thank you {member_hon} for {n} months of mentoring.",
        "Happy to join the {interest} committee in {city} alongside {member}.",
        "{member} and I are launching a podcast about {skill}. First episode on Friday!",
    ),
    "article": (
        "Why {skill} will change the {job} role",
        "{n} mistakes to avoid when starting with {skill}",
        "What {n} years at {company} taught me about {interest}",
        "Case study: moving to {skill} in {n} months",
        "{interest}: beyond the buzzwords",
    ),
    "paragraph": (
        "When I started at {company}, nobody talked about {skill}. Today it is at the heart "
        "of every project, and {member} was one of the first to believe in it.",
        "With {member_hon}, we interviewed {n} teams in {city}. The conclusion is clear: "
        "{skill} without {skill2} does not work.",
        "The first step is to map what exists. It takes time, but it is the only way to "
        "convince leadership.",
        "The numbers speak for themselves: a {n}% productivity gain in {year}, and a calmer team.",
        "Thanks to {member}, {member} and everyone at {company} for their feedback.",
        "To go further, email me at {email} or find me at {profile_url}.",
        "Of course, it was not all smooth. We had to rethink our approach to {skill} twice "
        "before finding the right balance.",
        "The most important part is human: listen, explain, and accept being wrong.",
        "As {person} reminded us at {event}, technology is never the main problem.",
        "If you are in {city}, drop by at {address}: the door is open.",
    ),
    "comment": (
        "Congrats {member_first}! 👏",
        "Well deserved, congratulations!",
        "Thanks for sharing, very insightful.",
        "Totally agree with you {member_first}.",
        "+1. {member} said the same at {event}.",
        "Great news, best of luck at {company}!",
        "Interested! Where can I send my CV? I'm at {email}.",
        "Thanks {member_hon} for the insight.",
        "Tagging {handle} who might find this useful.",
        "Not sure I agree: {skill} doesn't solve everything.",
        "Can't wait to read more!",
        "Feel free to call me on {phone} to discuss.",
        "Excellent analysis, sharing.",
    ),
    "message": (
        "Hi {member_first}, thanks for your message. You can reach me on {phone} or at {email}.",
        "Hey {member_first}! Here are my bank details for the refund: {iban}",
        "Dear {member_hon}, following our call, here are my details: {phone}, {address}.",
        "Hi {member_first}, free on Thursday for a coffee in {city}?",
        "Hello, {member} suggested I reach out. Would you be free for a quick call? My "
        "number is {phone}",
        "Paid with my card {card}, can you check on your side?",
        "Hi, the VPN blocks me, my IP is {ip}. Can you whitelist it?",
        "Hi {member_first}, sending the contract to {email}. Delivery address: {address}",
        "Do you have {member}'s contact? Is it {email}?",
        "Sure, see you in front of {company} at 6pm.",
        "For the French payroll they need my social security number: {nir}",
        "Thanks {member_first}, I'll call you tomorrow on {phone}.",
    ),
    "search_query": (
        "{job} {city}",
        "{member}",
        "{skill} jobs {city}",
        "{company} careers",
        "{member} {company}",
        "{skill} course",
        "{person}",
        "{job} salary",
    ),
    "ai_prompt": (
        "Write a post announcing that I'm joining {company} as {job}.",
        "Write a thank-you note to {member} for their help on the {skill} project.",
        "Improve my profile summary: {job} for {n} years, {skill} specialist, based in {city}.",
        "Write a cover letter for a {job} role at {company}. My details: {email}, {phone}, "
        "{address}.",
        "Suggest {n} post ideas about {interest}.",
        "Write a recommendation for {member}, whom I worked with for {n} years at {company}.",
        "Summarise this article about {skill} in three bullet points.",
        "Draft a polite reply to {member_first}, who offered me a {job} position.",
    ),
    "ai_feedback": (
        "Helpful 👍",
        "Not bad, but too long.",
        "Too formal.",
        "It made up a company, {company} does not exist.",
        "It misspelled {member}'s name.",
        "Perfect, thanks!",
        "Too generic, I wanted it to be about {skill}.",
    ),
    "sensitive": (
        "[health] After {n} months off with burnout, I'm back at {company}. Thank you {member} "
        "for the support.",
        "[health] I was diagnosed with breast cancer last year. Today I'm in remission and I "
        "want to talk about it openly.",
        "[health] Living with type 1 diabetes while working in {skill}: my daily routine.",
        "[health] Managing my depression at work taught me more than any MBA.",
        "[trade_union] Just elected union rep for Unite at {company}, happy to relay your "
        "questions.",
        "[trade_union] Strike on Thursday in {city}: the union calls on all {company} staff "
        "to join.",
        "[religion] During Ramadan I'll move my meetings to late afternoon, thanks for "
        "understanding.",
        "[religion] Grateful to my church community in {city} for their support.",
        "[religion] Wishing a happy Diwali to everyone celebrating!",
        "[politics] Running for city council in {city} with the Green Party to fight for "
        "{interest}.",
        "[politics] Proud volunteer for the Democratic campaign this year.",
        "[politics] Proud Labour Party member for {n} years, speaking in a personal capacity.",
    ),
}

# A few short texts in other languages (posts, comments and messages only).
OTHER: dict[str, dict[str, tuple[str, ...]]] = {
    "de": {
        "post": (
            "Ich freue mich, bei {company} als {job} anzufangen! Danke an {member}.",
            "Wir suchen eine:n {job} in {city}. Bewerbungen an {email}.",
            "Danke {member_hon} für den tollen Vortrag über {skill}.",
        ),
        "comment": ("Herzlichen Glückwunsch {member_first}!", "Sehr spannend, danke fürs Teilen."),
        "message": (
            "Hallo {member_first}, du erreichst mich unter {phone} oder {email}.",
            "Meine Adresse für die Einladung: {address}",
        ),
    },
    "es": {
        "post": (
            "¡Encantado de unirme a {company} como {job}! Gracias a {member}.",
            "Buscamos un/a {job} en {city}. CV a {email}.",
            "Gracias {member_hon} por la charla sobre {skill}.",
        ),
        "comment": ("¡Enhorabuena {member_first}!", "Muy interesante, gracias por compartir."),
        "message": ("Hola {member_first}, puedes llamarme al {phone} o escribir a {email}.",),
    },
    "it": {
        "post": (
            "Felice di entrare in {company} come {job}! Grazie a {member}.",
            "Cerchiamo un/a {job} a {city}. CV a {email}.",
        ),
        "comment": ("Complimenti {member_first}!", "Grazie per la condivisione."),
        "message": ("Ciao {member_first}, mi trovi al {phone} o a {email}.",),
    },
    "nl": {
        "post": (
            "Blij om bij {company} te beginnen als {job}! Dank aan {member}.",
            "Wij zoeken een {job} in {city}. Stuur je cv naar {email}.",
        ),
        "comment": ("Gefeliciteerd {member_first}!", "Mooi gezegd, {member}."),
        "message": ("Hoi {member_first}, je kunt me bereiken op {phone} of {email}.",),
    },
    "pt": {
        "post": ("Feliz por entrar na {company} como {job}! Obrigado a {member}.",),
        "comment": ("Parabéns {member_first}!", "Obrigado pela partilha."),
        "message": ("Olá {member_first}, podes ligar-me para {phone} ou escrever para {email}.",),
    },
}

EVENTS = (
    "VivaTech",
    "Web Summit",
    "salon Big Data & AI",
    "DevFest",
    "meetup Python",
    "forum emploi",
    "PyCon",
    "France Digitale Day",
    "Data Council",
    "salon des entrepreneurs",
)
HASHTAGS = (
    "IA",
    "AI",
    "emploi",
    "data",
    "leadership",
    "innovation",
    "tech",
    "RH",
    "startup",
    "carrière",
    "career",
    "GenAI",
    "management",
    "diversité",
)
DAYS_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "12 mars", "3 juin")
DAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "March 12", "June 3")
HONORIFICS = {
    # (male, female, neutral): neutral falls back to Dr. or nothing
    "fr": ("M.", "Mme", "Dr"),
    "en": ("Mr.", "Ms.", "Dr."),
    "de": ("Herrn", "Frau", "Dr."),
    "es": ("Sr.", "Sra.", "Dr."),
    "it": ("Sig.", "Sig.ra", "Dott."),
    "nl": ("dhr.", "mevr.", "dr."),
    "pt": ("Sr.", "Sra.", "Dr."),
}
REPOST_PREFIXES = ("♻️ Repost : ", "Je partage : ", "Sharing this: ", "Repost: ", "À lire 👇 ")
REPOST_SUFFIXES = (" #repost", " 👏", " 💯", "  ", " (via mon réseau)")
