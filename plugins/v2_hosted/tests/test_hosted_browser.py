"""Hosted mailboxes in Debian's Chromium (headless, Playwright) on the real hosting stack:
Postfix + Dovecot (LMTP, Sieve, ManageSieve) fed by the hosting portal, which is served on
127.0.0.1 (``portal`` fixture); the Mailclient runs in pytest-flask's live server.

* Settings → tricoma Mail: "Jetzt Postfachdaten bei tricoma abholen" brings the portal's two
  mailboxes to the left, each opening in v2; fetching again changes nothing; a mailbox renamed
  in the portal is renamed here; a revoked token shows its error on the page (German, English).
* Filters on an imported mailbox, with no set-up (the portal names the ManageSieve port): a rule
  "subject contains Rechnung → folder Rechnungen" made in the rule editor files a mail delivered
  through Postfix → LMTP → Sieve there; the vacation reply set on the page answers each sender
  once within its interval; a broken script in the raw editor shows the server's error with its
  line. The same pages in German: the rule editor, the vacation reply, the raw editor's error.

Screenshots (German and English) go to ``<tmp>/screenshots``."""
from __future__ import annotations

import datetime as dt
import re
import smtplib
import time
import uuid
from email.header import decode_header, make_header
from email.message import EmailMessage

import pytest
from app_fixtures import PASSWORD
from hostingstack_fixture import imap_session
from sqlalchemy import func, select
from tricoma_mail_v2_hosted import portal_import
from tricoma_mail_v2_hosted.tables import portal_mailboxes

from hostapp.extensions import db
from tricoma_mail_plugin import live_mailbox, sync_mailbox_now
from tricoma_mail_plugin._state import mail_state
from tricoma_mail_plugin.models import Mailbox
from tricoma_mail_plugin.rights import access

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SETTINGS = "/mail/v2/settings/tricoma-mail/"
WAIT_SECONDS = 10.0


@pytest.fixture
def app(make_app, hostingstack):
    return make_app(WTF_CSRF_ENABLED=True, TRICOMA_MAIL_CA_FILE=hostingstack.client.info["cert"],
                    TRICOMA_MAIL_V2_PORTAL_HTTP_LOOPBACK=True, TRICOMA_MAIL_V2_PUSH="process")


def v2_links(page) -> dict[str, str]:
    """The navigation's links into the v2 client: title → href."""
    links = page.locator("nav.sidebar a[href^='/mail/v2/m/']")
    return {re.sub(r"\s+\d+$", "", text.strip()): href for text, href in zip(
        links.all_inner_texts(), [links.nth(n).get_attribute("href") for n in range(links.count())], strict=True)}


def imported_ids(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(portal_mailboxes.c.mailbox_id)))


