"""The rights tests' helpers for tests elsewhere: the synthetic ``platform`` fixture, its consent
imported (``_import``), snapshots built (``_build``) and their members (``_included_members``),
the cutoffs, and the registry fixtures on SQLite and PostgreSQL.

Imported as ``rights_testing`` (``tests/`` is on ``sys.path``); test modules are not importable
by name, so ``tests/rights/test_rights.py`` is loaded from its file, once.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "tamis_test_rights_helpers", Path(__file__).parent / "rights" / "test_rights.py"
)
assert _spec is not None and _spec.loader is not None
rights = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rights)
