"""The ``chromium`` fixture of the browser tests in tests/ and plugins/*/tests/ (registered by the
root conftest.py): pages of Debian's headless Chromium, driven by Playwright."""
from __future__ import annotations

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture
def chromium(tmp_path):
    """Factory ``chromium(locale, viewport=None, full_page=True)`` → a new page of Debian's headless
    Chromium (Playwright) in a context of that language (viewport 1280×800 unless given).
    ``page.problems`` collects script errors, ``page.shot(name)`` writes
    ``<tmp>/screenshots/<name>.png`` (that folder is ``page.shots`` and ``chromium.shots``; the
    whole page unless ``full_page=False``), ``page.sign_in(base_url, username, password)`` signs
    in to the Mailclient.

    Playwright starts at the first call: start the live server before it, because the live
    server is a forked process, and a fork made later holds Playwright's driver pipe open (the
    driver then never ends and the test hangs at its end)."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    from contextlib import ExitStack
    from pathlib import Path

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian's Chromium is missing at {CHROMIUM}")
    shots = tmp_path / "screenshots"
    shots.mkdir()
    started = {}

    with ExitStack() as stack:
        def new_page(locale: str = "de-DE", viewport: dict | None = None, full_page: bool = True):
            if "browser" not in started:
                playwright = stack.enter_context(playwright_api.sync_playwright())
                started["browser"] = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                                args=CHROMIUM_ARGS)
                stack.callback(started["browser"].close)
            context = started["browser"].new_context(locale=locale,
                                                     viewport=viewport or {"width": 1280, "height": 800})
            stack.callback(context.close)
            page = context.new_page()
            page.problems = []
            page.on("pageerror", lambda error: page.problems.append(str(error)))
            page.shots = shots
            page.shot = lambda name: page.screenshot(path=str(shots / f"{name}.png"), full_page=full_page)
            page.sign_in = lambda base_url, username, password: _sign_in(page, base_url, username, password)
            return page

        new_page.shots = shots
        yield new_page
    print(f"screenshots: {shots}")


def _sign_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(base_url + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit].primary")
    page.wait_for_url(lambda url: "/login" not in url)
