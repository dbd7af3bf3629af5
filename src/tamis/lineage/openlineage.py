"""OpenLineage events of snapshot builds and model registrations (``tamis[lineage]`` extra).

Each build emits RunEvents START, then COMPLETE or FAIL; each model registration emits START and
COMPLETE. Inputs are the export's tables (a build) or the snapshots (a model); outputs are the
snapshot (a build) or the model. A custom run facet, ``tamis_snapshot`` (``tamis_model``), carries
the purpose, the policy sha256, the cutoff and the counts excluded by reason.

Events are built with the ``openlineage-python`` client's typed classes (``event_v2``,
``facet_v2``) and serialised by its ``Serde``. They go to a JSONL file (one event a line,
``$TAMIS_OPENLINEAGE_FILE``, default ``.tamis/openlineage.jsonl``) or, when
``$TAMIS_OPENLINEAGE_URL`` is set (or the sink given is an ``http(s)://`` URL), are posted to that
endpoint by the client's ``HttpTransport`` (``/api/v1/lineage``, as Marquez expects).

The client ships no JSON Schema file (its classes are generated from the spec), so
:func:`validate_event` checks an event against the spec through those classes: it rebuilds the
event with them (their validators check the instant, the run id, the event type, the URLs),
requires the spec's fields, and requires the rebuilt event to serialise back to the very same
JSON (no field outside the spec, none missing, every facet with its ``_producer`` and
``_schemaURL``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import attr
import orjson
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    RunFacet,
    error_message_run,
    job_type_job,
    output_statistics_output_dataset,
    processing_engine_run,
)
from openlineage.client.serde import Serde

from tamis import __version__
from tamis.errors import TamisError
from tamis.pipeline.build import BuildObserver, BuildRun
from tamis.sources.reader import table_files
from tamis.sources.schema import TABLES

URL_ENV = "TAMIS_OPENLINEAGE_URL"
FILE_ENV = "TAMIS_OPENLINEAGE_FILE"
NAMESPACE_ENV = "TAMIS_OPENLINEAGE_NAMESPACE"
DEFAULT_FILE = Path(".tamis") / "openlineage.jsonl"
DEFAULT_NAMESPACE = "tamis"
PRODUCER = f"https://pypi.org/project/tamis/{__version__}"
FACET_SCHEMA_URL = "https://tamis.readthedocs.io/en/latest/lineage.html#{name}-run-facet"
SPEC_PREFIX = "https://openlineage.io/spec/"


@attr.define
class TamisSnapshotRunFacet(RunFacet):
    """``tamis_snapshot``: what a snapshot build applied and what it left out, by reason."""

    snapshotId: str  # OpenLineage spells fields in camelCase
    purpose: str
    policyName: str
    policySha256: str
    cutoff: str
    recordsIncluded: int | None = attr.field(default=None)
    membersIncluded: int | None = attr.field(default=None)
    recordsExcludedByReason: dict[str, int] = attr.field(factory=dict)
    membersExcludedByReason: dict[str, int] = attr.field(factory=dict)
    membersRoot: str | None = attr.field(default=None)
    consentLogHead: str | None = attr.field(default=None)
    _additional_skip_redact: ClassVar[list[str]] = []

    @staticmethod
    def _get_schema() -> str:
        return FACET_SCHEMA_URL.format(name="tamis-snapshot")


@attr.define
class TamisModelRunFacet(RunFacet):
    """``tamis_model``: a model registered against snapshots."""

    model: str
    trainedAt: str | None = attr.field(default=None)
    snapshots: list[str] = attr.field(factory=list)
    _additional_skip_redact: ClassVar[list[str]] = []

    @staticmethod
    def _get_schema() -> str:
        return FACET_SCHEMA_URL.format(name="tamis-model")


# Facets tamis emits, by key: the class that the spec (or tamis) defines for each.
FACETS: dict[str, dict[str, type]] = {
    "run": {
        "tamis_snapshot": TamisSnapshotRunFacet,
        "tamis_model": TamisModelRunFacet,
        "errorMessage": error_message_run.ErrorMessageRunFacet,
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet,
    },
    "job": {"jobType": job_type_job.JobTypeJobFacet},
    "dataset": {},
    "outputFacets": {
        "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet
    },
    "inputFacets": {},
}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _facet(cls: type, **fields: Any) -> Any:
    return cls(**fields, producer=PRODUCER)


# -- sinks ----------------------------------------------------------------------------------------


class EventSink:
    """Where events go: a JSONL file, or an HTTP endpoint through the client's HttpTransport."""

    def __init__(self, target: str | os.PathLike[str] | None = None) -> None:
        raw = os.fspath(target) if target is not None else None
        raw = raw or os.environ.get(URL_ENV) or os.environ.get(FILE_ENV) or os.fspath(DEFAULT_FILE)
        self.target = raw
        self.http = raw.startswith(("http://", "https://"))
        self._transport: Any = None

    def emit(self, event: RunEvent) -> None:
        if self.http:
            if self._transport is None:
                from openlineage.client.transport.http import HttpConfig, HttpTransport

                self._transport = HttpTransport(HttpConfig(url=self.target))
            try:
                self._transport.emit(event)
            except Exception as exc:  # requests' errors, HTTP status errors
                raise TamisError(
                    f"cannot post an OpenLineage event to {self.target}: {exc}"
                ) from exc
            return
        path = Path(self.target)
        path.parent.mkdir(parents=True, exist_ok=True)
        line = Serde.to_json(event).encode() + b"\n"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line)  # one write per line: concurrent emitters never interleave
        finally:
            os.close(fd)


