"""Delete in Trash in the v2 client, in Debian's Chromium on the real stack: the page asks
first ("Cancel" keeps the mail), then deletes for good with no undo; the server's Trash is
empty afterwards. The routes are tested in test_v2_trash.py."""
from __future__ import annotations

import pytest
from app_fixtures import PASSWORD, _fresh_account
from v2_setup import open_synced_v2, thread_mail, v2_settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def app(make_app, mailstack):
    return make_app(**v2_settings(mailstack))


def test_delete_in_trash_asks_first_in_chromium(app, live_server, chromium, make_mailbox, mailstack, imap_client):
    from playwright.sync_api import expect

    address, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, address, password, title="Info")
    server = imap_client(1, address, password)
    server.append("Trash", thread_mail("Alt und weg", "Kunde <k@kunde.test>", address, "<weg-2@kunde.test>"))
    page = open_synced_v2(app, live_server, chromium, mailbox_id, "owner", PASSWORD)
    page.locator("#v2-folders").get_by_text("Trash", exact=True).click()
    rows = page.locator("#v2-items > li.v2-row")
    expect(rows).to_have_count(1)
    rows.first.click()
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.keyboard.press("Delete")
    page.wait_for_timeout(300)
    expect(rows).to_have_count(1)  # "Cancel": nothing happens
    assert asked == ["Delete the chosen messages (1) for good? This cannot be undone."]
    page.once("dialog", lambda dialog: dialog.accept())
    page.keyboard.press("Delete")
    expect(page.locator("#v2-toast-text")).to_have_text("Deleted for good: 1.")
    expect(rows).to_have_count(0)
    server.select_folder("Trash")
    assert server.search(["SUBJECT", "Alt und weg"]) == []
    assert page.problems == []
