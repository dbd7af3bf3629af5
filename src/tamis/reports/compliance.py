"""The compliance report of one snapshot: the CNIL's four conditions, with measured figures.

Sections follow the CNIL's conditions for training on data collected under legitimate interest:
clear information, an effective right to object, minimisation, and technical measures (against
memorisation among them). Every number comes from a query of the :class:`Evidence` session, so the
document cannot drift from what the build did::

    from tamis.reports import compliance_report
    doc = compliance_report(Path("demo/snapshots/minimal"), registry="demo/registry.db",
                            export=Path("demo/export"))
    doc.write(Path("demo/reports/minimal.html"))
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tamis.errors import InputError
from tamis.policy import diff_policies, load_policy
from tamis.policy.categories import ALL_CATEGORIES, KIND_CATEGORY, PROFILE_FIELDS, covers
from tamis.reports import plots
from tamis.reports.document import Check, Document, Figures, Plot, Pre, Section, Table, Text
from tamis.reports.evidence import Evidence, Figure, FigureTable, open_evidence, sql_str
from tamis.reports.notice import LANGS, render_notice
from tamis.reports.residual import (
    DEFAULT_MODE,
    DEFAULT_SAMPLE,
    DEFAULT_SEED,
    estimate_residual_pii,
    sample_sql,
)

AUDIT_FILE = "audit.json"


@dataclass(frozen=True)
class ComplianceOptions:
    """Inputs of a compliance report besides the snapshot."""

    snapshots: tuple[Path, ...] = ()
    registry: str | None = None
    export: Path | None = None
    audit: Path | None = None
    policy: str | Path | None = None
    sample: int = DEFAULT_SAMPLE
    seed: int = DEFAULT_SEED
    pii_mode: str = DEFAULT_MODE
    command: str = ""


def _sql_list(values: Sequence[str]) -> str:
    return "(" + ", ".join(sql_str(v) for v in values) + ")" if values else "(NULL)"


def _state_at_cutoff(ev: Evidence) -> str:
    """Each member's deciding event at the cutoff (the data contract's rule), as SQL."""
    return f"""
        SELECT member_id, value FROM (
            SELECT member_id, value, row_number() OVER (
                PARTITION BY member_id ORDER BY ts DESC, value ASC, event_id ASC) AS rn
            FROM consent_events
            WHERE setting = {sql_str(ev.setting)} AND ts <= {ev.cutoff_sql}
        ) WHERE rn = 1"""  # nosec B608  # constant names, quoted literals


def compliance_report(snapshot: Path, options: ComplianceOptions | None = None) -> Document:
    """Build the compliance report of ``snapshot`` (see :class:`ComplianceOptions`)."""
    options = options or ComplianceOptions()
    ev = open_evidence(
        Path(snapshot),
        snapshots=options.snapshots,
        registry=options.registry,
        export=options.export,
        policy=options.policy,
    )
    try:
        return _Builder(ev, options).build()
    finally:
        ev.close()


class _Builder:
    def __init__(self, ev: Evidence, options: ComplianceOptions) -> None:
        self.ev = ev
        self.o = options
        self.m = ev.manifest
        self.p = ev.policy.policy
        self.purpose = self.m["purpose"]
        self.policy_ref = self.m["policy"].get("source", self.p.name).removeprefix("preset:")

    # --- summary ----------------------------------------------------------------------------
    def summary(self) -> Section:
        ev = self.ev
        s = Section("Summary")
        figs = [
            ev.manifest_int("records.input", "records in the export", "$.records.input"),
            ev.manifest_int("records.included", "records in the snapshot", "$.records.included"),
            ev.scalar("data.rows", "rows in data/*.parquet", "SELECT count(*) FROM records"),
            ev.manifest_int("members.input", "members in the export", "$.members.input"),
            ev.manifest_int(
                "members.eligible", "members eligible at the cutoff", "$.members.eligible"
            ),
            ev.scalar(
                "data.members",
                "members with data in the snapshot (members.parquet)",
                "SELECT count(DISTINCT member_ref) FROM snapshot_members",
            ),
            ev.manifest_int(
                "members.objected",
                "objections honoured (members out)",
                "$.members.excluded_by_reason.objected",
            ),
        ]
        s.add(Figures(tuple(figs)))
        rows_ok = figs[1].value == figs[2].value
        s.add(
            Check(
                "the manifest's included records equal the rows of the data files",
                rows_ok,
                (figs[1].ref, figs[2].ref),
            )
        )
        s.add(self._verified())
        return s

    def _verified(self) -> Check:
        """Whether the snapshot's files are the ones its manifest lists (every figure of this
        report is read from them): ``tamis snapshot verify``."""
        from tamis.errors import VerificationError
        from tamis.pipeline.manifest import verify_snapshot

        try:
            checked = verify_snapshot(self.ev.snapshot)
        except VerificationError as exc:
            return Check(f"the snapshot's files do not match its manifest: {exc}", False)
        return Check(
            f"the snapshot's {len(checked)} files match its manifest (tamis snapshot verify)", True
        )

    # --- 1. information ---------------------------------------------------------------------
    def information(self) -> Section:
        ev = self.ev
        s = Section("Information (CNIL condition 1: clear information)")
        s.add(
            Text(
                "The notice below is generated from the policy that drove this build; its version "
                "carries the policy's sha256, so a changed policy is a new notice. Each region's "
                "notice date and start date are the policy's `notice_from` and `start`."
            )
        )
        regions = ev.table(
            "information.regions",
            "Notice and start date per region",
            """
            SELECT name AS region,
                   CASE WHEN countries = '*' THEN 'all other countries'
                        ELSE len(string_split(countries, ' '))::VARCHAR || ' countries' END
                        AS countries,
                   notice_from::DATE AS notice_first_served, start_at::DATE AS start,
                   date_diff('day', notice_from, start_at) AS days_of_notice
            FROM jurisdictions ORDER BY start_at, name
            """,
        )
        s.add(Table(regions))
        late = [
            str(r)
            for r, d in zip(regions.column("region"), regions.column("days_of_notice"), strict=True)
            if d is None or d <= 0
        ]
        s.add(
            Check(
                "in every region the notice was served before the start date"
                + (f" (not in: {', '.join(late)})" if late else ""),
                not late if regions.rows else None,
                (regions.ref,),
            )
        )
        for lang in LANGS:
            notice = render_notice(ev.policy, lang, self.purpose)
            s.add(Pre(notice.markdown, f"Notice ({lang.upper()}), version {notice.version}"))
        return s

    # --- 2. right to object -----------------------------------------------------------------
    def objection(self) -> tuple[Section, list[Plot]]:
        ev = self.ev
        s = Section("Right to object (CNIL condition 2)")
        label = self.p.settings[self.p.purpose(self.purpose).setting].label.en
        s.add(
            Text(
                f"Members object by turning off *{label}* in Settings & Privacy > Data privacy, "
                "one click from the notice (channel `settings_page`); non-members and members who "
                "prefer it use the objection form (`objection_form`); support and API requests are "
                "recorded with their channel. An objection puts all the member's data out, older "
                "data included, from the first snapshot whose cutoff follows it."
            )
        )
        honoured = ev.manifest_int(
            "objection.honoured",
            "objections honoured in this snapshot (members out)",
            "$.members.excluded_by_reason.objected",
        )
        if not ev.has_registry:
            s.add(Figures((honoured,)))
            s.add(
                Check(
                    "objections recorded before the cutoff could not be reconciled: no registry "
                    "given (--db)",
                    None,
                )
            )
            s.add(*self._since_the_build())
            return s, []
        setting = sql_str(ev.setting)
        channels = ev.table(
            "objection.by_channel",
            "Objections received, by channel (whole registry)",
            f"""
            SELECT channel, count(*) AS objections, count(DISTINCT member_id) AS members
            FROM consent_events WHERE setting = {setting} AND NOT value
            GROUP BY channel ORDER BY channel
            """,  # nosec B608  # constant names, quoted literals
        )
        s.add(Table(channels))
        figs: list[Figure] = []
        figs.append(
            ev.scalar(
                "objection.before_cutoff",
                "objection events recorded at or before the cutoff",
                f"SELECT count(*) FROM consent_events WHERE setting = {setting} AND NOT value "
                f"AND ts <= {ev.cutoff_sql}",  # nosec B608  # constant names, quoted literals
            )
        )
        figs.append(
            ev.scalar(
                "objection.after_cutoff",
                "objection events after the cutoff (for later snapshots)",
                f"SELECT count(*) FROM consent_events WHERE setting = {setting} AND NOT value "
                f"AND ts > {ev.cutoff_sql}",  # nosec B608  # constant names, quoted literals
            )
        )
        figs.append(
            ev.scalar(
                "objection.objecting_at_cutoff",
                "members objecting at the cutoff (registry, all members)",
                f"SELECT count(*) FROM ({_state_at_cutoff(ev)}) WHERE NOT value",  # nosec B608  # constant names, quoted literals
            )
        )
        if ev.has_export:
            regions = ev.table(
                "objection.by_region",
                "Objection events by region, before and after the region's start date",
                f"""
                SELECT COALESCE(r.jurisdiction, '(region unknown or not covered)') AS region,
                       count(*) FILTER (WHERE e.ts < j.start_at) AS before_start,
                       count(*) FILTER (WHERE e.ts >= j.start_at) AS after_start,
                       count(*) FILTER (WHERE j.start_at IS NULL) AS no_start
                FROM consent_events e
                JOIN export_members m ON m.member_id = e.member_id
                LEFT JOIN country_rules r ON r.country = m.country
                LEFT JOIN jurisdictions j ON j.name = r.jurisdiction
                WHERE e.setting = {setting} AND NOT e.value
                GROUP BY ALL ORDER BY region
                """,  # nosec B608  # constant names, quoted literals
            )
            s.add(Table(regions))
            figs.append(
                ev.scalar(
                    "objection.non_members",
                    "objection events from people who are not members (objection form)",
                    f"""
                    SELECT count(*) FROM consent_events
                    WHERE setting = {setting} AND NOT value
                      AND member_id NOT IN (SELECT member_id FROM export_members)
                    """,  # nosec B608  # constant names, quoted literals
                )
            )
            expected = ev.scalar(
                "objection.expected",
                "members objecting at the cutoff in a started region (should be out)",
                f"""
                WITH state AS ({_state_at_cutoff(ev)})
                SELECT count(*) FROM export_members m
                JOIN country_rules r ON r.country = m.country
                JOIN jurisdictions j ON j.name = r.jurisdiction
                LEFT JOIN state s ON s.member_id = m.member_id
                WHERE j.start_at <= {ev.cutoff_sql}
                  AND COALESCE(s.value, j.default_allow) = false
                """,  # nosec B608  # constant names, quoted literals
            )
            figs += [expected, honoured]
            s.add(Figures(tuple(figs)))
            s.add(
                Check(
                    "objections honoured in this snapshot equal the objections recorded before "
                    "the cutoff (members of a started region)",
                    expected.value == honoured.value,
                    (expected.ref, honoured.ref),
                )
            )
        else:
            figs.append(honoured)
            s.add(Figures(tuple(figs)))
            s.add(
                Check(
                    "per-region figures and the reconciliation of honoured objections need the "
                    "export the snapshot was built from (--export)",
                    None,
                )
            )
        # Counts can agree while the members differ: each objector, by pseudonym
        objectors = [
            r[0]
            for r in ev.con.sql(
                f"SELECT member_id FROM ({_state_at_cutoff(ev)}) WHERE NOT value"  # nosec B608  # constant names, quoted literals
            ).fetchall()
        ]
        s.add(
            self._none_in_snapshot(objectors, "member objecting at the cutoff (this registry, now)")
        )
        s.add(*self._since_the_build())
        s.add(
            Text(
                "**Time from objection to the first snapshot that excludes it** (the first "
                "snapshot given to this report whose cutoff is at or after the objection)."
            )
        )
        snaps = ev.table(
            "objection.snapshots",
            "Snapshots considered",
            "SELECT snapshot_id, policy, cutoff FROM snapshots ORDER BY cutoff, snapshot_id",
        )
        s.add(Table(snaps))
        if ev.has_export:
            scope = "objections made after their region's start"
            objections = f"""
                SELECT e.event_id, e.ts FROM consent_events e
                JOIN export_members m ON m.member_id = e.member_id
                JOIN country_rules r ON r.country = m.country
                JOIN jurisdictions j ON j.name = r.jurisdiction
                WHERE e.setting = {setting} AND NOT e.value AND e.ts >= j.start_at"""  # nosec B608  # constant names, quoted literals
        else:
            scope = "all objections (no --export: regions unknown)"
            objections = (
                f"SELECT event_id, ts FROM consent_events WHERE setting = {setting} AND NOT value"  # nosec B608  # constant names, quoted literals
            )
        latency = ev.table(
            "objection.latency",
            f"Days from objection to first excluding snapshot: {scope}",
            f"""
            WITH o AS ({objections}),
                 f AS (SELECT o.event_id, o.ts, min(s.cutoff) AS first_cutoff
                       FROM o LEFT JOIN snapshots s ON s.cutoff >= o.ts
                       GROUP BY o.event_id, o.ts),
                 d AS (SELECT first_cutoff, date_diff('second', ts, first_cutoff) / 86400.0 AS days
                       FROM f)
            SELECT count(*) AS objections, count(first_cutoff) AS covered,
                   count(*) - count(first_cutoff) AS not_yet_covered,
                   round(median(days), 1) AS median_days,
                   round(quantile_cont(days, 0.9), 1) AS p90_days,
                   round(max(days), 1) AS max_days
            FROM d
            """,  # nosec B608  # constant names, quoted literals
        )
        s.add(Table(latency))
        over_time = ev.table(
            "consent.over_time",
            "Consent state on the first day of each month, by region",
            f"""
            WITH months AS (
                SELECT unnest(generate_series(
                    date_trunc('month', (SELECT min(ts) FROM consent_events
                                          WHERE setting = {setting})) + INTERVAL 1 MONTH,
                    {ev.cutoff_sql}, INTERVAL 1 MONTH)) AS month_start),
            ranked AS (
                SELECT mo.month_start, e.member_id, e.value, row_number() OVER (
                    PARTITION BY mo.month_start, e.member_id
                    ORDER BY e.ts DESC, e.value ASC, e.event_id ASC
                ) AS rn
                FROM months mo JOIN consent_events e ON e.ts < mo.month_start
                WHERE e.setting = {setting})
            SELECT month_start::DATE AS month, {self._region_expr()} AS region,
                   count(*) FILTER (WHERE NOT value) AS objecting,
                   count(*) FILTER (WHERE value) AS allowing
            FROM ranked {self._region_join()}
            WHERE rn = 1 GROUP BY ALL ORDER BY month, region
            """,  # nosec B608  # constant names, quoted literals
        )
        plot = Plot(
            "consent-over-time",
            "Members objecting, by region, over time",
            plots.lines_by_group(
                over_time, "month", "region", "objecting", "Members objecting (state on the 1st)"
            ),
            (over_time.ref,),
        )
        return s, [plot]

    def _none_in_snapshot(self, member_ids: list[str], who: str) -> Check:
        """Whether none of ``member_ids`` has data in this snapshot: their pseudonyms, under the
        key the snapshot was built with, are not in ``members.parquet``. Neutral when that key
        is not available here (no key is ever made for the question)."""
        from tamis.errors import TamisError
        from tamis.keys import KEY_ENV, KEY_FILE_ENV, default_key_file, load_key

        key_id = self.m.get("key_id")
        keyed = (
            os.environ.get(KEY_ENV)
            or Path(os.environ.get(KEY_FILE_ENV) or default_key_file()).exists()
        )
        try:
            key = load_key(key_id=key_id) if key_id and keyed else None
        except TamisError:
            key = None
        if key is None:
            return Check(
                f"no {who} has data in this snapshot: not checked, the snapshot's pseudonym key "
                f"({key_id or 'unnamed'}) is not available here",
                None,
            )
        refs = set(key.member_refs(member_ids))
        present = {
            r[0]
            for r in self.ev.con.sql("SELECT DISTINCT member_ref FROM snapshot_members").fetchall()
        }
        found = len(refs & present)
        return Check(
            f"no {who} has data in this snapshot ({len(member_ids):,} checked by pseudonym"
            + (f"; {found:,} found" if found else "")
            + ")",
            found == 0,
        )

    def _since_the_build(self) -> list[Check]:
        """What the manifest says about objections after the cutoff and erasures, and, with a
        registry, erased members whose data the snapshot holds."""
        consent = self.m.get("consent", {})
        checks = []
        after = consent.get("objected_after_cutoff")
        if after is not None:
            checks.append(
                Check(
                    f"members this snapshot keeps in (eligible at its cutoff) who had objected by "
                    f"the build, after the cutoff: {after:,} (their data is in as of the cutoff; "
                    "they asked that it no longer be used)",
                    after == 0,
                )
            )
        erasures = consent.get("erasures")
        if erasures is not None and erasures.get("registry") is None:
            checks.append(
                Check("no erasure tombstone was checked when this snapshot was built", False)
            )
        if self.o.registry is not None:
            from tamis.consent import open_registry
            from tamis.rights import erased_members

            with open_registry(self.o.registry, existing=True) as registry:
                erased = erased_members(registry)
            checks.append(self._none_in_snapshot(erased, "erased member (this registry, now)"))
        return checks

    def _region_expr(self) -> str:
        if self.ev.has_export:
            return (
                "CASE WHEN m.member_id IS NULL THEN '(not a member)' "
                "ELSE COALESCE(r.jurisdiction, '(region unknown)') END"
            )
        return "'all (no --export)'"

    def _region_join(self) -> str:
        if self.ev.has_export:
            return (
                "LEFT JOIN export_members m ON m.member_id = ranked.member_id "
                "LEFT JOIN country_rules r ON r.country = m.country"
            )
        return ""

    # --- 3. minimisation --------------------------------------------------------------------
    def minimisation(self) -> tuple[Section, list[Plot]]:
        ev = self.ev
        s = Section("Minimisation (CNIL condition 3)")
        minimal = load_policy("minimal")
        diff = diff_policies(self.p, minimal.policy)
        pdiff = next((d for d in diff.purposes if d.purpose == self.purpose), None)
        used = set(self.p.used_categories(self.purpose))
        used_min = (
            set(minimal.policy.used_categories(self.purpose))
            if self.purpose in minimal.policy.purposes
            else set()
        )
        diff_cmd = f"tamis policy diff {self.policy_ref} minimal"
        rows = []
        for cat in sorted(used | used_min):
            rows.append(
                (
                    cat,
                    _fields_of(cat),
                    "yes" if cat in used else "no",
                    "yes" if cat in used_min else "no",
                )
            )
        s.add(
            Table(
                ev.command_table(
                    "minimisation.categories",
                    f"Categories and fields used: {self.p.name} vs minimal",
                    ("category", "fields or content", self.p.name, "minimal"),
                    rows,
                    f"tamis policy show {self.policy_ref}; tamis policy show minimal",
                )
            )
        )
        differ = sorted(used ^ used_min)
        differing = ev.command_table(
            "minimisation.diff",
            f"Categories that differ from the minimal preset ({len(differ)})",
            ("category", f"only in {self.p.name}", "only in minimal"),
            [(c, "yes" if c in used else "", "yes" if c in used_min else "") for c in differ],
            diff_cmd,
        )
        s.add(Table(differing))
        if pdiff is not None and (pdiff.kinds_only_a or pdiff.visibility_only_a):
            s.add(
                Text(
                    f"Beyond minimal, this policy also uses content kinds "
                    f"{', '.join(pdiff.kinds_only_a) or '—'} and visibility "
                    f"{', '.join(pdiff.visibility_only_a) or '—'} (`{diff_cmd}`)."
                )
            )
        reasons = ev.table(
            "minimisation.exclusions",
            "Records and members excluded, by reason",
            """
            WITH rec AS (SELECT key AS reason, value::BIGINT AS n
                         FROM manifest, json_each(m->'$.records.excluded_by_reason')),
                 mem AS (SELECT key AS reason, value::BIGINT AS n
                         FROM manifest, json_each(m->'$.members.excluded_by_reason'))
            SELECT COALESCE(rec.reason, mem.reason) AS reason, COALESCE(rec.n, 0) AS records,
                   COALESCE(mem.n, 0) AS members
            FROM rec FULL JOIN mem ON rec.reason = mem.reason
            ORDER BY records DESC, reason
            """,
        )
        s.add(Table(reasons))
        excluded_cats = sorted(
            c for c in ALL_CATEGORIES if any(covers(x, c) for x in self.p.exclusions.categories)
        )
        sens = [
            ev.manifest_int(
                "minimisation.sensitive",
                "records dropped as special-category data (sensitive)",
                "$.records.excluded_by_reason.sensitive",
            ),
            ev.scalar(
                "minimisation.excluded_categories_in",
                f"records in the always-excluded categories ({', '.join(excluded_cats)}) read",
                f"""
                SELECT COALESCE(sum(value::BIGINT), 0)::BIGINT
                FROM manifest, json_each(m->'$.records.input_by_category')
                WHERE key IN {_sql_list(excluded_cats)}
                """,  # nosec B608  # constant names, quoted literals
            ),
            ev.scalar(
                "minimisation.excluded_categories_out",
                "of which in the snapshot",
                f"SELECT count(*) FROM records WHERE category IN {_sql_list(excluded_cats)}",  # nosec B608  # constant names, quoted literals
            ),
            ev.scalar(
                "minimisation.outside_policy",
                "snapshot records in a category the policy does not use",
                f"SELECT count(*) FROM records WHERE category NOT IN {_sql_list(sorted(used))}",  # nosec B608  # constant names, quoted literals
            ),
        ]
        s.add(Figures(tuple(sens)))
        s.add(
            Check(
                "no record of an excluded category, and none outside the policy's categories",
                sens[2].value == 0 and sens[3].value == 0,
                (sens[2].ref, sens[3].ref),
            )
        )
        by_cat = ev.table(
            "minimisation.included_by_category",
            "Records and members in the snapshot, by category",
            """
            SELECT category, count(*) AS records, count(DISTINCT member_ref) AS members
            FROM records GROUP BY category ORDER BY category
            """,
        )
        s.add(Table(by_cat))
        plot = Plot(
            "exclusions-by-reason",
            "Exclusions by reason",
            plots.barh(reasons, "reason", ("records", "members"), "Exclusions by reason"),
            (reasons.ref,),
        )
        return s, [plot]

    # --- 4. technical measures --------------------------------------------------------------
    def technical(self) -> tuple[Section, list[Plot]]:
        ev = self.ev
        s = Section("Technical measures (CNIL condition 4: against memorisation and disclosure)")
        stages = self.m.get("stages", [])
        described = ", ".join(
            f"`{st['name']}` ({', '.join(f'{k}={v}' for k, v in st.get('options', {}).items())})"
            for st in stages
        )
        s.add(Text(f"Text stages of this build: {described or 'none'}."))
        purpose = self.p.purpose(self.purpose)
        declared = self._declared_stages()
        ran = [{"name": st.get("name"), "options": st.get("options", {})} for st in stages]
        s.add(
            Check(
                "the text stages the policy declares ran in this build"
                + ("" if ran == declared else f" (declared: {len(declared)}, ran: {len(ran)})"),
                ran == declared,
            )
        )
        if purpose.dedup:
            s.add(
                Check(
                    "the deduplication the policy declares ran in this build",
                    self.m.get("dedup", {}).get("config") == purpose.dedup,
                )
            )
        pii = ev.table(
            "technical.pii_redacted",
            "PII found and redacted, by type",
            """
            SELECT s.key AS stage, t.key AS entity, t.value::BIGINT AS redacted
            FROM manifest, json_each(m->'$.stage_counts') s, json_each(s.value) t
            ORDER BY redacted DESC, entity
            """,
        )
        s.add(Table(pii))
        plots_: list[Plot] = [
            Plot(
                "pii-by-type",
                "PII found and redacted, by type",
                plots.barh(pii, "entity", ("redacted",), "PII redacted by type", "spans"),
                (pii.ref,),
            )
        ]
        s.add(*self._residual())
        figs = [
            ev.manifest_int(
                "technical.duplicates",
                "duplicate records removed",
                "$.records.excluded_by_reason.duplicate",
            ),
            ev.scalar(
                "technical.repeated_copies",
                "records whose exact text occurs earlier in the snapshot",
                "SELECT count(*) - count(DISTINCT text) FROM records",
            ),
            ev.scalar(
                "technical.bad_pseudonyms",
                "records whose member_ref is not a 128-bit keyed pseudonym",
                "SELECT count(*) FROM records "
                "WHERE NOT regexp_full_match(member_ref, '[0-9a-f]{32}')",
            ),
        ]
        s.add(Figures(tuple(figs)))
        s.add(
            Check(
                "every record carries a keyed pseudonym, never a member id",
                figs[2].value == 0,
                (figs[2].ref,),
            )
        )
        repetition = ev.table(
            "technical.repetition",
            "Records by repetition level of their exact text",
            """
            WITH t AS (SELECT text, count(*) AS copies FROM records GROUP BY text)
            SELECT CASE WHEN copies = 1 THEN '1' WHEN copies = 2 THEN '2'
                        WHEN copies <= 5 THEN '3-5' WHEN copies <= 10 THEN '6-10'
                        ELSE '>10' END AS repetition,
                   count(*) AS distinct_texts, sum(copies)::BIGINT AS records
            FROM t GROUP BY 1 ORDER BY min(copies)
            """,
        )
        s.add(Table(repetition))
        audit_blocks, exposure = self._audit()
        s.add(*audit_blocks)
        if exposure is not None:
            xcol, ycol = exposure.columns[0], exposure.columns[1]
            png = plots.bars(exposure, xcol, ycol, "Exposure by repetition level (audit)", ycol)
            plots_.append(
                Plot("exposure-by-repetition", "Exposure by repetition level", png, (exposure.ref,))
            )
        else:
            png = plots.bars(
                repetition,
                "repetition",
                "records",
                "Records by repetition level (no audit given)",
                "records",
            )
            plots_.append(
                Plot(
                    "exposure-by-repetition",
                    "Exposure by repetition level: records per repetition level of "
                    "their text (the audit's exposure needs --audit)",
                    png,
                    (repetition.ref,),
                )
            )
        return s, plots_

    def _declared_stages(self) -> list[dict[str, Any]]:
        """The purpose's text stages as the policy declares them, in the manifest's form."""
        return [
            {"name": st.name, "options": dict(st.options)}
            for st in self.p.purpose(self.purpose).stages
        ]

    def _residual(self) -> list[Any]:
        ev = self.ev
        o = self.o
        # against what the policy says is redacted, not what this build ran: a build without
        # its stages (--no-stages) redacted nothing, and would measure a residual rate of 0
        est = estimate_residual_pii(
            ev.con, self._declared_stages(), sample=o.sample, seed=o.seed, mode=o.pii_mode
        )
        cmd = (
            f"tamis report residual-pii --snapshot {ev.snapshot} --sample {o.sample} "
            f"--seed {o.seed} --mode {o.pii_mode}"
        )
        if not est.available:
            return [Check(f"residual-PII estimate unavailable: {est.reason}", None)]
        blocks: list[Any] = [
            Text(
                f"Residual PII: the project's detectors (mode `{est.mode}`) over a seeded sample "
                f"of snapshot texts (`{sample_sql(o.sample, o.seed)}`). Types the build redacts: "
                f"{', '.join(est.redacted_types) or 'none'}; other types are not redacted by this "
                "policy and are shown for the DPO's judgement."
            )
        ]
        rows = [
            (
                t,
                est.spans_by_type[t],
                est.texts_by_type[t],
                "yes" if t in est.redacted_types else "no",
            )
            for t in sorted(est.spans_by_type)
        ]
        blocks.append(
            Table(
                ev.command_table(
                    "technical.residual_by_type",
                    "Residual PII in the sample, by type",
                    ("entity", "spans", "texts", "redacted by this policy"),
                    rows,
                    cmd,
                )
            )
        )
        ci = est.wilson()
        figs = (
            ev.command("technical.residual_sample", "texts sampled", est.sample, cmd),
            ev.command(
                "technical.residual_texts",
                "sampled texts with a residual PII of a redacted type",
                est.texts_with_redacted_type,
                cmd,
            ),
            ev.command(
                "technical.residual_rate",
                "residual rate (share of texts), 95% interval "
                + (f"{ci[0]:.4f} to {ci[1]:.4f}" if ci else "—"),
                round(est.rate, 4) if est.rate is not None else None,
                cmd,
            ),
        )
        blocks.append(Figures(figs))
        return blocks

    def _audit(self) -> tuple[list[Any], FigureTable | None]:
        ev = self.ev
        if self.o.audit is None:
            return [Check("memorisation audit: no audit given (--audit DIR)", None)], None
        path = Path(self.o.audit) / AUDIT_FILE
        if not path.is_file():
            return [Check(f"memorisation audit: no {AUDIT_FILE} in {self.o.audit}", None)], None
        try:
            data = json.loads(path.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"not a JSON audit result ({exc})", file=str(path)) from None
        if not isinstance(data, dict):
            raise InputError("not a JSON audit result (an object)", file=str(path))
        src = f"(SELECT content::JSON AS a FROM read_text({sql_str(path)}))"  # nosec B608  # constant names, quoted literals
        blocks: list[Any] = []
        verdict = data.get("verdict")
        figs: list[Figure] = []
        if verdict is not None:
            figs.append(
                ev.scalar(
                    "audit.verdict",
                    "memorisation audit verdict",
                    f"SELECT a->>'$.verdict' FROM {src}",  # nosec B608  # constant names, quoted literals
                )
            )
        for group in ("figures", "metrics"):
            values = data.get(group)
            if isinstance(values, dict):
                for name, value in sorted(values.items()):
                    if isinstance(value, int | float | str) and not isinstance(value, bool):
                        cast = (
                            "DOUBLE"
                            if isinstance(value, float)
                            else ("BIGINT" if isinstance(value, int) else "VARCHAR")
                        )
                        figs.append(
                            ev.scalar(
                                f"audit.{group}.{name}",
                                f"audit: {name}",
                                f"SELECT (a->>{sql_str(f'$.{group}.{name}')})::{cast} FROM {src}",  # nosec B608  # constant names, quoted literals
                            )
                        )
        for name, value in sorted(data.items()):
            if name != "verdict" and isinstance(value, int | float) and not isinstance(value, bool):
                cast = "DOUBLE" if isinstance(value, float) else "BIGINT"
                figs.append(
                    ev.scalar(
                        f"audit.{name}",
                        f"audit: {name}",
                        f"SELECT (a->>{sql_str('$.' + name)})::{cast} FROM {src}",  # nosec B608  # constant names, quoted literals
                    )
                )
        if figs:
            blocks.append(Figures(tuple(figs)))
        audited = data.get("source_snapshot_id")
        if verdict is not None and audited != self.m.get("snapshot_id"):
            blocks.append(
                Check(
                    f"memorisation audit verdict **{verdict}** is of "
                    + (f"snapshot {audited}" if audited else "a snapshot it does not name")
                    + f", not of this one ({self.m.get('snapshot_id')})",
                    False,
                    (figs[0].ref,),
                )
            )
        elif verdict is not None:
            blocks.append(
                Check(
                    f"memorisation audit verdict: **{verdict}**",
                    str(verdict).lower() in {"pass", "passed", "ok"},
                    (figs[0].ref,),
                )
            )
        else:  # e.g. the canary-plant summary: figures of the audit copy, not an audit result
            blocks.append(
                Check(
                    f"memorisation audit: {AUDIT_FILE} in {self.o.audit} holds no verdict (run "
                    "the audit, `tamis audit report`, and give its result)",
                    None,
                )
            )
        exposure = None
        items = data.get("exposure_by_repetition")
        if isinstance(items, list) and items and isinstance(items[0], dict):
            keys = [k for k, v in items[0].items() if isinstance(v, int | float | str)]
            cols = ", ".join(
                f"(e.value->>{sql_str('$.' + k)})::{_sql_type(items[0][k])} AS {k}" for k in keys
            )
            exposure = ev.table(
                "audit.exposure_by_repetition",
                "Exposure by repetition level (memorisation audit)",
                f"SELECT {cols} FROM {src}, json_each(a->'$.exposure_by_repetition') e "
                "ORDER BY e.key::INTEGER",  # nosec B608  # constant names, quoted literals
            )
            blocks.append(Table(exposure))
        return blocks, exposure

    # --- the document -----------------------------------------------------------------------
    def build(self) -> Document:
        m = self.m
        summary = self.summary()
        info = self.information()
        objection, p1 = self.objection()
        minim, p2 = self.minimisation()
        tech, p3 = self.technical()
        pii_plot = [p for p in p3 if p.name == "pii-by-type"]
        other = [p for p in p3 if p.name != "pii-by-type"]
        plots_section = Section("Plots").add(*p2, *p1, *pii_plot, *other)
        header = [
            ("snapshot", m["snapshot_id"]),
            ("purpose", m["purpose"]),
            ("policy", f"{m['policy']['name']} {m['policy']['version']}"),
            ("policy sha256", m["policy"]["sha256"]),
            ("cutoff", m["cutoff"]),
            ("built", f"{m.get('built_at', '—')} by tamis {m.get('tamis_version', '—')}"),
            ("consent", f"{m['consent'].get('source')} {m['consent'].get('registry', '')}".strip()),
            ("registry read", self.ev.registry_url or "no (--db not given)"),
            ("export read", str(self.ev.export) if self.ev.export else "no (--export not given)"),
            ("audit", str(self.o.audit) if self.o.audit else "no audit given"),
        ]
        return Document(
            kind="compliance",
            title=f"Compliance evidence: {m['policy']['name']} snapshot of {m['cutoff'][:10]}",
            doc_id=f"tamis-compliance/{m['snapshot_id']}/policy-{m['policy']['sha256'][:12]}",
            header=header,
            sections=[summary, info, objection, minim, tech, plots_section],
            figures=list(self.ev.figures),
            prelude=list(self.ev.prelude),
            command=self.o.command or f"tamis report compliance --snapshot {self.ev.snapshot}",
        )


def _fields_of(category: str) -> str:
    """The export fields or content kinds that carry a category."""
    kinds = [k for k, c in KIND_CATEGORY.items() if c == category]
    fields = [f for g, (fs, c) in PROFILE_FIELDS.items() if c == category for f in fs]
    return ", ".join([*(f"{k} (content)" for k in kinds), *fields]) or "—"


def _sql_type(value: Any) -> str:
    if isinstance(value, float):
        return "DOUBLE"
    if isinstance(value, int) and not isinstance(value, bool):
        return "BIGINT"
    return "VARCHAR"
