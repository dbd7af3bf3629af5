"""Fixtures for every test: a fixed pseudonym key, an isolated key home, none of the settings in the
developer's environment, and a current folder of its own.

tamis resolves some defaults against the current folder (the registry ``./.tamis/registry.db``,
the OpenLineage file ``./.tamis/openlineage.jsonl``): every test runs in its own ``tmp_path``, and
the fixtures of wider scope in a folder of the session, so that no test reads or writes the
repository's root. A test that needs a file of the repository names it from
``Path(__file__)``, never from the current folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tamis_testing import TEST_KEY_HEX

# The developer's own settings, which would change what a test reads, writes or signs (machine
# knobs such as TAMIS_DUCKDB_MEMORY and the test suite's own TAMIS_TEST_*, TAMIS_FUZZ_* stay).
DEVELOPER_SETTINGS = (
    "TAMIS_DB",
    "TAMIS_PSEUDONYM_KEY_FILE",
    "TAMIS_PSEUDONYM_RETIRED_KEYS",
    "TAMIS_SIGNING_KEY",
    "TAMIS_SIGNING_KEY_FILE",
    "TAMIS_SESSION_SECRET",
    "TAMIS_SESSION_SECRET_FILE",
    "TAMIS_DPO_TOKEN",
    "TAMIS_OPENLINEAGE_URL",
    "TAMIS_OPENLINEAGE_FILE",
    "TAMIS_OPENLINEAGE_NAMESPACE",
)


def _isolate(patch: pytest.MonkeyPatch, home: Path, cwd: Path) -> None:
    patch.setenv("XDG_DATA_HOME", str(home))
    patch.setenv("TAMIS_PSEUDONYM_KEY", TEST_KEY_HEX)
    for name in DEVELOPER_SETTINGS:
        patch.delenv(name, raising=False)
    patch.chdir(cwd)


@pytest.fixture(scope="session", autouse=True)
def _isolated_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The same for the fixtures of wider scope (session, module, class), which run first."""
    with pytest.MonkeyPatch.context() as patch:
        _isolate(patch, tmp_path_factory.mktemp("xdg"), tmp_path_factory.mktemp("session-cwd"))
        yield


@pytest.fixture(autouse=True)
def _isolated_test(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """Every test gets a fixed pseudonym key, its own key-file home (never the user's), none of
    the developer's settings (``TAMIS_DB`` and the others of ``DEVELOPER_SETTINGS``), and runs in
    its own ``tmp_path``."""
    _isolate(monkeypatch, tmp_path_factory.mktemp("xdg"), tmp_path)
