"""The portal's pages in a phone-sized Chromium window: none is wider than the window (its tables
scroll inside themselves, the navigation wraps)."""
from __future__ import annotations

import pytest
from portal_testing import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def app(portal_app):
    """pytest-flask's live server serves ``app``: here the portal."""
    return portal_app


def test_the_portal_fits_a_phone(app, live_server, make_customer, chromium):
    customer = make_customer("Handy Kunde", language="de")
    live_server.start()
    base = live_server.url()
    page = chromium("de-DE", viewport={"width": 390, "height": 844})
    page.goto(base + "/login")
    page.fill("input[name=email]", customer.admin_email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.card button")
    page.wait_for_url(lambda url: "/login" not in url)
    for path in ("/", "/domains", "/mailboxes", "/tokens", "/users", "/account"):
        page.goto(base + path)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
    page.goto(base + "/users")
    assert page.locator("table").count()  # the page that was too wide: its list of users
    assert not page.problems, page.problems
