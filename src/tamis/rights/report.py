"""The data-use report of an access request (Art. 15): JSON for machines, HTML for the member.

It lists every recorded snapshot that holds the member's data (purpose, policy, cutoff, when it
was built, records per category) and every model trained on those snapshots (name, when trained),
with the member's consent history and rights requests. Each snapshot is searched under the
member's pseudonym for the key it was built with, from the pseudonym key ring (so snapshots built
before a key rotation are found while the ring keeps the retired key). Snapshots built with a key
the ring no longer holds cannot be searched: they are counted (``snapshots_unverifiable``) and
said in a sentence, so that the report never claims more than it checked.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tamis.consent.registry import ConsentRegistry
from tamis.keys import KeyRing, PseudonymKey
from tamis.lineage.store import LineageStore, snapshots
from tamis.timefmt import format_instant

REPORT_FORMAT = "tamis.access-report/v2"  # v2: snapshots_unverifiable (was snapshots_other_key)


@dataclass(frozen=True)
class AccessReport:
    """A member's data-use report; :meth:`to_json` and :meth:`to_html` render it."""

    data: dict[str, Any]

    def to_json(self) -> str:
        return json.dumps(self.data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    def to_html(self) -> str:
        return render_html(self.data)


def build_access_report(
    registry: ConsentRegistry,
    keys: KeyRing | PseudonymKey,
    member_id: str,
    *,
    request_id: str | None = None,
    now: datetime | None = None,
) -> AccessReport:
    """The data-use report of ``member_id`` from the lineage store and the registry.

    ``keys`` is the pseudonym key ring (a single key is a ring of one).
    """
    from tamis.rights.impact import as_ring, member_refs
    from tamis.rights.requests import RightsDesk

    ring = as_ring(keys)
    requests = RightsDesk(registry, ring).requests(member_id=member_id)
    # the member's pseudonyms under the ring's keys, and those recorded with their requests
    # (still right for their key if it has left the ring since)
    refs = {r.key_id: r.member_ref for r in requests} | member_refs(ring, member_id)
    store = LineageStore(registry)
    uses = sorted(
        (use for key_id, ref in refs.items() for use in store.member_uses(ref, key_id)),
        key=lambda use: (use[0].cutoff, use[0].snapshot_pk),
    )
    with registry.reading("counting snapshots") as connection:
        by_key = connection.execute(
            sa.select(snapshots.c.key_id, sa.func.count()).group_by(snapshots.c.key_id)
        ).all()
    checked = sum(int(n) for key_id, n in by_key if key_id in refs)
    unverifiable = sum(int(n) for key_id, n in by_key if key_id not in refs)
    models: dict[str, dict[str, Any]] = {}
    snapshot_list = []
    for record, categories, model_list in uses:
        snapshot_list.append(
            {
                **record.as_dict(),
                "member_ref": refs[record.key_id],
                "records": sum(categories.values()),
                "categories": dict(sorted(categories.items())),
                "models": [m.name for m in model_list],
            }
        )
        for model in model_list:
            entry = models.setdefault(
                model.name, {**model.as_dict(), "snapshots_with_your_data": []}
            )
            entry["snapshots_with_your_data"].append(record.snapshot_id)
    history = registry.history(member_id)
    data = {
        "format": REPORT_FORMAT,
        "member_id": member_id,
        "member_ref": refs[ring.active.key_id],
        "generated_at": format_instant((now or datetime.now(UTC)).replace(microsecond=0)),
        "request_id": request_id,
        "snapshots_checked": checked,
        "snapshots_unverifiable": unverifiable,
        "unverifiable_notice": unverifiable_notice(unverifiable),
        "snapshots": snapshot_list,
        "models": [models[name] for name in sorted(models)],
        "consent_history": [
            {
                "ts": format_instant(e.ts),
                "setting": e.setting,
                "value": e.value,
                "channel": e.channel,
                "event_id": e.event_id,
            }
            for e in history
        ],
        "requests": [r.as_dict() for r in requests],
    }
    return AccessReport(data)


def unverifiable_notice(count: int) -> str | None:
    """The plain sentence saying that ``count`` snapshots could not be checked (None for 0)."""
    if not count:
        return None
    these = "1 training snapshot was" if count == 1 else f"{count} training snapshots were"
    return (
        f"{these} built with a pseudonym key that is no longer kept, so we could not check "
        "whether they contain your data; they are not listed below."
    )


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th scope='col'>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
    "color:#1b1b1b}table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}"
    "th,td{border:1px solid #ccc;padding:.35rem .5rem;text-align:left;vertical-align:top}"
    "th{background:#f2f2f2}.muted{color:#555}"
)


def render_html(data: dict[str, Any]) -> str:
    """A readable, self-contained HTML page of the report (every value escaped)."""
    e = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>How your data was used — {e(data['member_id'])}</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>How your data was used to train AI models</h1>",
        f"<p class='muted'>Member {e(data['member_id'])} · report generated "
        f"{e(data['generated_at'])} · {data['snapshots_checked']} training snapshot(s) checked",
        "</p>",
    ]
    if data["unverifiable_notice"]:
        parts.append(f"<p id='unverifiable'><strong>{e(data['unverifiable_notice'])}</strong></p>")
    parts.append("<h2>Training snapshots that contain your data</h2>")
    if data["snapshots"]:
        parts.append(
            _table(
                ["snapshot", "purpose", "data up to", "built", "records", "by category", "models"],
                [
                    [
                        s["snapshot_id"],
                        s["purpose"],
                        s["cutoff"],
                        s["built_at"] or "",
                        str(s["records"]),
                        ", ".join(f"{c}: {n}" for c, n in s["categories"].items()),
                        ", ".join(s["models"]) or "none",
                    ]
                    for s in data["snapshots"]
                ],
            )
        )
    else:
        parts.append("<p>None: no training snapshot contains your data.</p>")
    parts.append("<h2>Models trained on your data</h2>")
    if data["models"]:
        parts.append(
            _table(
                ["model", "trained", "snapshots with your data"],
                [
                    [m["name"], m["trained_at"] or "", ", ".join(m["snapshots_with_your_data"])]
                    for m in data["models"]
                ],
            )
        )
    else:
        parts.append("<p>None.</p>")
    parts.append("<h2>Your choices</h2>")
    if data["consent_history"]:
        parts.append(
            _table(
                ["when", "setting", "choice", "how"],
                [
                    [c["ts"], c["setting"], "allowed" if c["value"] else "objected", c["channel"]]
                    for c in data["consent_history"]
                ],
            )
        )
    else:
        parts.append("<p>No recorded choice: the default of your region applies.</p>")
    parts.append("<h2>Your requests</h2>")
    if data["requests"]:
        parts.append(
            _table(
                ["request", "received", "answer due", "status"],
                [
                    [r["kind"], r["received_at"], r["deadline"], r["status"]]
                    for r in data["requests"]
                ],
            )
        )
    parts.append("</body></html>\n")
    return "".join(parts)
