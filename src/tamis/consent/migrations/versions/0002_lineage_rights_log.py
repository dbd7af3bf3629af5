"""Lineage store, rights requests and the tamper-evident consent log.

Revision ID: 0002
Revises: 0001
Create Date: 2025-12-04

Tables: ``snapshots``, ``snapshot_members``, ``models``, ``model_snapshots`` (lineage);
``rights_requests``, ``erasure_tombstones``, ``affected_models`` (rights); ``consent_log``,
``consent_log_head``, ``log_checkpoints`` (the hash chain, see ``docs/consent-log.md``).
Logs are append-only (triggers refuse UPDATE and DELETE); ``rights_requests``,
``affected_models`` and the one-row ``consent_log_head`` change as requests are answered.

Consent events recorded before this revision are linked into the chain here, in insertion
order, with the log's v1 entry format (frozen: a later format gets its own name and code).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64
APPEND_ONLY = (
    "snapshots",
    "snapshot_members",
    "models",
    "model_snapshots",
    "erasure_tombstones",
    "consent_log",
    "log_checkpoints",
)


def _instant() -> sa.types.TypeEngine[str]:
    return sa.String(27).with_variant(postgresql.TIMESTAMP(timezone=True), "postgresql")


def _ident() -> sa.types.TypeEngine[str]:
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


def _serial() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _hash() -> sa.types.TypeEngine[str]:
    return sa.String(64)


def upgrade() -> None:
    op.create_table(
        "snapshots",
        sa.Column("snapshot_pk", _serial(), primary_key=True, autoincrement=True),
        sa.Column("snapshot_id", _ident(), nullable=False),
        sa.Column("manifest_sha256", _hash(), nullable=False),
        sa.Column("purpose", _ident(), nullable=False),
        sa.Column("policy_name", sa.Text(), nullable=False),
        sa.Column("policy_sha256", _hash(), nullable=False),
        sa.Column("cutoff", _instant(), nullable=False),
        sa.Column("members_root", _hash(), nullable=False),
        sa.Column("key_id", _ident(), nullable=False),
        sa.Column("built_at", _instant(), nullable=True),
        sa.Column("members_included", sa.BigInteger(), nullable=False),
        sa.Column("records_included", sa.BigInteger(), nullable=False),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("consent_log_seq", sa.BigInteger(), nullable=True),
        sa.Column("consent_log_head", _hash(), nullable=True),
        sa.Column("recorded_at", _instant(), nullable=False),
        sa.UniqueConstraint("manifest_sha256", name="uq_snapshots_manifest"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_snapshots_snapshot_id", "snapshots", ["snapshot_id"])
    op.create_table(
        "snapshot_members",
        sa.Column("snapshot_pk", _serial(), sa.ForeignKey("snapshots.snapshot_pk"), nullable=False),
        sa.Column("member_ref", _ident(), nullable=False),
        sa.Column("category", _ident(), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("snapshot_pk", "member_ref", "category"),
    )
    op.create_index("ix_snapshot_members_ref", "snapshot_members", ["member_ref"])
    op.create_table(
        "models",
        sa.Column("model_pk", _serial(), primary_key=True, autoincrement=True),
        sa.Column("name", _ident(), nullable=False),
        sa.Column("trained_at", _instant(), nullable=True),
        sa.Column("registered_at", _instant(), nullable=False),
        sa.UniqueConstraint("name", name="uq_models_name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "model_snapshots",
        sa.Column("model_pk", _serial(), sa.ForeignKey("models.model_pk"), nullable=False),
        sa.Column("snapshot_pk", _serial(), sa.ForeignKey("snapshots.snapshot_pk"), nullable=False),
        sa.PrimaryKeyConstraint("model_pk", "snapshot_pk"),
    )
    op.create_index("ix_model_snapshots_snapshot", "model_snapshots", ["snapshot_pk"])
    op.create_table(
        "rights_requests",
        sa.Column("request_id", _ident(), primary_key=True),
        sa.Column("kind", _ident(), nullable=False),
        sa.Column("member_id", _ident(), nullable=False),
        sa.Column("member_ref", _ident(), nullable=False),
        sa.Column("key_id", _ident(), nullable=False),
        sa.Column("received_at", _instant(), nullable=False),
        sa.Column("deadline", _instant(), nullable=False),
        sa.Column("extended", sa.Boolean(), nullable=False),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("status", _ident(), nullable=False),
        sa.Column("answered_at", _instant(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("consent_event_id", _ident(), nullable=True),
        sa.Column("recorded_at", _instant(), nullable=False),
        sa.CheckConstraint("kind IN ('access', 'objection', 'erasure')", name="ck_rights_kind"),
        sa.CheckConstraint("status IN ('open', 'answered')", name="ck_rights_status"),
    )
    op.create_index("ix_rights_requests_member", "rights_requests", ["member_id"])
    op.create_index("ix_rights_requests_ref", "rights_requests", ["member_ref"])
    op.create_index("ix_rights_requests_open", "rights_requests", ["status", "deadline"])
    op.create_table(
        "erasure_tombstones",
        sa.Column("member_id", _ident(), nullable=False),
        sa.Column("request_id", _ident(), sa.ForeignKey("rights_requests.request_id")),
        sa.Column("at", _instant(), nullable=False),
        sa.PrimaryKeyConstraint("member_id", "request_id"),
    )
    op.create_table(
        "affected_models",
        sa.Column("item_id", _serial(), primary_key=True, autoincrement=True),
        sa.Column("model_pk", _serial(), sa.ForeignKey("models.model_pk"), nullable=False),
        sa.Column(
            "request_id", _ident(), sa.ForeignKey("rights_requests.request_id"), nullable=False
        ),
        sa.Column("member_ref", _ident(), nullable=False),
        sa.Column("snapshots", sa.Text(), nullable=False),
        sa.Column("status", _ident(), nullable=False),
        sa.Column("action", _ident(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", _instant(), nullable=False),
        sa.Column("resolved_at", _instant(), nullable=True),
        sa.UniqueConstraint("model_pk", "request_id", name="uq_affected_model_request"),
        sa.CheckConstraint("status IN ('open', 'resolved')", name="ck_affected_status"),
        sa.CheckConstraint(
            "action IS NULL OR action IN ('retrain', 'unlearn', 'documented')",
            name="ck_affected_action",
        ),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "consent_log",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("kind", _ident(), nullable=False),
        sa.Column("ref", _ident(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("event_ts", _instant(), nullable=True),
        sa.Column("prev_hash", _hash(), nullable=False),
        sa.Column("entry_hash", _hash(), nullable=False),
        sa.Column("recorded_at", _instant(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('event', 'request', 'publication')", name="ck_consent_log_kind"
        ),
    )
    op.create_index("ix_consent_log_ref", "consent_log", ["kind", "ref"])
    op.create_table(
        "consent_log_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head", _hash(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_consent_log_head_one_row"),
    )
    op.create_table(
        "log_checkpoints",
        sa.Column("checkpoint_id", _serial(), primary_key=True, autoincrement=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head", _hash(), nullable=False),
        sa.Column("signed_at", _instant(), nullable=False),
        sa.Column("key_id", _ident(), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sqlite_autoincrement=True,
    )
    bind = op.get_bind()
    for table in APPEND_ONLY:
        if bind.dialect.name == "postgresql":
            # tamis_consent_append_only() comes with revision 0001
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION tamis_consent_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION tamis_consent_append_only()"
            )
        else:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'tamis: {table} is append-only; "
                    f"{verb} is not allowed'); END"
                )
    _backfill(bind)


def _backfill(bind: sa.Connection) -> None:
    """Link the consent events already recorded into the chain, in insertion order."""
    from tamis.consent import log  # the v1 entry format; frozen (see the module docstring)

    bind.execute(
        sa.text("INSERT INTO consent_log_head (id, seq, head) VALUES (1, 0, :h)"), {"h": GENESIS}
    )
    log.append_events_since(bind, log.Head(0, GENESIS), 0)


def downgrade() -> None:
    for table in (
        "log_checkpoints",
        "consent_log_head",
        "consent_log",
        "affected_models",
        "erasure_tombstones",
        "rights_requests",
        "model_snapshots",
        "models",
        "snapshot_members",
        "snapshots",
    ):
        op.drop_table(table)
