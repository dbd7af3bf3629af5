"""The rights tables of the registry, as SQLAlchemy Core objects (migration 0002 creates them)."""

from __future__ import annotations

import sqlalchemy as sa

from tamis.consent.schema import Instant, ident

metadata = sa.MetaData()

rights_requests = sa.Table(
    "rights_requests",
    metadata,
    sa.Column("request_id", ident(), primary_key=True),
    sa.Column("kind", ident(), nullable=False),
    sa.Column("member_id", ident(), nullable=False),
    sa.Column("member_ref", ident(), nullable=False),
    sa.Column("key_id", ident(), nullable=False),
    sa.Column("received_at", Instant(), nullable=False),
    sa.Column("deadline", Instant(), nullable=False),
    sa.Column("extended", sa.Boolean(), nullable=False),
    sa.Column("extension_reason", sa.Text(), nullable=True),
    sa.Column("status", ident(), nullable=False),
    sa.Column("answered_at", Instant(), nullable=True),
    sa.Column("answer", sa.Text(), nullable=True),
    sa.Column("consent_event_id", ident(), nullable=True),
    sa.Column("recorded_at", Instant(), nullable=False),
)

erasure_tombstones = sa.Table(
    "erasure_tombstones",
    metadata,
    sa.Column("member_id", ident(), primary_key=True),
    sa.Column("request_id", ident(), primary_key=True),
    sa.Column("at", Instant(), nullable=False),
)

affected_models = sa.Table(
    "affected_models",
    metadata,
    sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("model_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
    sa.Column("request_id", ident(), nullable=False),
    sa.Column("member_ref", ident(), nullable=False),
    sa.Column("snapshots", sa.Text(), nullable=False),
    sa.Column("status", ident(), nullable=False),
    sa.Column("action", ident(), nullable=True),
    sa.Column("note", sa.Text(), nullable=True),
    sa.Column("created_at", Instant(), nullable=False),
    sa.Column("resolved_at", Instant(), nullable=True),
)
