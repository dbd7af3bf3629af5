"""The ``tamis`` command line: a thin layer that wires the library's areas together.

Each command group lives in its own module and only wires library calls to options and output;
library errors (:class:`tamis.errors.TamisError`) become one-line messages, never tracebacks.
"""

from tamis.cli import (
    audit,
    consent,
    lineage,
    log,
    policy,
    report,
    rights,
    service,
    snapshot,
    synth,
)
from tamis.cli._common import app, main

__all__ = [
    "app",
    "audit",
    "consent",
    "lineage",
    "log",
    "main",
    "policy",
    "report",
    "rights",
    "service",
    "snapshot",
    "synth",
]
