"""A long folder in the v2 client, in Debian's Chromium on the real stack: the newest 200 first,
the older ones when the list is scrolled to its end (the routes: test_v2_paging.py)."""
from __future__ import annotations

import pytest
from app_fixtures import PASSWORD, _fresh_account
from v2_setup import append_numbered_mails, open_synced_v2, v2_settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]

COUNT = 250


@pytest.fixture
def app(make_app, mailstack):
    return make_app(**v2_settings(mailstack))


def test_older_mail_comes_when_the_list_reaches_its_end_in_chromium(app, live_server, chromium, make_mailbox,
                                                                     mailstack, imap_client):
    from playwright.sync_api import expect

    address, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, address, password, title="Archiv alt")
    append_numbered_mails(imap_client(1, address, password), address, COUNT)
    page = open_synced_v2(app, live_server, chromium, mailbox_id, "owner", PASSWORD)
    page.locator("#v2-conversations").uncheck()
    rows = page.locator("#v2-items > li.v2-row")
    expect(rows).to_have_count(200)
    expect(page.locator("#v2-more")).to_have_text("Load older messages")
    page.locator("#v2-list").evaluate("pane => { pane.scrollTop = pane.scrollHeight; }")
    expect(rows).to_have_count(COUNT)  # scrolled to the end: the older ones came by themselves
    expect(page.locator("#v2-more")).to_have_count(0)
    expect(rows.last).to_contain_text("Bestellung")
    assert page.problems == []
