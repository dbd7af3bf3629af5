"""Consent registry: append-only consent_events and consent_rejects.

Revision ID: 0001
Revises:
Create Date: 2025-11-28

Self-contained on purpose (no import of the live schema module), so that this revision keeps
creating exactly what it created the day it shipped.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _instant() -> sa.types.TypeEngine[str]:
    return sa.String(27).with_variant(postgresql.TIMESTAMP(timezone=True), "postgresql")


def _ident() -> sa.types.TypeEngine[str]:
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


def _serial() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


_PG_TRIGGERS = [
    """
    CREATE FUNCTION tamis_consent_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'tamis: % is append-only; % is not allowed', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'integrity_constraint_violation';
    END
    $$
    """,
    """
    CREATE TRIGGER consent_events_append_only BEFORE UPDATE OR DELETE ON consent_events
    FOR EACH ROW EXECUTE FUNCTION tamis_consent_append_only()
    """,
    """
    CREATE TRIGGER consent_events_no_truncate BEFORE TRUNCATE ON consent_events
    FOR EACH STATEMENT EXECUTE FUNCTION tamis_consent_append_only()
    """,
    """
    CREATE FUNCTION tamis_consent_reject_resolve_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE'
           AND OLD.resolved_at IS NULL AND NEW.resolved_at IS NOT NULL
           AND (NEW.reject_id, NEW.file, NEW.line, NEW.member_id, NEW.event_id, NEW.field,
                NEW.reason, NEW.recorded_at)
               IS NOT DISTINCT FROM
               (OLD.reject_id, OLD.file, OLD.line, OLD.member_id, OLD.event_id, OLD.field,
                OLD.reason, OLD.recorded_at)
        THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION
            'tamis: consent_rejects only allows resolving an unresolved reject; % is not allowed',
            TG_OP USING ERRCODE = 'integrity_constraint_violation';
    END
    $$
    """,
    """
    CREATE TRIGGER consent_rejects_resolve_only BEFORE UPDATE OR DELETE ON consent_rejects
    FOR EACH ROW EXECUTE FUNCTION tamis_consent_reject_resolve_only()
    """,
    """
    CREATE TRIGGER consent_rejects_no_truncate BEFORE TRUNCATE ON consent_rejects
    FOR EACH STATEMENT EXECUTE FUNCTION tamis_consent_append_only()
    """,
]

_RESOLVE_ONLY = "tamis: consent_rejects only allows resolving an unresolved reject"
_SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER consent_events_no_update BEFORE UPDATE ON consent_events
    BEGIN SELECT RAISE(ABORT, 'tamis: consent_events is append-only; UPDATE is not allowed'); END
    """,
    """
    CREATE TRIGGER consent_events_no_delete BEFORE DELETE ON consent_events
    BEGIN SELECT RAISE(ABORT, 'tamis: consent_events is append-only; DELETE is not allowed'); END
    """,
    f"""
    CREATE TRIGGER consent_rejects_resolve_only BEFORE UPDATE ON consent_rejects
    WHEN OLD.resolved_at IS NOT NULL OR NEW.resolved_at IS NULL
      OR NEW.reject_id IS NOT OLD.reject_id OR NEW.file IS NOT OLD.file
      OR NEW.line IS NOT OLD.line OR NEW.member_id IS NOT OLD.member_id
      OR NEW.event_id IS NOT OLD.event_id OR NEW.field IS NOT OLD.field
      OR NEW.reason IS NOT OLD.reason OR NEW.recorded_at IS NOT OLD.recorded_at
    BEGIN
        SELECT RAISE(ABORT, '{_RESOLVE_ONLY}; UPDATE is not allowed');
    END
    """,
    """
    CREATE TRIGGER consent_rejects_no_delete BEFORE DELETE ON consent_rejects
    BEGIN SELECT RAISE(ABORT, 'tamis: consent_rejects is append-only; DELETE is not allowed'); END
    """,
]


def upgrade() -> None:
    op.create_table(
        "consent_events",
        sa.Column("seq", _serial(), primary_key=True, autoincrement=True),
        sa.Column("event_id", _ident(), nullable=False),
        sa.Column("member_id", _ident(), nullable=False),
        sa.Column("setting", _ident(), nullable=False),
        sa.Column("value", sa.Boolean(), nullable=False),
        sa.Column("ts", _instant(), nullable=False),
        sa.Column("channel", _ident(), nullable=False),
        sa.Column("recorded_at", _instant(), nullable=False),
        sa.UniqueConstraint("event_id", name="uq_consent_events_event_id"),
        sqlite_autoincrement=True,
    )
    # In the decision order (model.py), covering: state() is one index probe, and bulk_state()
    # an index-only scan in (member, decision) order, with no sort before the window function.
    op.create_index(
        "ix_consent_events_decision",
        "consent_events",
        ["setting", "member_id", sa.text("ts DESC"), "value", "event_id"],
    )
    op.create_table(
        "consent_rejects",
        sa.Column("reject_id", _serial(), primary_key=True, autoincrement=True),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("line", sa.BigInteger(), nullable=True),
        sa.Column("member_id", _ident(), nullable=True),
        sa.Column("event_id", _ident(), nullable=True),
        sa.Column("field", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_at", _instant(), nullable=False),
        sa.Column("resolved_at", _instant(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_consent_rejects_member", "consent_rejects", ["member_id"])
    dialect = op.get_bind().dialect.name
    for statement in _PG_TRIGGERS if dialect == "postgresql" else _SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    # Dropping the tables drops their triggers; the PostgreSQL trigger functions go last.
    op.drop_table("consent_rejects")
    op.drop_table("consent_events")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS tamis_consent_reject_resolve_only()")
        op.execute("DROP FUNCTION IF EXISTS tamis_consent_append_only()")
