"""The platform export's tables (data contract v1, ``shared/spec/platform-export.md``).

Each table is described once here, as the Arrow schema that readers produce after validation,
plus the rules a row must meet. Readers, the synthetic platform and the pipeline all use these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa

from tamis.timefmt import ARROW_TS

CONTENT_KINDS: tuple[str, ...] = (
    "post",
    "article",
    "comment",
    "message",
    "search_query",
    "ai_prompt",
    "ai_feedback",
)
VISIBILITIES: tuple[str, ...] = ("public", "connections", "private")
CONSENT_CHANNELS: tuple[str, ...] = ("settings_page", "objection_form", "api", "support", "import")


@dataclass(frozen=True)
class Column:
    """One column of an export table.

    ``kind`` is how the raw value is checked: ``string``, ``timestamp`` (RFC 3339 with offset),
    ``date`` (YYYY-MM-DD), ``bool``, ``number`` or ``string_list``. ``sub_microsecond`` is how a
    timestamp finer than a microsecond is rounded (see :mod:`tamis.timefmt`).
    """

    name: str
    kind: str
    required: bool = False
    allowed: tuple[str, ...] | None = None
    sub_microsecond: Literal["floor", "ceil"] = "floor"

    @property
    def arrow_type(self) -> pa.DataType:
        return _ARROW_TYPES[self.kind]


_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "timestamp": ARROW_TS,
    "date": pa.date32(),
    "bool": pa.bool_(),
    "number": pa.float64(),
    "string_list": pa.list_(pa.string()),
}


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: str | None = None
    required: bool = True
    description: str = ""
    _by_name: dict[str, Column] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update({c.name: c for c in self.columns})

    def column(self, name: str) -> Column:
        return self._by_name[name]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.arrow_type) for c in self.columns])


MEMBERS = Table(
    "members",
    (
        Column("member_id", "string", required=True),
        Column("country", "string"),
        Column("birth_date", "date"),
        Column("created_at", "timestamp", required=True),
        Column("first_name", "string"),
        Column("last_name", "string"),
        Column("headline", "string"),
        Column("position", "string"),
        Column("employer", "string"),
        Column("education", "string_list"),
        Column("skills", "string_list"),
        Column("location", "string"),
        Column("email", "string"),
        Column("phone", "string"),
        Column("gender", "string"),
        Column("age_range", "string"),
        Column("interests", "string_list"),
        Column("photo_url", "string"),
        Column("id_document_number", "string"),
        Column("salary", "number"),
    ),
    key="member_id",
    description="one row per member",
)

CONTENT = Table(
    "content",
    (
        Column("record_id", "string", required=True),
        Column("member_id", "string", required=True),
        Column("kind", "string", required=True, allowed=CONTENT_KINDS),
        Column("created_at", "timestamp", required=True),
        Column("text", "string", required=True),
        Column("visibility", "string", required=True, allowed=VISIBILITIES),
        Column("lang", "string"),
        Column("reply_to", "string"),
    ),
    key="record_id",
    description="posts, articles, comments, messages, search queries and AI-tool inputs",
)

TECHNICAL_EVENTS = Table(
    "technical_events",
    (
        Column("member_id", "string", required=True),
        Column("ts", "timestamp", required=True),
        Column("event", "string", required=True),
        Column("ip", "string"),
        Column("device_id", "string"),
        Column("user_agent", "string"),
    ),
    required=False,
    description="technical data: searches, views, logins with IP, device and browser",
)

CONSENT_EVENTS = Table(
    "consent_events",
    (
        Column("event_id", "string", required=True),
        Column("member_id", "string", required=True),
        Column("setting", "string", required=True),
        Column("value", "bool", required=True),
        # rounded up: against a cutoff (a whole microsecond) ts <= cutoff stays exact
        Column("ts", "timestamp", required=True, sub_microsecond="ceil"),
        Column("channel", "string", required=True, allowed=CONSENT_CHANNELS),
    ),
    key="event_id",
    required=False,
    description="members' training preference changes (else the consent registry is used)",
)

TABLES: dict[str, Table] = {t.name: t for t in (MEMBERS, CONTENT, TECHNICAL_EVENTS, CONSENT_EVENTS)}
