"""Figures that carry the query that produced them, and the DuckDB session that runs them.

Every number in a report is a :class:`Figure` (one value) or a :class:`FigureTable` (rows), and
every one of them is *computed by running its own query*: nothing is counted by hand. The query
is DuckDB SQL over a few views that the :class:`Evidence` session declares in its *prelude*:

=================== ===============================================================================
``records``         the snapshot's ``data/*.parquet`` (one row per training record)
``snapshot_members`` the snapshot's ``members.parquet`` (included members by pseudonym, category)
``quarantine``      the snapshot's ``quarantine/*.parquet`` (empty when there is none)
``manifest``        the snapshot's ``manifest.json`` as one JSON value ``m``
``snapshots``       every snapshot given to the report: ``snapshot_id``, ``cutoff``
``jurisdictions``   the policy's jurisdictions: ``name``, ``start_at``, ``notice_from``, ...
``country_rules``   every ISO 3166-1 code and the jurisdiction the policy gives it (or NULL)
``consent_events``  the registry's events (only with a registry)
``export_members``  ``member_id`` and ``country`` of the export's members (only with an export)
=================== ===============================================================================

The prelude is written out with the report (``reproduce.sql``), so that anyone with the DuckDB
command line can paste it and re-run any figure's query. The registry is read with SQLAlchemy Core
here (no DuckDB extension is needed at run time); the prelude shows the equivalent ``ATTACH`` for
the DuckDB command line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa

from tamis.errors import InputError, VerificationError
from tamis.pipeline.manifest import read_manifest
from tamis.policy.loader import LoadedPolicy, load_policy
from tamis.policy.model import COUNTRY_CODES
from tamis.timefmt import ARROW_TS, format_instant, parse_instant

Lang = Literal["sql", "command"]


@dataclass(frozen=True)
class Figure:
    """One reported value and the query (or command) that reproduces it."""

    key: str
    label: str
    value: Any
    query: str
    lang: Lang = "sql"
    unit: str = ""
    ref: int = 0

    @property
    def display(self) -> str:
        return format_value(self.value) + (f" {self.unit}" if self.unit else "")


@dataclass(frozen=True)
class FigureTable:
    """Rows reported together (a table, the data of a plot) and the query that returns them."""

    key: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    query: str
    lang: Lang = "sql"
    ref: int = 0

    def column(self, name: str) -> list[Any]:
        i = self.columns.index(name)
        return [r[i] for r in self.rows]

    def as_dict(self) -> dict[Any, Any]:
        """First column -> second column (for two-column tables)."""
        return {r[0]: r[1] for r in self.rows}


def format_value(value: Any) -> str:
    """How a value is printed in a report: integers with thousands separators, instants in UTC."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1 else f"{value:,.1f}"
    if isinstance(value, datetime):
        return format_instant(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def sql_str(text: str | Path) -> str:
    """A SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def sql_ts(value: datetime | None) -> str:
    return "NULL" if value is None else f"TIMESTAMPTZ {sql_str(format_instant(value))}"


@dataclass
class Evidence:
    """A DuckDB session over one snapshot (and optionally the registry and the export).

    Build it with :func:`open_evidence`. :meth:`scalar` and :meth:`table` run a query and keep it
    with its result; :attr:`figures` lists them in the order they were made (their ``ref``).
    """

    snapshot: Path
    manifest: dict[str, Any]
    policy: LoadedPolicy
    con: duckdb.DuckDBPyConnection
    prelude: list[str]
    snapshot_dirs: list[Path]
    has_registry: bool = False
    has_export: bool = False
    registry_url: str | None = None
    export: Path | None = None
    figures: list[Figure | FigureTable] = field(default_factory=list)

    @property
    def cutoff(self) -> datetime:
        return parse_instant(self.manifest["cutoff"])

    @property
    def cutoff_sql(self) -> str:
        return sql_ts(self.cutoff)

    @property
    def setting(self) -> str:
        return str(self.policy.policy.purpose(self.manifest["purpose"]).setting)

    def _ref(self) -> int:
        return len(self.figures) + 1

    def _check_key(self, key: str) -> None:
        if any(f.key == key for f in self.figures):
            raise ValueError(f"figure {key!r} is already recorded")

    def scalar(self, key: str, label: str, sql: str, unit: str = "") -> Figure:
        """Run a query that returns one value; record and return it as a figure."""
        self._check_key(key)
        sql = _dedent(sql)
        rows = self.con.sql(sql).fetchall()
        if len(rows) != 1 or len(rows[0]) != 1:
            raise ValueError(f"figure {key}: the query must return one value, got {rows!r}")
        fig = Figure(key, label, rows[0][0], sql, "sql", unit, self._ref())
        self.figures.append(fig)
        return fig

    def table(self, key: str, title: str, sql: str) -> FigureTable:
        """Run a query that returns rows; record and return them as a figure table."""
        self._check_key(key)
        sql = _dedent(sql)
        rel = self.con.sql(sql)
        columns = tuple(rel.columns)
        rows = tuple(tuple(r) for r in rel.fetchall())
        tab = FigureTable(key, title, columns, rows, sql, "sql", self._ref())
        self.figures.append(tab)
        return tab

    def command(self, key: str, label: str, value: Any, command: str, unit: str = "") -> Figure:
        """A value computed outside SQL (e.g. the PII detectors); ``command`` reproduces it."""
        self._check_key(key)
        fig = Figure(key, label, value, command, "command", unit, self._ref())
        self.figures.append(fig)
        return fig

    def command_table(
        self, key: str, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], cmd: str
    ) -> FigureTable:
        self._check_key(key)
        tab = FigureTable(
            key, title, tuple(columns), tuple(tuple(r) for r in rows), cmd, "command", self._ref()
        )
        self.figures.append(tab)
        return tab

    def manifest_int(self, key: str, label: str, path: str) -> Figure:
        """An integer of the manifest (``path`` like ``$.records.included``; absent = 0)."""
        return self.scalar(
            key,
            label,
            f"SELECT COALESCE((m->>{sql_str(path)})::BIGINT, 0) AS value FROM manifest",  # nosec B608  # constant names, quoted literals
        )

    def close(self) -> None:
        self.con.close()


def _dedent(sql: str) -> str:
    import textwrap

    return textwrap.dedent(sql).strip()


def policy_of(manifest: dict[str, Any], override: str | Path | None = None) -> LoadedPolicy:
    """The policy a snapshot was built with, checked against the manifest's sha256.

    The manifest names the policy's source (``preset:NAME`` or a file path); ``override`` gives
    another place to find the same bytes. A different sha256 is an error: a report about another
    policy than the one that drove the build would be false evidence.
    """
    meta = manifest["policy"]
    source = str(override) if override is not None else str(meta.get("source", meta["name"]))
    loaded = load_policy(source.removeprefix("preset:"))
    if loaded.sha256 != meta["sha256"]:
        raise VerificationError(
            f"the policy at {source} (sha256 {loaded.sha256[:12]}…) is not the one this snapshot "
            f"was built with (sha256 {meta['sha256'][:12]}…); pass --policy with the exact file"
        )
    return loaded


def _empty_view(name: str, columns: dict[str, str]) -> str:
    cols = ", ".join(f"NULL::{t} AS {c}" for c, t in columns.items())
    return f"CREATE VIEW {name} AS SELECT {cols} WHERE false"


def _jurisdiction_tables(policy: LoadedPolicy) -> list[str]:
    rows = []
    for j in policy.policy.jurisdictions:
        rows.append(
            f"({sql_str(j.name)}, {sql_ts(j.start)}, {sql_ts(j.notice_from)}, "
            f"{'true' if j.default == 'allow' else 'false'}, {j.minimum_age}, "
            f"{sql_str(j.countries if j.countries == '*' else ' '.join(j.countries))})"
        )
    juris = (
        "CREATE TABLE jurisdictions AS SELECT * FROM (VALUES\n  "  # nosec B608  # constant names, quoted literals
        + ",\n  ".join(rows)
        + "\n) AS t(name, start_at, notice_from, default_allow, minimum_age, countries)"
    )
    iso = " ".join(sorted(COUNTRY_CODES))
    countries = (
        "CREATE TABLE country_rules AS\n"
        f"WITH iso AS (SELECT unnest(string_split({sql_str(iso)}, ' ')) AS country),\n"
        "explicit AS (SELECT name, unnest(string_split(countries, ' ')) AS country\n"
        "             FROM jurisdictions WHERE countries <> '*')\n"
        "SELECT iso.country, COALESCE(explicit.name,\n"
        "       (SELECT name FROM jurisdictions WHERE countries = '*')) AS jurisdiction\n"
        "FROM iso LEFT JOIN explicit ON explicit.country = iso.country ORDER BY iso.country"  # nosec B608  # constant names, quoted literals
    )
    return [juris, countries]


def _export_members_sql(export: Path) -> str:
    from tamis.sources.reader import table_files

    files = table_files(export, "members")
    if not files:
        raise InputError("the export has no members table", file=str(export))
    scans = []
    for p in files:
        if p.suffix == ".parquet":
            scans.append(f"SELECT member_id, country FROM read_parquet({sql_str(p)})")  # nosec B608  # constant names, quoted literals
        else:
            scans.append(
                f"SELECT member_id, country FROM read_json({sql_str(p)}, "  # nosec B608  # constant names, quoted literals
                "format='newline_delimited', columns={'member_id': 'VARCHAR', "
                "'country': 'VARCHAR'}, ignore_errors=true)"
            )
    # Duplicated member ids are quarantined by the build: they are nobody's here either.
    return (
        "CREATE VIEW export_members AS SELECT member_id, any_value(country) AS country FROM (\n  "  # nosec B608  # constant names, quoted literals
        + "\n  UNION ALL ".join(scans)
        + "\n) WHERE member_id IS NOT NULL GROUP BY member_id HAVING count(*) = 1"
    )


def _check_export(manifest: dict[str, Any], export: Path) -> None:
    """The export must be the one the snapshot was built from (same members file hashes)."""
    from tamis.pipeline.manifest import sha256_file

    for item in manifest.get("inputs", []):
        if item.get("table") != "members":
            continue
        path = export / item["path"]
        if not path.is_file() or sha256_file(path) != item["sha256"]:
            raise VerificationError(
                f"{path}: not the members file this snapshot was built from "
                "(missing or different sha256); pass the export the snapshot was built from"
            )


def _registry_events(url: str) -> pa.Table:
    """Every consent event of the registry, read with SQLAlchemy Core (no migration, read only)."""
    import sqlalchemy as sa

    from tamis.consent.engine import create_registry_engine
    from tamis.consent.location import resolve_url
    from tamis.consent.registry import require_existing_file
    from tamis.consent.schema import consent_events as ce

    require_existing_file(resolve_url(url))  # never made, empty, by reading it
    engine = create_registry_engine(resolve_url(url))
    try:
        query = sa.select(
            ce.c.event_id,
            ce.c.member_id,
            ce.c.setting,
            ce.c.value,
            ce.c.ts,
            ce.c.channel,
            ce.c.recorded_at,
        ).order_by(ce.c.seq)
        with engine.connect() as connection:
            rows = connection.execute(query).all()
    except sa.exc.SQLAlchemyError as exc:
        raise InputError(f"cannot read the consent registry at {url}: {exc.args[0]}") from None
    finally:
        engine.dispose()
    cols = list(zip(*rows, strict=True)) if rows else [()] * 7
    types = [pa.string(), pa.string(), pa.string(), pa.bool_(), ARROW_TS, pa.string(), ARROW_TS]
    names = ["event_id", "member_id", "setting", "value", "ts", "channel", "recorded_at"]
    return pa.table(
        {n: pa.array([_utc(v) for v in c], t) for n, c, t in zip(names, cols, types, strict=True)}
    )


def _utc(value: Any) -> Any:
    return value.astimezone(UTC) if isinstance(value, datetime) else value


def _registry_prelude(url: str) -> str:
    from sqlalchemy.engine import make_url

    from tamis.consent.engine import display_url
    from tamis.consent.location import resolve_url

    resolved = make_url(resolve_url(url))
    if resolved.get_backend_name() == "sqlite":
        attach = (
            f"INSTALL sqlite; LOAD sqlite; ATTACH {sql_str(resolved.database or '')} "
            "AS registry (TYPE sqlite, READ_ONLY); "
        )
    else:
        attach = (
            "INSTALL postgres; LOAD postgres; "
            f"ATTACH {sql_str(display_url(resolved))} AS registry (TYPE postgres, READ_ONLY); "
        )
    return (
        attach + "CREATE VIEW consent_events AS SELECT event_id, member_id, setting, "
        "value::BOOLEAN AS value, ts::TIMESTAMPTZ AS ts, channel, "
        "recorded_at::TIMESTAMPTZ AS recorded_at FROM registry.consent_events"  # nosec B608  # constant names, quoted literals
    )


def open_evidence(
    snapshot: Path,
    *,
    snapshots: Sequence[Path] = (),
    registry: str | None = None,
    export: Path | None = None,
    policy: str | Path | None = None,
) -> Evidence:
    """Open the evidence session of one snapshot.

    ``snapshots`` are every snapshot to consider for "first excluding snapshot" (the main one is
    added); ``registry`` is the consent registry URL or path; ``export`` is the export the
    snapshot was built from (needed for figures by region). Raises :class:`VerificationError`
    when the policy or the export is not the one the snapshot was built from.
    """
    snapshot = Path(snapshot)
    manifest = read_manifest(snapshot)
    loaded = policy_of(manifest, policy)
    con = duckdb.connect()
    prelude: list[str] = ["SET TimeZone = 'UTC'"]
    data = sorted((snapshot / "data").glob("*.parquet"))
    if data:
        prelude.append(
            f"CREATE VIEW records AS SELECT * FROM read_parquet({sql_str(snapshot / 'data')} "  # nosec B608  # constant names, quoted literals
            "|| '/*.parquet')"
        )
    else:
        prelude.append(
            _empty_view(
                "records",
                {
                    "record_id": "VARCHAR",
                    "member_ref": "VARCHAR",
                    "kind": "VARCHAR",
                    "category": "VARCHAR",
                    "created_at": "TIMESTAMPTZ",
                    "lang": "VARCHAR",
                    "text": "VARCHAR",
                },
            )
        )
    prelude.append(
        "CREATE VIEW snapshot_members AS SELECT * FROM "
        f"read_parquet({sql_str(snapshot / 'members.parquet')})"  # nosec B608  # constant names, quoted literals
    )
    if sorted((snapshot / "quarantine").glob("*.parquet")):
        prelude.append(
            "CREATE VIEW quarantine AS SELECT * FROM "
            f"read_parquet({sql_str(snapshot / 'quarantine')} || '/*.parquet', filename=true)"  # nosec B608  # constant names, quoted literals
        )
    else:
        prelude.append(
            _empty_view(
                "quarantine",
                {"file": "VARCHAR", "line": "BIGINT", "field": "VARCHAR", "reason": "VARCHAR"},
            )
        )
    prelude.append(
        "CREATE VIEW manifest AS SELECT content::JSON AS m FROM "
        f"read_text({sql_str(snapshot / 'manifest.json')})"  # nosec B608  # constant names, quoted literals
    )
    dirs = [snapshot]
    for other in snapshots:
        if Path(other).resolve() not in {d.resolve() for d in dirs}:
            read_manifest(Path(other))  # fails early on a directory that is not a snapshot
            dirs.append(Path(other))
    listing = ", ".join(sql_str(d / "manifest.json") for d in dirs)
    prelude.append(
        "CREATE VIEW snapshots AS SELECT j->>'$.snapshot_id' AS snapshot_id, "
        "j->>'$.policy.name' AS policy, (j->>'$.cutoff')::TIMESTAMPTZ AS cutoff FROM "
        f"(SELECT content::JSON AS j FROM read_text([{listing}]))"  # nosec B608  # constant names, quoted literals
    )
    prelude += _jurisdiction_tables(loaded)
    run = list(prelude)
    if export is not None:
        export = Path(export)
        _check_export(manifest, export)
        sql = _export_members_sql(export)
        prelude.append(sql)
        run.append(sql)
    if registry is not None:
        events = _registry_events(registry)
        con.register("_registry_events", events)
        prelude.append(_registry_prelude(registry))
        run.append("CREATE VIEW consent_events AS SELECT * FROM _registry_events")
    for statement in run:
        con.execute(statement)
    return Evidence(
        snapshot=snapshot,
        manifest=manifest,
        policy=loaded,
        con=con,
        prelude=prelude,
        snapshot_dirs=dirs,
        has_registry=registry is not None,
        has_export=export is not None,
        registry_url=registry,
        export=export,
    )
