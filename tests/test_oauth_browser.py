"""The delegated OAuth2 sign-in in Debian's Chromium (issue 13): the mailbox's manager clicks
"Sign in", logs in and consents on the local authorization server's page, comes back to the
app, the Test passes (token, IMAP and SMTP accept it over XOAUTH2), the mailbox syncs and sends.
The app is served by pytest-flask's live server; msal talks to the server's Entra-shaped
endpoints; Dovecot's passdb oauth2 checks every token. The password fields are never used."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from app_fixtures import PASSWORD
from oauth_fixture import CALLBACK_PATH, DOMAIN
from test_browser_flows import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS

from hostapp.extensions import db
from tricoma_mail_plugin.cache import refresh
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.mime.build import OutgoingMessage
from tricoma_mail_plugin.models import CachedFolder, Mailbox, OutboxItem
from tricoma_mail_plugin.sending import outbox

pytestmark = [pytest.mark.browser, pytest.mark.slow]



@pytest.fixture
def app(make_app, mailstack):
    return make_app(WTF_CSRF_ENABLED=True, TRICOMA_MAIL_CA_FILE=str(mailstack.cert),
                    TRICOMA_MAIL_UNDO_SEND_SECONDS=0)


def test_delegated_sign_in_in_chromium_then_test_sync_and_send(app, live_server, oauth_stack, oauth_provider,
                                                               oauth_mailbox):
    playwright_api = pytest.importorskip("playwright.sync_api")
    expect = playwright_api.expect
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian's Chromium is missing at {CHROMIUM}")
    # The provider sends the browser back to the address the browser used.
    app.config["SERVER_NAME"] = f"127.0.0.1:{live_server.port}"
    base = f"http://127.0.0.1:{live_server.port}"
    user = f"browser-{uuid.uuid4().hex[:8]}@{DOMAIN}"
    oauth_stack.server.add_user(user, "idp-password")
    provider = oauth_provider("microsoft", redirect_uri=base + CALLBACK_PATH)
    mailbox_id = oauth_mailbox(provider, email=user)
    live_server.start()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        # The authorization server's https certificate is the test stack's own.
        context = browser.new_context(ignore_https_errors=True, locale="en-GB")
        page = context.new_page()
        try:
            page.goto(base + "/login")
            page.fill("#username", "owner")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit].primary")
            page.goto(f"{base}/mail/settings/mailboxes/{mailbox_id}/")
            expect(page.locator("#field-imap_password")).to_have_count(0)  # no password field at all
            expect(page.locator("#exchange-help")).to_contain_text("IMAP.AccessAsUser.All")
            page.click("#oauth-sign-in")
            expect(page).to_have_title("Sign in - Local IdP")
            expect(page.locator("#scope")).to_contain_text("mail")
            page.fill("#username", user)
            page.fill("#password", "idp-password")
            page.check("#consent")
            page.click("#allow")
            expect(page.locator(".oauth-sign-in .signed-in")).to_be_visible()
            page.click("form.test-action button")
            expect(page.locator(".mailbox-state .state.on")).to_be_visible()
            page.screenshot(path=str(SCREENSHOTS / "oauth-signed-in.png"), full_page=True)
        except BaseException:
            page.screenshot(path=str(SCREENSHOTS / "oauth-failure.png"), full_page=True)
            raise
        finally:
            context.close()
            browser.close()
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        db.session.refresh(mailbox)
        steps = {f"{s.protocol}.{s.step}": s for s in service.stored_test_steps(mailbox)}
        assert steps["oauth.token"].ok and steps["imap.oauth_login"].detail == f"XOAUTH2 {user}"
        assert steps["smtp.oauth_auth"].detail == f"XOAUTH2 {user}"
        assert not {"imap_password", "smtp_password"} & set(service.read_secrets(mailbox))
        refresh.run_sync(mailbox)
        assert db.session.query(CachedFolder).filter_by(mailbox_id=mailbox_id, name="INBOX").count() == 1
        subject = f"from the browser test {uuid.uuid4().hex[:6]}"
        item_id = outbox.enqueue_as_operator(mailbox, OutgoingMessage(to=(user,), subject=subject, text="Hi\n")).id
        outbox.run_once()
        db.session.expire_all()
        assert db.session.get(OutboxItem, item_id).state == "sent"
    assert sum(f"Subject: {subject}".encode() in raw for raw in oauth_stack.maildir_messages(user)) == 1
