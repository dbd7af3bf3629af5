"""Engines: who schedules the snapshot pipeline.

The pipeline is defined once: the consent semantics as SQL (:mod:`tamis.pipeline.semantics`),
the input rules in the export reader, the text stages as stage objects, the manifest in
:mod:`tamis.pipeline.build`. An engine only decides where and in which order it runs:

- ``embedded`` (default): DuckDB and Arrow in this process
  (:class:`~tamis.pipeline.build.SnapshotBuilder`);
- ``spark``: Apache Spark, local or on a cluster
  (:class:`~tamis.pipeline.engines.spark.SparkEngine`, extra ``tamis[spark]``).

Both write the same snapshot: same records, same counts, same ``content_digest`` and
``members_root`` in the manifest (see ``docs/spark.md``).
"""

from __future__ import annotations

from collections.abc import Mapping

from tamis.errors import TamisError
from tamis.pipeline.build import BuildRequest, BuildResult, Progress, build_snapshot

ENGINES: tuple[str, ...] = ("embedded", "spark")


def parse_conf(pairs: list[str] | None) -> dict[str, str]:
    """``--spark-conf k=v`` options as a dict (the last of a repeated key wins)."""
    conf: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise TamisError(f"--spark-conf takes key=value, not {pair!r}")
        conf[key.strip()] = value
    return conf


def run_build(
    request: BuildRequest,
    engine: str = "embedded",
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> BuildResult:
    """Build and publish a snapshot with the chosen engine.

    ``master`` and ``conf`` are for Spark only (``local[4]``, ``spark://host:7077``, ``yarn``; any
    ``spark.*`` setting); giving them with the embedded engine is an error, not silently ignored.
    """
    if engine == "embedded":
        if master or conf:
            raise TamisError("--master and --spark-conf need --engine spark")
        return build_snapshot(request, progress)
    if engine == "spark":
        from tamis.pipeline.engines.spark import SparkEngine

        return SparkEngine(request, progress, master=master, conf=conf).run()
    raise TamisError(f"unknown engine {engine!r}; available: {', '.join(ENGINES)}")


__all__ = ["ENGINES", "parse_conf", "run_build"]