def test_fetch_mailboxes_from_the_portal_in_chromium(app, live_server, make_user, portal, chromium):
    from playwright.sync_api import expect
    from tricoma_portal import api_tokens
    from tricoma_portal.extensions import db as portal_db
    from tricoma_portal.models import ApiToken
    from tricoma_portal.models import Mailbox as PortalMailbox

    made = portal.add_mailboxes(("info", "Info"), ("vertrieb", "Vertrieb"))
    token_id, token = portal.new_token()
    make_user("chefin", admin=True, language="de")
    make_user("admin-en", admin=True, language="en")
    live_server.start()
    base = live_server.url()
    page = chromium("de-DE")
    page.sign_in(base, "chefin", PASSWORD)

    # Settings → tricoma Mail: the portal's address and the token, then "abholen"
    page.goto(base + "/mail/settings/")
    page.click("a:has-text('tricoma Mail')")
    expect(page).to_have_url(base + SETTINGS)
    page.fill("#portal-url", portal.url)
    page.fill("#portal-token", token)
    page.click("form.mailbox-settings button[type=submit]")
    expect(page.locator("#portal-token-hint")).to_contain_text(token[:12])
    fetch = page.get_by_role("button", name="Jetzt Postfachdaten bei tricoma abholen")
    fetch.click()
    expect(page.locator(".flash.success")).to_contain_text("Postfächer abgeholt: 2 neu, 0 geändert, 0 unverändert.")
    links = v2_links(page)
    assert set(links) == {"Info", "Vertrieb"}, links
    page.shot("portal-1-fetched-de")
    with app.app_context():  # what the first open or the sync job does (both are off in tests)
        for mailbox_id in imported_ids(app):
            sync_mailbox_now(live_mailbox(mailbox_id))

    # both open in the v2 client
    for title in ("Info", "Vertrieb"):
        page.locator("nav.sidebar a[href^='/mail/v2/m/']", has_text=title).click()
        expect(page).to_have_url(base + links[title])
        expect(page.locator("#v2-client")).to_have_attribute("data-ready", "1")
        expect(page.locator(".v2-folder[data-role=inbox]")).to_be_visible()
    page.shot("portal-2-opened-in-v2-de")
    with app.app_context():
        count = db.session.scalar(select(func.count(Mailbox.id)))

    # a second fetch changes nothing
    page.goto(base + SETTINGS)
    fetch.click()
    expect(page.locator(".flash.success")).to_contain_text("0 neu, 0 geändert, 2 unverändert")
    assert v2_links(page) == links
    with app.app_context():
        assert db.session.scalar(select(func.count(Mailbox.id))) == count

    # renamed in the portal → renamed here, the same mailbox
    with portal.app.app_context():
        renamed = portal_db.session.get(PortalMailbox, made["vertrieb"][0])
        renamed.display_name = "Vertrieb Nord"
        portal_db.session.commit()
    fetch.click()
    expect(page.locator(".flash.success")).to_contain_text("0 neu, 1 geändert, 1 unverändert")
    assert v2_links(page) == {"Info": links["Info"], "Vertrieb Nord": links["Vertrieb"]}
    expect(page.locator("table.portal-mailboxes")).to_contain_text("Vertrieb Nord")
    # the state in the reader's words, each mailbox a link to its client, the time in the page's form
    row = page.locator("table.portal-mailboxes tr", has_text="Vertrieb Nord")
    expect(row).to_contain_text("aktiv")
    assert row.locator("a").get_attribute("href") == links["Vertrieb"]
    expect(page.locator("form small", has_text="Zuletzt abgeholt")).not_to_contain_text("UTC")
    page.shot("portal-3-renamed-de")

    # a revoked token: its error on the page, German and English
    with portal.app.app_context():
        api_tokens.revoke_token(portal_db.session.get(ApiToken, token_id))
    fetch.click()
    expect(page.locator("#portal-error")).to_have_text(
        "Das Portal hat den API-Token abgelehnt: Er wurde widerrufen oder ist falsch. Bitte erstellen Sie im "
        "Portal unter API-Tokens einen neuen Token und tragen Sie ihn hier ein.")
    page.shot("portal-4-token-revoked-de")
    english = chromium("en-US")
    english.sign_in(base, "admin-en", PASSWORD)
    english.goto(base + SETTINGS)
    english.get_by_role("button", name="Fetch mailbox data from tricoma now").click()
    expect(english.locator("#portal-error")).to_contain_text("The portal refused the API token: it was revoked or is wrong.")
    english.shot("portal-5-token-revoked-en")
    assert not page.problems and not english.problems, page.problems + english.problems


# -- filters and the vacation reply -----------------------------------------------------------


