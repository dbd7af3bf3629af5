"""Output guard: member personal data in model generations is redacted or blocked.

::

    from tamis.guard import Guard
    guard = Guard(MemberDirectory.from_export(export_dir))
    result = guard.check("Call Jeanne Martin on 06 12 34 56 78", mode="redact")
    result.action, result.text, [f.to_dict() for f in result.findings]

The HTTP route lives in :mod:`tamis.guard.api` (FastAPI, imported only by the service).
"""

from __future__ import annotations

from tamis.guard._guard import GUARD_DETECTORS, Finding, Guard, GuardResult

__all__ = ["GUARD_DETECTORS", "Finding", "Guard", "GuardResult"]
