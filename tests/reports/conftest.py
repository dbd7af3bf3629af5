"""Fixtures of the report tests: one small synthetic platform, its registry and snapshots."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tamis.consent import open_registry
from tamis.keys import PseudonymKey
from tamis.pipeline.build import BuildRequest, build_snapshot
from tamis.policy import load_policy
from tamis.reports import ComplianceOptions, Document, compliance_report
from tamis.synth import generate_platform

CUTOFF = datetime(2026, 1, 1, tzinfo=UTC)
KEY = PseudonymKey(bytes.fromhex("22" * 32), "test")


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("reports")
    export = root / "export"
    generate_platform(export, members=150, seed=3, records_per_member=4.0, consent_in_export=False)
    db = root / "registry.db"
    with open_registry(db) as registry:
        registry.import_file(export / "_consent" / "consent_events.jsonl")
    snaps = {}
    for name, cutoff in (
        ("minimal", CUTOFF),
        ("linkedin-2025", CUTOFF),
        ("minimal-early", datetime(2025, 12, 1, tzinfo=UTC)),
    ):
        out = root / "snapshots" / name
        build_snapshot(
            BuildRequest(
                export_dir=export,
                out=out,
                policy=load_policy(name.removesuffix("-early")),
                cutoff=cutoff,
                key=KEY,
                consent="registry",
                registry_url=str(db),
            )
        )
        snaps[name] = out
    return {"export": export, "db": db, "root": root, **snaps}


def _make_report(world: dict[str, Path], name: str, **kw: Any) -> Document:
    return compliance_report(
        world[name],
        ComplianceOptions(
            snapshots=(world["minimal-early"],),
            registry=str(world["db"]),
            export=world["export"],
            sample=200,
            **kw,
        ),
    )


@pytest.fixture(scope="session")
def report(world: dict[str, Path]) -> Document:
    return _make_report(world, "linkedin-2025")


@pytest.fixture(scope="session")
def build_report(world: dict[str, Path]) -> Callable[..., Document]:
    """``build_report(snapshot_name, **options)``: a compliance report over ``world``."""
    return lambda name, **kw: _make_report(world, name, **kw)
