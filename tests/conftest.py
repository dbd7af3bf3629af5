"""Fixtures for every test: a fixed pseudonym key and an isolated key home."""

from __future__ import annotations

import pytest

from tamis_testing import TEST_KEY_HEX


@pytest.fixture(autouse=True)
def _isolated_keys(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Every test gets a fixed pseudonym key and its own key-file home (never the user's)."""
    home = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    monkeypatch.setenv("TAMIS_PSEUDONYM_KEY", TEST_KEY_HEX)
    monkeypatch.delenv("TAMIS_DB", raising=False)
