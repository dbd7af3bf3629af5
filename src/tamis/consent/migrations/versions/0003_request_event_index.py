"""An index on the consent event a rights request refers to.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

``rights_requests.consent_event_id`` names the objection event a request was recorded with
(``tamis rights object``, the objection form) or made of (a sweep of objection choices,
:meth:`tamis.rights.RightsDesk.record_objection_choices`). A sweep asks, of every objection
event, whether a request refers to it; through the member index that costs a scan of the
member's requests, long for a member who has changed their mind thousands of times. Not unique:
a registry of revision 0002 may hold two requests for one event (the objection form's check and
its record were two transactions then), and a migration must not fail on it.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_rights_requests_event", "rights_requests", ["consent_event_id"])


def downgrade() -> None:
    op.drop_index("ix_rights_requests_event", table_name="rights_requests")