# -- builds ---------------------------------------------------------------------------------------


def _namespace() -> str:
    return os.environ.get(NAMESPACE_ENV) or DEFAULT_NAMESPACE


def _inputs(export_dir: Path) -> list[InputDataset]:
    datasets = []
    for name in TABLES:
        if table_files(export_dir, name):
            datasets.append(InputDataset(namespace="file", name=f"{export_dir.resolve()}/{name}"))
    return datasets


class OpenLineageEmitter(BuildObserver):
    """Build observer: OpenLineage START / COMPLETE / FAIL RunEvents of a snapshot build."""

    def __init__(self, sink: str | os.PathLike[str] | EventSink | None = None) -> None:
        self.sink = sink if isinstance(sink, EventSink) else EventSink(sink)

    def _job(self, run: BuildRun) -> Job:
        return Job(
            namespace=_namespace(),
            name=f"snapshot.{run.purpose}",
            facets={
                "jobType": _facet(
                    job_type_job.JobTypeJobFacet,
                    processingType="BATCH",
                    integration="TAMIS",
                    jobType="SNAPSHOT_BUILD",
                )
            },
        )

    def _run(self, run: BuildRun, facets: dict[str, Any] | None = None) -> Run:
        engine = _facet(
            processing_engine_run.ProcessingEngineRunFacet,
            version=__version__,
            name="tamis",
            openlineageAdapterVersion=__version__,
        )
        return Run(runId=run.run_id, facets={"processing_engine": engine, **(facets or {})})

    def build_started(self, run: BuildRun) -> None:
        self.sink.emit(
            RunEvent(
                eventType=RunState.START,
                eventTime=_now(),
                run=self._run(run),
                job=self._job(run),
                inputs=_inputs(run.request.export_dir),
                producer=PRODUCER,
            )
        )

    def build_completed(self, run: BuildRun, manifest: dict[str, Any]) -> None:
        out = Path(run.request.out).resolve()
        log_head = manifest.get("consent_log_head") or {}
        facet = _facet(
            TamisSnapshotRunFacet,
            snapshotId=manifest["snapshot_id"],
            purpose=manifest["purpose"],
            policyName=manifest["policy"]["name"],
            policySha256=manifest["policy"]["sha256"],
            cutoff=manifest["cutoff"],
            recordsIncluded=manifest["records"]["included"],
            membersIncluded=manifest["members"]["included"],
            recordsExcludedByReason=dict(manifest["records"]["excluded_by_reason"]),
            membersExcludedByReason=dict(manifest["members"]["excluded_by_reason"]),
            membersRoot=manifest.get("members_root"),
            consentLogHead=log_head.get("head"),
        )
        data_files = [f for f in manifest.get("files", []) if f["path"].startswith("data/")]
        stats = _facet(
            output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet,
            rowCount=manifest["records"]["included"],
            size=sum(int(f["bytes"]) for f in data_files),
            fileCount=len(data_files),
        )
        self.sink.emit(
            RunEvent(
                eventType=RunState.COMPLETE,
                eventTime=_now(),
                run=self._run(run, {"tamis_snapshot": facet}),
                job=self._job(run),
                inputs=_inputs(run.request.export_dir),
                outputs=[
                    OutputDataset(
                        namespace="file", name=str(out), outputFacets={"outputStatistics": stats}
                    )
                ],
                producer=PRODUCER,
            )
        )

    def build_failed(self, run: BuildRun, error: BaseException) -> None:
        facet = _facet(
            error_message_run.ErrorMessageRunFacet,
            message=str(error) or type(error).__name__,
            programmingLanguage="PYTHON",
        )
        self.sink.emit(
            RunEvent(
                eventType=RunState.FAIL,
                eventTime=_now(),
                run=self._run(run, {"errorMessage": facet}),
                job=self._job(run),
                inputs=_inputs(run.request.export_dir),
                producer=PRODUCER,
            )
        )


