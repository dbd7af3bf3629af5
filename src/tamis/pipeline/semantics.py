"""The consent semantics of the data contract, written once as SQL.

Engines run this SQL (DuckDB in the embedded engine, Spark SQL in the distributed one) over the
same small rule tables that :func:`rule_tables` derives from the policy. Keep the SQL to the
common subset of both dialects: CASE, comparisons, ``year()``/``month()``/``day()`` on UTC values.

Reason codes (a record gets the first that applies, in this order; member-level reasons first):

===================== ============================================================================
``quarantined``       the row could not be processed (invalid value, record id not unique)
``member_unknown``    the record's author is not in ``members``
``region_unknown``    the member's country is null or not an ISO 3166-1 code
``region_not_covered`` no jurisdiction rule of the policy covers the country
``erased``            the member exercised the right to erasure (tombstone in the registry)
``not_started``       the jurisdiction's start instant is after the cutoff
``objected``          the member's value at the cutoff is ``false`` (objection wins a tie)
``consent_invalid``   the member has a consent event that could not be parsed
``age_unknown``       no birth date and the jurisdiction excludes unknown ages
``minor``             younger than the jurisdiction's minimum age at the cutoff
``after_cutoff``      the record was created after the cutoff
``category_excluded`` the purpose may not use the record's kind, visibility or category
``minor_at_creation`` the member was under the minimum age when the record was created
``sensitive``         (text stage) special-category data the policy drops
``duplicate``         (text stage) a duplicate of a record kept
===================== ============================================================================

Ages are whole years on UTC calendar dates: a member born on 29 February comes of age on 1 March
in a non-leap year (the later date: failing closed).
"""

from __future__ import annotations

import pyarrow as pa

from tamis.policy.categories import KIND_CATEGORY, PROFILE_FIELDS, profile_kind
from tamis.policy.model import COUNTRY_CODES, Policy
from tamis.sources.schema import VISIBILITIES
from tamis.timefmt import ARROW_TS

MEMBER_REASONS: tuple[str, ...] = (
    "member_unknown",
    "region_unknown",
    "region_not_covered",
    "erased",
    "not_started",
    "objected",
    "consent_invalid",
    "age_unknown",
    "minor",
)
RECORD_REASONS: tuple[str, ...] = ("after_cutoff", "category_excluded", "minor_at_creation")
STAGE_REASONS: tuple[str, ...] = ("sensitive", "duplicate")
REASONS: tuple[str, ...] = ("quarantined", *MEMBER_REASONS, *RECORD_REASONS, *STAGE_REASONS)

PROFILE_VISIBILITY = "profile"  # internal visibility of records derived from profile fields


def _age_below(birth: str, on: str, years: str) -> str:
    """SQL: whether someone born on date ``birth`` is younger than ``years`` on date ``on``."""
    return (
        f"(year({on}) - year({birth}) - CASE WHEN month({on}) * 100 + day({on}) "
        f"< month({birth}) * 100 + day({birth}) THEN 1 ELSE 0 END) < {years}"
    )


def consent_state_sql(events: str, setting_param: str, cutoff_param: str) -> str:
    """Each member's deciding event for a setting at the cutoff (latest ``ts <= cutoff``;
    an objection wins a tie at the same instant; then the smallest event id)."""
    return f"""
        SELECT member_id, value, event_id, ts FROM (
            SELECT member_id, value, event_id, ts,
                   row_number() OVER (
                       PARTITION BY member_id
                       ORDER BY ts DESC, CASE WHEN value THEN 1 ELSE 0 END ASC, event_id ASC
                   ) AS rn
            FROM {events}
            WHERE setting = {setting_param} AND ts <= {cutoff_param}
        ) ranked
        WHERE rn = 1
    """  # nosec B608  # constant names, quoted literals


def objected_after_cutoff_sql(eligibility: str, latest_state: str) -> str:
    """How many members the snapshot keeps in (eligible at the cutoff) whose latest choice at
    build time (``latest_state``: :func:`consent_state_sql` at the build's start) is an
    objection, made after the cutoff therefore. The spec keeps them in a snapshot as of the
    cutoff (events after it change nothing); the manifest counts them, and the build warns, so
    that nobody trains on their data unaware that they have objected since."""
    return f"""
        SELECT count(*) FROM {eligibility} e JOIN {latest_state} s USING (member_id)
        WHERE e.reason IS NULL AND NOT s.value
    """  # nosec B608  # constant names


def registry_disagreement_sql(
    members: str, export_state: str, export_invalid: str, registry_state: str, registry_invalid: str
) -> str:
    """Members of the export whom a registry puts out at the cutoff (an objection, an
    unresolved reject) while the export's own consent events keep them in: ``member_id, why``.
    Building from the export alone would lose those objections (``--consent auto``)."""
    kept_in_by_export = f"""member_id IN (SELECT member_id FROM {members})
          AND member_id NOT IN (SELECT member_id FROM {export_state} WHERE NOT value)
          AND member_id NOT IN (SELECT member_id FROM {export_invalid})"""  # nosec B608  # names
    return f"""
        SELECT member_id, 'objected' AS why FROM {registry_state}
        WHERE NOT value AND {kept_in_by_export}
        UNION ALL
        SELECT member_id, 'has an invalid consent event' AS why FROM {registry_invalid}
        WHERE {kept_in_by_export}
        ORDER BY member_id
    """  # nosec B608  # constant names


