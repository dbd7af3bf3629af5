"""The HTML reports render in headless Chromium without console or page errors.

Uses Playwright for Python with the system Chromium (``/usr/bin/chromium``; never a downloaded
browser). Skipped, saying why, when either is missing. ``render_screenshot`` is also what makes
``docs/compliance-report.png`` (see docs/reports.md).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tamis.policy import load_policy
from tamis.reports import Document, lia_report, render_notice

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def render_in_chromium(html: Path, screenshot: Path | None = None) -> list[str]:
    """Open ``html`` in headless Chromium; return console errors and page errors."""
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            page.on(
                "console",
                lambda m: (
                    problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
                ),
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.goto(html.resolve().as_uri(), wait_until="load")
            images = page.eval_on_selector_all(
                "img", "els => els.map(e => e.complete && e.naturalWidth > 0)"
            )
            if not all(images):
                problems.append("an image did not decode")
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=False)
        finally:
            browser.close()
    return problems


def _need_browser() -> None:
    pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")
    if not CHROMIUM.exists() and not shutil.which("chromium"):
        pytest.skip("/usr/bin/chromium is missing (apt-get install -y chromium)")


def test_compliance_report_renders_without_errors(tmp_path: Path, report: Document) -> None:
    _need_browser()
    doc = report
    html = doc.write(tmp_path / "report.html")[0]
    shot = tmp_path / "report.png"
    assert render_in_chromium(html, shot) == []
    assert shot.stat().st_size > 10_000


def test_legal_documents_render_without_errors(tmp_path: Path) -> None:
    _need_browser()
    html = lia_report("linkedin-2025").write(tmp_path / "lia.html")[0]
    assert render_in_chromium(html) == []
    notice = tmp_path / "notice.html"
    notice.write_text(
        "<!DOCTYPE html><html lang=fr><meta charset=utf-8><title>n</title>"
        + render_notice(load_policy("minimal"), "fr").html
    )
    assert render_in_chromium(notice) == []
