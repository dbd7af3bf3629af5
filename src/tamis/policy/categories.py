"""Data categories (fideslang-style keys) of the export's fields and content kinds.

The data contract fixes which category each field and content kind belongs to; a policy then says
which categories a purpose may use. Keys are dotted, most general first (``user.contact.email``).
"""

from __future__ import annotations

from types import MappingProxyType

# Content kinds -> category.
KIND_CATEGORY = MappingProxyType(
    {
        "post": "user.content.post",
        "article": "user.content.article",
        "comment": "user.content.comment",
        "message": "user.content.private_message",
        "search_query": "user.behavior.search_history",
        "ai_prompt": "user.content.ai_prompt",
        "ai_feedback": "user.content.ai_feedback",
    }
)

# Profile fields that can become text records -> (record kind, category). Several fields can make
# one record (first and last name make one ``profile_name`` record).
PROFILE_FIELDS = MappingProxyType(
    {
        "name": (("first_name", "last_name"), "user.name"),
        "headline": (("headline",), "user.job_title"),
        "position": (("position",), "user.job_title"),
        "employer": (("employer",), "user.workplace"),
        "education": (("education",), "user.education"),
        "skills": (("skills",), "user.professional"),
        "location": (("location",), "user.location.imprecise"),
        "email": (("email",), "user.contact.email"),
        "phone": (("phone",), "user.contact.phone_number"),
        "gender": (("gender",), "user.demographic.gender"),
        "age_range": (("age_range",), "user.demographic.age_range"),
        "interests": (("interests",), "user.behavior.interests"),
        "photo": (("photo_url",), "user.biometric.photo"),
        "id_document": (("id_document_number",), "user.government_id"),
        "salary": (("salary",), "user.financial.salary"),
    }
)

# Categories of data that is read but never becomes a text record.
OTHER_CATEGORIES = MappingProxyType(
    {
        "user.location": "country of residence (eligibility only)",
        "user.demographic.date_of_birth": "birth date (eligibility only)",
        "user.device.ip_address": "technical events: IP address",
        "user.device.device_id": "technical events: device id",
        "user.device.browser": "technical events: user agent",
        "user.behavior.activity": "technical events: views, logins",
        "user.authentication": "credentials (never exported to tamis)",
    }
)

ALL_CATEGORIES: frozenset[str] = frozenset(
    [*KIND_CATEGORY.values(), *(cat for _, cat in PROFILE_FIELDS.values()), *OTHER_CATEGORIES]
)


def profile_kind(field_group: str) -> str:
    """The record kind of a profile field group, e.g. ``profile_headline``."""
    return f"profile_{field_group}"


def covers(granted: str, category: str) -> bool:
    """Whether a granted key covers a category: ``user.content`` covers ``user.content.post``."""
    return category == granted or category.startswith(granted + ".")


def is_known_prefix(key: str) -> bool:
    """Whether a key names a category or a group of categories (``user.content``)."""
    return any(covers(key, c) for c in ALL_CATEGORIES)