def member_eligibility_sql(
    members: str,
    country_rules: str,
    consent_state: str,
    consent_invalid: str,
    erased: str,
    cutoff_param: str,
) -> str:
    """One row per member: its jurisdiction, consent and the member-level reason (null = in)."""
    cutoff_date = f"CAST({cutoff_param} AS DATE)"
    return f"""
        SELECT m.member_id, m.birth_date, m.created_at,
               r.jurisdiction, r.min_age, r.unknown_age_allowed,
               s.value AS consent_value, s.event_id AS consent_event,
               CASE
                 WHEN m.country IS NULL OR r.country IS NULL THEN 'region_unknown'
                 WHEN r.jurisdiction IS NULL THEN 'region_not_covered'
                 WHEN e.member_id IS NOT NULL THEN 'erased'
                 WHEN r.start_at > {cutoff_param} THEN 'not_started'
                 WHEN COALESCE(s.value, r.default_allow) = false THEN 'objected'
                 WHEN i.member_id IS NOT NULL THEN 'consent_invalid'
                 WHEN m.birth_date IS NULL AND NOT r.unknown_age_allowed THEN 'age_unknown'
                 WHEN m.birth_date IS NOT NULL
                      AND {_age_below("m.birth_date", cutoff_date, "r.min_age")} THEN 'minor'
               END AS reason
        FROM {members} m
        LEFT JOIN {country_rules} r ON r.country = m.country
        LEFT JOIN {consent_state} s ON s.member_id = m.member_id
        LEFT JOIN (SELECT DISTINCT member_id FROM {consent_invalid}) i ON i.member_id = m.member_id
        LEFT JOIN (SELECT DISTINCT member_id FROM {erased}) e ON e.member_id = m.member_id
    """  # nosec B608  # constant names, quoted literals


RECORD_COLUMNS = ("record_id", "member_id", "kind", "created_at", "lang", "text", "visibility")


def record_classification_sql(
    records: str,
    eligibility: str,
    record_rules: str,
    cutoff_param: str,
    carry: tuple[str, ...] = (*RECORD_COLUMNS, "_seq"),
) -> str:
    """Each record with its category, its author's pseudonym and its reason (null = in).

    ``carry`` names the record columns to return beside them (an engine that keeps the records
    aside may carry only a row number)."""
    created_date = "CAST(c.created_at AS DATE)"
    carried = ", ".join(f"c.{name}" for name in carry)
    return f"""
        SELECT {carried}, me.member_ref,
               COALESCE(rr.category, 'unknown') AS category,
               CASE
                 WHEN me.member_id IS NULL THEN 'member_unknown'
                 WHEN me.reason IS NOT NULL THEN me.reason
                 WHEN c.created_at > {cutoff_param} THEN 'after_cutoff'
                 WHEN rr.allowed IS NULL OR NOT rr.allowed THEN 'category_excluded'
                 WHEN me.birth_date IS NOT NULL
                      AND {_age_below("me.birth_date", created_date, "me.min_age")}
                      THEN 'minor_at_creation'
               END AS reason
        FROM {records} c
        LEFT JOIN {eligibility} me ON me.member_id = c.member_id
        LEFT JOIN {record_rules} rr ON rr.kind = c.kind AND rr.visibility = c.visibility
    """  # nosec B608  # constant names, quoted literals


def rule_tables(policy: Policy, purpose: str) -> dict[str, pa.Table]:
    """The small tables the SQL joins: ``country_rules`` and ``record_rules``."""
    countries, jurisdictions, starts, defaults, ages, unknown = [], [], [], [], [], []
    for code in sorted(COUNTRY_CODES):
        j = policy.jurisdiction_for(code)
        countries.append(code)
        jurisdictions.append(j.name if j else None)
        starts.append(j.start if j else None)
        defaults.append(j.default == "allow" if j else None)
        ages.append(j.minimum_age if j else None)
        unknown.append(j.unknown_age == "allow" if j else None)
    country_rules = pa.table(
        {
            "country": pa.array(countries, pa.string()),
            "jurisdiction": pa.array(jurisdictions, pa.string()),
            "start_at": pa.array(starts, ARROW_TS),
            "default_allow": pa.array(defaults, pa.bool_()),
            "min_age": pa.array(ages, pa.int32()),
            "unknown_age_allowed": pa.array(unknown, pa.bool_()),
        }
    )
    allowed_kinds = set(policy.allowed_kinds(purpose))
    visibility = set(policy.purpose(purpose).visibility)
    kinds, vis, cats, allowed = [], [], [], []
    for kind, category in KIND_CATEGORY.items():
        for v in VISIBILITIES:
            kinds.append(kind)
            vis.append(v)
            cats.append(category)
            allowed.append(kind in allowed_kinds and v in visibility)
    for group, (_, category) in PROFILE_FIELDS.items():
        kinds.append(profile_kind(group))
        vis.append(PROFILE_VISIBILITY)
        cats.append(category)
        allowed.append(policy.allows_category(purpose, category))
    record_rules = pa.table(
        {
            "kind": pa.array(kinds, pa.string()),
            "visibility": pa.array(vis, pa.string()),
            "category": pa.array(cats, pa.string()),
            "allowed": pa.array(allowed, pa.bool_()),
        }
    )
    return {"country_rules": country_rules, "record_rules": record_rules}
