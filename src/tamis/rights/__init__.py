"""Members' rights over their training data: access, objection, erasure (GDPR Art. 15, 21, 17).

* :mod:`tamis.rights.requests`: :class:`RightsDesk` records requests, with their one-month
  deadline (extendable, Art. 12(3)), objections as consent events, erasures as tombstones, and
  sweeps objections made as choices into requests (:class:`ChoiceSweep`);
* :mod:`tamis.rights.impact`: snapshots and models that used a member's data, and the
  affected-models queue the DPO works through (retrain, unlearn, or document why not);
* :mod:`tamis.rights.report`: the data-use report of an access request, as JSON and HTML.

Everything lives in the registry database, next to the consent events and the lineage store, and
every request (and each change to one) is an entry of the consent log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tamis._lazy import lazy_exports

if TYPE_CHECKING:
    from tamis.rights.impact import ACTIONS, AffectedModel
    from tamis.rights.report import AccessReport, build_access_report
    from tamis.rights.requests import (
        KINDS,
        ChoiceSweep,
        Outcome,
        RightsDesk,
        RightsRequest,
        add_months,
        erased_members,
    )

__all__ = [
    "ACTIONS",
    "KINDS",
    "AccessReport",
    "AffectedModel",
    "ChoiceSweep",
    "Outcome",
    "RightsDesk",
    "RightsRequest",
    "add_months",
    "build_access_report",
    "erased_members",
]

_HOMES = {
    "ACTIONS": "impact",
    "AffectedModel": "impact",
    "AccessReport": "report",
    "build_access_report": "report",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__, default="requests")