def emit_model_registration(model: Any, sink: str | EventSink | None = None) -> None:
    """START and COMPLETE RunEvents of a model registration (a ``ModelRecord``)."""
    target = sink if isinstance(sink, EventSink) else EventSink(sink)
    run_id = str(uuid.uuid4())
    job = Job(
        namespace=_namespace(),
        name=f"model.{model.name}",
        facets={
            "jobType": _facet(
                job_type_job.JobTypeJobFacet,
                processingType="BATCH",
                integration="TAMIS",
                jobType="MODEL_REGISTRATION",
            )
        },
    )
    inputs = [
        InputDataset(namespace="file", name=s.location or s.snapshot_id) for s in model.snapshots
    ]
    facet = _facet(
        TamisModelRunFacet,
        model=model.name,
        trainedAt=None if model.trained_at is None else model.trained_at.isoformat(),
        snapshots=[s.snapshot_id for s in model.snapshots],
    )
    for state in (RunState.START, RunState.COMPLETE):
        target.emit(
            RunEvent(
                eventType=state,
                eventTime=_now(),
                run=Run(runId=run_id, facets={"tamis_model": facet}),
                job=job,
                inputs=inputs,
                outputs=[OutputDataset(namespace=f"{_namespace()}.models", name=model.name)]
                if state == RunState.COMPLETE
                else [],
                producer=PRODUCER,
            )
        )


# -- validation -----------------------------------------------------------------------------------

_EVENT_KEYS = {"eventTime", "producer", "schemaURL", "eventType", "run", "job", "inputs", "outputs"}
_REQUIRED = {"eventTime", "producer", "schemaURL", "run", "job"}


def _rebuild_facets(group: str, facets: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in facets.items():
        cls = FACETS[group].get(key)
        if cls is None:
            raise ValueError(f"unknown {group} facet {key!r}")
        if not isinstance(value, Mapping) or "_producer" not in value or "_schemaURL" not in value:
            raise ValueError(f"facet {key!r} lacks _producer or _schemaURL")
        fields = {k: v for k, v in value.items() if not k.startswith("_")}
        facet = cls(**fields, producer=value["_producer"])
        if value["_schemaURL"] != facet._schemaURL:
            raise ValueError(f"facet {key!r}: _schemaURL {value['_schemaURL']!r} is not its own")
        out[key] = facet
    return out


def validate_event(event: Mapping[str, Any] | str | bytes) -> RunEvent:
    """Check one RunEvent (JSON or its dict) against the OpenLineage spec; return it rebuilt.

    Raises ValueError (or the client's validation errors) saying what is wrong.
    """
    data = orjson.loads(event) if isinstance(event, (str, bytes)) else dict(event)
    missing = _REQUIRED - set(data)
    if missing:
        raise ValueError(f"missing {', '.join(sorted(missing))}")
    extra = set(data) - _EVENT_KEYS
    if extra:
        raise ValueError(f"fields outside the spec: {', '.join(sorted(extra))}")
    if not str(data["schemaURL"]).startswith(SPEC_PREFIX):
        raise ValueError(f"schemaURL {data['schemaURL']!r} is not an OpenLineage spec URL")
    run, job = data["run"], data["job"]
    rebuilt = RunEvent(
        eventType=RunState(data["eventType"]),
        eventTime=data["eventTime"],
        run=Run(runId=run["runId"], facets=_rebuild_facets("run", run.get("facets", {}))),
        job=Job(
            namespace=job["namespace"],
            name=job["name"],
            facets=_rebuild_facets("job", job.get("facets", {})),
        ),
        inputs=[
            InputDataset(
                namespace=d["namespace"],
                name=d["name"],
                facets=_rebuild_facets("dataset", d.get("facets", {})),
                inputFacets=_rebuild_facets("inputFacets", d.get("inputFacets", {})),
            )
            for d in data.get("inputs", [])
        ],
        outputs=[
            OutputDataset(
                namespace=d["namespace"],
                name=d["name"],
                facets=_rebuild_facets("dataset", d.get("facets", {})),
                outputFacets=_rebuild_facets("outputFacets", d.get("outputFacets", {})),
            )
            for d in data.get("outputs", [])
        ],
        producer=data["producer"],
    )
    uuid.UUID(run["runId"])
    if rebuilt.schemaURL != data["schemaURL"]:
        raise ValueError(f"schemaURL {data['schemaURL']!r} is not the client's {rebuilt.schemaURL}")
    again = orjson.loads(Serde.to_json(rebuilt))
    if again != data:
        raise ValueError("the event does not round-trip through the OpenLineage classes")
    return rebuilt
