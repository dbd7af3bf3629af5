"""What a deployment of the service chooses: registry, policy, identity, snapshots, secrets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tamis.service.sweeper import SWEEP_INTERVAL_S

SESSION_SECRET_ENV = "TAMIS_SESSION_SECRET"  # nosec B105  # an env var name
SESSION_SECRET_FILE_ENV = "TAMIS_SESSION_SECRET_FILE"  # nosec B105  # an env var name
DPO_TOKEN_ENV = "TAMIS_DPO_TOKEN"  # nosec B105  # an env var name


@dataclass(frozen=True)
class ServiceConfig:
    """Settings of one service instance.

    ``db``: the registry (URL or SQLite path; None: ``$TAMIS_DB`` or the default file).
    ``policy``: a preset name or a policy file; the setting shown is ``setting``.
    ``export``: the export directory the demo identity provider reads its members from.
    ``snapshots``: the directory whose subfolders are published snapshots (data-use page).
    ``session_secret``: signs session cookies (None: ``$TAMIS_SESSION_SECRET`` or a 0600 file).
    ``dpo_token``: the bearer token of the DPO API (None: ``$TAMIS_DPO_TOKEN``; unset: disabled).
    ``secure_cookies``: mark cookies ``Secure`` (on behind HTTPS; off for loopback demos).
    ``objection_burst`` / ``objection_per_hour``: the token bucket of the public objection form,
    per client IP. ``session_max_age_s``: how long a session cookie is honoured.
    ``max_batch``: the most events the group-commit writer puts in one transaction.
    ``fast_path``: answer ``PUT /api/v1/me/setting`` from a cookie session without the
    framework (:mod:`.fastpath`; same checks, same answers, less CPU per write).
    ``sweep_interval_s``: how often the objection sweeper (:mod:`.sweeper`) looks for objections
    recorded as choices without a request, besides when one is made with the switch.
    """

    db: str | None = None
    policy: str = "linkedin-2025"
    setting: str = "genai_training"
    export: Path | None = None
    snapshots: Path | None = None
    session_secret: str | None = None
    dpo_token: str | None = None
    secure_cookies: bool = False
    objection_burst: int = 5
    objection_per_hour: float = 20.0
    session_max_age_s: int = 8 * 3600
    max_batch: int = 512
    public_url: str | None = None
    fast_path: bool = True
    sweep_interval_s: float = SWEEP_INTERVAL_S