def deliver(stack, sender: str, recipient: str, subject: str) -> None:
    """Over SMTP to the stack's Postfix (port 25's role), as mail from outside arrives."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, recipient, subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@example.test>"
    message.set_content("Hallo,\n\nsiehe Betreff.\n")
    with smtplib.SMTP(stack.host, stack.ports["smtp"], timeout=10) as smtp:
        smtp.send_message(message)


def subjects(stack, login: str, password: str, folder: str) -> list[str]:
    with imap_session(stack, login, password) as imap:
        status, _ = imap.select(f'"{folder}"', readonly=True)
        if status != "OK":
            return []
        numbers = imap.search(None, "ALL")[1][0].split()
        found = []
        for number in numbers:
            header = imap.fetch(number, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")[1][0][1].decode()
            found.append(str(make_header(decode_header(header.split(":", 1)[1].strip()))))
        return sorted(found)


def wait_for(check, seconds: float = WAIT_SECONDS):
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def test_filters_and_vacation_of_an_imported_mailbox_in_chromium(app, live_server, make_user, portal,
                                                                 hostingstack, chromium):
    from playwright.sync_api import expect

    made = portal.add_mailboxes(("buchhaltung", "Buchhaltung"), ("anna", "Anna"), ("bernd", "Bernd"))
    _token_id, token = portal.new_token()
    admin = make_user("admin-en", admin=True, language="en")
    with app.app_context():  # the import itself is the test above; here it is the set-up
        portal_import.save_connection(portal.url, token, actor="test")
        result = portal_import.import_mailboxes(mail_state().directory.load_user(str(admin.id)))
        assert len(result.created) == 3 and not result.failed_test
        links = {row.login: row.mailbox_id for row in db.session.execute(select(portal_mailboxes))}
    _, login, password = made["buchhaltung"]
    (_, anna, anna_password), (_, bernd, bernd_password) = made["anna"], made["bernd"]
    filters_url = f"/mail/settings/mailboxes/{links[login]}/filters"
    live_server.start()
    base = live_server.url()
    page = chromium("en-US")
    page.sign_in(base, "admin-en", PASSWORD)

    # the rule editor, with no port to set: the import took it from the portal
    page.goto(base + filters_url)
    expect(page.locator("#sieve-unavailable")).to_have_count(0)
    expect(page.locator("#sieve-port")).to_have_value(str(hostingstack.ports["sieve"]))
    expect(page.locator("#rules-heading + p")).to_have_text("No rules yet.")
    editor = page.locator("form.rule-editor")
    # each row shows only what its choice uses: a header name for "Header", a folder or address
    # for move and forward, "keep a copy" for forward
    expect(editor.locator("input[name=cond_header_0]")).to_be_hidden()
    expect(editor.locator("input[name=action_argument_0]")).to_be_hidden()
    editor.locator("select[name=cond_field_1]").select_option("header")
    expect(editor.locator("input[name=cond_header_1]")).to_be_visible()
    editor.locator("select[name=action_kind_1]").select_option("forward")
    expect(editor.locator("input[name=action_argument_1]")).to_be_visible()
    expect(editor.locator("label.keep-copy").nth(1)).to_be_visible()
    box = editor.locator("select[name=cond_field_1]").bounding_box()
    assert abs(editor.locator("input[name=cond_header_1]").bounding_box()["y"] - box["y"]) < box["height"], \
        "a condition's inputs stand on one line"
    page.shot("filters-0-rule-editor-en")
    editor.locator("select[name=cond_field_1]").select_option("")
    editor.locator("select[name=action_kind_1]").select_option("")
    expect(editor.locator("input[name=cond_header_1]")).to_be_hidden()
    expect(editor.locator("label.keep-copy").nth(1)).to_be_hidden()
    editor.locator("#rule-name").fill("Rechnungen")
    editor.locator("select[name=cond_field_0]").select_option("subject")
    editor.locator("select[name=cond_operator_0]").select_option("contains")
    editor.locator("input[name=cond_value_0]").fill("Rechnung")
    editor.locator("select[name=action_kind_0]").select_option("move")
    editor.locator("input[name=action_argument_0]").fill("Rechnungen")
    editor.get_by_role("button", name="Save rule").click()
    expect(page.locator(".flash.success")).to_have_text("The filters are saved.")
    rule_row = page.locator("table.filters tbody tr")
    expect(rule_row).to_have_count(1)
    expect(rule_row).to_contain_text("Subject contains „Rechnung“")
    page.shot("filters-1-rule-saved-en")

    # delivered through Postfix → LMTP → Sieve: filed into Rechnungen, the other stays in INBOX
    deliver(hostingstack, "lieferant@example.test", login, "Ihre Rechnung 4711")
    deliver(hostingstack, "lieferant@example.test", login, "Hallo")
    assert wait_for(lambda: subjects(hostingstack, login, password, "Rechnungen")) == ["Ihre Rechnung 4711"]
    assert wait_for(lambda: subjects(hostingstack, login, password, "INBOX")) == ["Hallo"]

    # the vacation reply: each sender once within the interval (3 days), the rule still works
    tag = uuid.uuid4().hex[:6]
    today = dt.date.today()
    page.locator("input[name=vacation_enabled]").check()
    page.fill("#vacation-start", (today - dt.timedelta(days=1)).isoformat())
    page.fill("#vacation-end", (today + dt.timedelta(days=5)).isoformat())
    page.fill("#vacation-subject", f"Nicht im Büro {tag}")
    page.fill("#vacation-text", "Ich bin bis Montag nicht im Büro.")
    page.fill("#vacation-days", "3")
    page.get_by_role("button", name="Save automatic reply").click()
    expect(page.locator(".flash.success")).to_have_text("The automatic reply is saved.")
    expect(page.locator("#vacation-subject")).to_have_value(f"Nicht im Büro {tag}")
    page.shot("filters-2-vacation-en")
    for number in range(3):
        deliver(hostingstack, anna, login, f"Frage {number}")
    deliver(hostingstack, bernd, login, "Andere Frage")
    reply = f"Nicht im Büro {tag}"
    assert wait_for(lambda: len(subjects(hostingstack, login, password, "INBOX")) == 5)  # every mail is kept
    assert wait_for(lambda: subjects(hostingstack, bernd, bernd_password, "INBOX")) == [reply]
    assert wait_for(lambda: subjects(hostingstack, anna, anna_password, "INBOX")) == [reply]
    time.sleep(1)  # a second reply to Anna would come as quickly as Bernd's
    assert subjects(hostingstack, anna, anna_password, "INBOX") == [reply]  # three mails, one reply

    # the raw editor: a broken script shows the server's error with its line; nothing changes
    page.get_by_role("link", name="Edit the Sieve script directly (for experts)").click()
    script = page.locator("#sieve-script")
    expect(script).to_contain_text('fileinto :create "Rechnungen"')
    broken = 'require ["fileinto"];\n\nif header :contains "Subject" "x" {\n    fileinot "Somewhere";\n}\n'
    script.fill(broken)
    page.get_by_role("button", name="Check and save").click()
    rejected = page.locator("#sieve-rejected")
    expect(rejected).to_contain_text("The mail server refused the script because of line 4; nothing was changed.")
    expect(rejected.locator("pre.sieve-line")).to_have_text('4:     fileinot "Somewhere";')
    expect(page.locator("#sieve-server-error")).to_contain_text("line 4: error: unknown command 'fileinot'")
    expect(page.locator("#sieve-script")).to_have_value(broken)  # the text stays for correcting
    page.shot("filters-3-raw-error-en")
    page.goto(base + filters_url)
    expect(rule_row).to_have_count(1)  # the server kept the rule
    assert not page.problems, page.problems

    # the same pages in German (formal "Sie"): the rule editor, the vacation reply, the raw editor
    german = chromium("de-DE")
    with app.app_context():
        access.grant(links[login], "user", make_user("verwalterin", language="de").id, "manage")
    german.sign_in(base, "verwalterin", PASSWORD)
    german.goto(base + filters_url + "?edit=0")
    expect(german.locator("#rule-heading")).to_have_text("Regel Rechnungen ändern")
    expect(german.locator("table.filters tbody tr")).to_contain_text("Betreff enthält „Rechnung“")
    expect(german.locator("#rule-name")).to_have_value("Rechnungen")
    german.locator("#rule-heading").scroll_into_view_if_needed()
    german.shot("filters-4-rule-editor-de")
    vacation = german.locator("section[aria-labelledby=vacation-heading]")
    expect(vacation.locator("h2")).to_have_text("Automatische Antwort (Abwesenheit)")
    expect(german.locator("#vacation-subject")).to_have_value(f"Nicht im Büro {tag}")
    vacation.screenshot(path=str(german.shots / "filters-5-vacation-de.png"))
    german.get_by_role("link", name="Das Sieve-Skript direkt bearbeiten (für Fachleute)").click()
    german.locator("#sieve-script").fill(broken)
    german.get_by_role("button", name="Prüfen und speichern").click()
    expect(german.locator("#sieve-rejected")).to_contain_text(
        "Der Mailserver hat das Skript wegen Zeile 4 abgelehnt; es wurde nichts geändert.")
    expect(german.locator("#sieve-rejected pre.sieve-line")).to_have_text('4:     fileinot "Somewhere";')
    german.shot("filters-6-raw-error-de")
    assert not german.problems, german.problems
