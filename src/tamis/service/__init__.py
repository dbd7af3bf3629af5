"""The member-facing service: settings page, objection form, data-use page, notice and REST API.

A FastAPI application in front of the consent registry, run with ``tamis serve`` (or embedded by a
platform with :func:`create_app`). Every write is a consent event, acknowledged only once its
transaction is committed (:mod:`.writer`).

Modules: :mod:`.config` (what a deployment chooses), :mod:`.identity` (who the member is:
the pluggable identity provider), :mod:`.security` (sessions, CSRF, DPO tokens, rate limiting),
:mod:`.writer` (group-commit writes), :mod:`.sweeper` (objections made with the switch become
rights requests, in the background), :mod:`.datause` (which snapshots hold a member's data),
:mod:`.verification` (e-mail verification of non-member objections), :mod:`.member`
(the service logic, no HTTP), :mod:`.i18n` (French and English), :mod:`.app` (the FastAPI app),
:mod:`.api` and :mod:`.pages` (routes). FastAPI is imported on first use, not with this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tamis._lazy import lazy_exports

if TYPE_CHECKING:
    from tamis.service.app import create_app
    from tamis.service.config import ServiceConfig
    from tamis.service.datause import DataUseSource, SnapshotDirSource, SnapshotUse
    from tamis.service.identity import DemoIdentityProvider, IdentityProvider, Principal
    from tamis.service.verification import ConsoleSender, MemorySender, VerificationSender

__all__ = [
    "ConsoleSender",
    "DataUseSource",
    "DemoIdentityProvider",
    "IdentityProvider",
    "MemorySender",
    "Principal",
    "ServiceConfig",
    "SnapshotDirSource",
    "SnapshotUse",
    "VerificationSender",
    "create_app",
]

_HOMES = {
    "create_app": "app",
    "ServiceConfig": "config",
    "DataUseSource": "datause",
    "SnapshotDirSource": "datause",
    "SnapshotUse": "datause",
    "DemoIdentityProvider": "identity",
    "IdentityProvider": "identity",
    "Principal": "identity",
    "ConsoleSender": "verification",
    "MemorySender": "verification",
    "VerificationSender": "verification",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, _HOMES)
