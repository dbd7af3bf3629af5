"""The member pages in a real browser (Playwright driving Debian's chromium) against the service
running in its own process: sign in as a synthetic member, object in one click, see the
confirmation, the event in the registry and the history entry; in English and in French.
The screenshots in docs/ come from here: a run writes them to its temporary folder, and to docs/
only when asked (``TAMIS_SCREENSHOTS=docs pytest tests/service/test_service_browser.py``), so
that ``make test`` leaves the working tree as it found it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tamis.consent import open_registry

CHROMIUM = os.environ.get("TAMIS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install 'tamis[service]'")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


TEST_KEY_HEX = "11" * 32  # the key tests/conftest.py gives every test


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """One registry per backend for the whole module (one server start each)."""
    if request.param == "postgres":
        import sqlalchemy as sa

        database = request.getfixturevalue("pg_database")
        engine = sa.create_engine(database, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.exec_driver_sql("CREATE SCHEMA browser")
        engine.dispose()
        url = database.update_query_dict({"options": "-csearch_path=browser"})
        return str(url.render_as_string(hide_password=False))
    return f"sqlite:///{tmp_path_factory.mktemp('browser') / 'registry.db'}"


@pytest.fixture(scope="module")
def server(
    db_url: str, tmp_path_factory: pytest.TempPathFactory, helpers_module: Any
) -> Iterator[str]:
    """``python -m tamis.service`` on a free loopback port; yields its base URL."""
    root = tmp_path_factory.mktemp("browser-data")
    env = {
        **os.environ,
        "TAMIS_SESSION_SECRET": "browser-tests-" + "b" * 40,
        "TAMIS_PSEUDONYM_KEY": TEST_KEY_HEX,
        "XDG_DATA_HOME": str(root / "xdg"),
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TAMIS_PSEUDONYM_KEY", TEST_KEY_HEX)
        export_dir, snapshots_dir = helpers_module(root)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tamis.service", "--port", str(port), "--db", db_url,
         "--export", str(export_dir), "--snapshots", str(snapshots_dir)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                err = process.stderr.read().decode() if process.stderr else ""
                pytest.fail(f"the service did not start: {err[-2000:]}")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh", pytrace=False)
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


CASES = {
    "en": {
        "locale": "en-GB",
        "member": "m-alice",
        "sign_in": "Sign in",
        "label": "Member id",
        "on": "On",
        "off": "Off",
        "default": "this is the default for your region",
        "object": "Turn off: I object",
        "confirmed": "you object",
        "history_value": "objected",
        "channel": "settings page",
        "shot": "settings-page.png",
    },
    "fr": {
        "locale": "fr-FR",
        "member": "m-bruno",
        "sign_in": "Se connecter",
        "label": "Identifiant de membre",
        "on": "Activé",
        "off": "Désactivé",
        "default": "c'est la valeur par défaut de votre région",
        "object": "Désactiver : je m'oppose",
        "confirmed": "vous vous opposez",
        "history_value": "opposition",
        "channel": "page de paramètres",
        "shot": "settings-page-fr.png",
    },
}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_member_objects_in_one_click(
    browser: Any, server: str, db_url: str, lang: str, tmp_path: Path
) -> None:
    case = CASES[lang]
    context = browser.new_context(locale=case["locale"], viewport={"width": 1100, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{server}/settings")
        assert page.url.startswith(f"{server}/login")
        page.get_by_label(case["label"]).fill(case["member"])
        page.get_by_role("button", name=case["sign_in"]).click()
        page.wait_for_url(f"{server}/settings")
        assert page.locator("#setting-value").inner_text() == case["on"]
        assert case["default"] in page.locator("#setting-why").inner_text()

        page.get_by_role("button", name=case["object"]).click()  # the one click
        page.wait_for_url("**/settings?recorded=*")
        confirmation = page.locator("#confirmation")
        assert case["confirmed"] in confirmation.inner_text()
        assert page.locator("#setting-value").inner_text() == case["off"]

        with open_registry(db_url) as registry:
            (event,) = registry.history(case["member"])
        assert event.value is False and event.channel == "settings_page"
        assert event.event_id in confirmation.inner_text()
        row = page.locator("#history tbody tr").first
        assert case["history_value"] in row.inner_text()
        assert case["channel"] in row.inner_text()
        assert event.event_id in row.inner_text()

        shots = (
            ROOT / os.environ["TAMIS_SCREENSHOTS"]
            if "TAMIS_SCREENSHOTS" in os.environ
            else tmp_path
        )
        shots.mkdir(exist_ok=True)
        page.screenshot(path=str(shots / case["shot"]), full_page=True)
        assert (shots / case["shot"]).stat().st_size > 10_000  # a page, not a blank
    finally:
        context.close()


def test_language_switch_and_keyboard(browser: Any, server: str) -> None:
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    try:
        page.goto(f"{server}/notice")
        assert page.locator("html").get_attribute("lang") == "en"
        page.get_by_role("link", name="Français").click()
        assert page.locator("html").get_attribute("lang") == "fr"
        assert "Note d'information" in page.locator("h1").inner_text()
        # The choice is remembered; the first Tab reaches the skip link.
        page.goto(f"{server}/object")
        assert page.locator("html").get_attribute("lang") == "fr"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        # Every visible field has a label.
        for field in page.locator("input:not([type=hidden])").all():
            assert page.locator(f"label[for='{field.get_attribute('id')}']").count() == 1
    finally:
        context.close()


def test_objection_form_without_javascript(browser: Any, server: str, db_url: str) -> None:
    """A non-member objects with JavaScript disabled: the form works, a receipt is shown."""
    context = browser.new_context(locale="en-GB", java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{server}/object")
        page.get_by_label("Your e-mail address").fill("alice@example.org")
        page.get_by_role("button", name="Send the confirmation link").click()
        assert "confirmation link is on its way" in page.locator("main").inner_text()
    finally:
        context.close()
