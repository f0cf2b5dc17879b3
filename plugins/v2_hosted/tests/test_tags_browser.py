"""Tags in the v2 client (issue 15, point 6) in Debian's Chromium, headless, on the real stack:
a ``$label3`` set by another IMAP client shows as a chip; key 1 (as in Thunderbird) and the tag
menu set tags on the chosen messages, which the other client sees as keywords; the toolbar's
filter lists only the tagged messages (also when another script changes the list's filter); the
reading pane's × and key 0 remove tags; a ``$label5`` set elsewhere while the page is open shows
without a reload; the v1 list, filter, reading view and tag page show and set the same tags.
Screenshots (German) go to ``<tmp>/screenshots``."""
from __future__ import annotations

import time
from email.message import EmailMessage

import pytest
from app_fixtures import PASSWORD, _fresh_account
from sqlalchemy import select
from v2_setup import open_v2, owner_speaks, sync_now, v2_settings

from hostapp.extensions import db
from hostapp.models import User
from tricoma_mail_plugin.mail import tags

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.live]

SUBJECTS = ("Angebot Zahnrad", "Rechnung 4711", "Liefertermin")


def mail(subject: str, to: str) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Kunde <kunde@example.test>", to, subject
    message["Message-ID"] = f"<{subject.replace(' ', '-')}-{time.time_ns()}@example.test>"
    message.set_content(f"{subject}\n")
    return message.as_bytes()


@pytest.fixture
def app(make_app, mailstack):
    return make_app(**v2_settings(mailstack))


@pytest.fixture
def tagged_v2(app, live_server, make_mailbox, mailstack, imap_client):
    email, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, email, password, title="Vertrieb")
    other = imap_client(1, email, password)
    for subject in SUBJECTS:
        other.append("INBOX", mail(subject, email))
    other.select_folder("INBOX")
    other.add_flags(other.search(["SUBJECT", "Rechnung 4711"]), [b"$label3"])  # Thunderbird: Personal
    with app.app_context():
        owner_speaks("de")
        sync_now(mailbox_id)
    live_server.start()
    return {"url": live_server.url(), "id": mailbox_id, "other": other, "app": app}


@pytest.fixture
def page(tagged_v2, chromium):
    return chromium("de-DE", viewport={"width": 1400, "height": 850}, full_page=False)


def shot(page, name: str) -> None:
    page.shot(name)


def keywords_on_server(other, subject: str) -> set[str]:
    other.select_folder("INBOX")
    flags = other.get_flags(other.search(["SUBJECT", subject]))
    return {flag.decode().lower() for values in flags.values() for flag in values if not flag.startswith(b"\\")}


def test_set_a_tag_and_filter_by_it_in_chromium(tagged_v2, page):
    try:
        walk_through(tagged_v2, page)
    except BaseException:
        shot(page, "tags-failure")
        raise
    assert not page.problems, page.problems


def walk_through(v2, page):
    from playwright.sync_api import expect

    other = v2["other"]
    client = open_v2(page, v2["url"], v2["id"], "owner", PASSWORD,
                     {"data-ready": "1", "data-tags-ready": "1", "data-live": "on"})
    rows = page.locator("#v2-items > li.v2-row")
    expect(rows).to_have_count(3)
    expect(page.locator("#v2-help-dialog tr[data-tags] td")).to_have_text(
        ["Eines der ersten neun Schlagwörter setzen oder entfernen", "Alle Schlagwörter entfernen"])

    def row(subject: str):
        return rows.filter(has_text=subject)

    # the label another client set shows as a chip, in German, in Thunderbird's colour
    personal = row("Rechnung 4711").locator(".v2-tag[data-keyword='$label3']")
    expect(personal).to_have_text("Persönlich")
    expect(personal).to_have_class("v2-tag tag-009900")

    # key 1 (as in Thunderbird) tags the chosen message "Wichtig": a keyword on the server
    row("Liefertermin").click()
    expect(page.locator("#v2-reader-subject")).to_have_text("Liefertermin")
    page.locator("#v2-items").focus()
    page.keyboard.press("1")
    expect(row("Liefertermin").locator(".v2-tag[data-keyword='$label1']")).to_have_text("Wichtig")
    expect(page.locator(".v2-reader-tags .v2-tag[data-keyword='$label1']")).to_contain_text("Wichtig")
    expect(page.locator("#v2-tag-status")).to_have_text("Schlagwort „Wichtig“ gesetzt.")
    assert keywords_on_server(other, "Liefertermin") == {"$label1"}

    # the tag menu tags two chosen messages at once ("Arbeit")
    row("Angebot Zahnrad").click(modifiers=["Control"])
    expect(page.locator('#v2-items > li[aria-selected="true"]')).to_have_count(2)
    page.select_option("#v2-tag-set", "$label2")
    expect(row("Angebot Zahnrad").locator(".v2-tag[data-keyword='$label2']")).to_have_text("Arbeit")
    expect(row("Liefertermin").locator(".v2-tag[data-keyword='$label2']")).to_have_text("Arbeit")
    assert keywords_on_server(other, "Liefertermin") == {"$label1", "$label2"}
    assert keywords_on_server(other, "Angebot Zahnrad") == {"$label2"}
    shot(page, "tags-1-set-de")

    # filter: only the messages tagged "Wichtig"
    page.select_option("#v2-tag-filter", "$label1")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Liefertermin")
    shot(page, "tags-2-filtered-de")
    page.select_option("#v2-tag-filter", "$label2")
    expect(rows).to_have_count(2)
    # another script (a team view) sets the list's filter anew: the tag stays in it
    page.evaluate("""() => { const root = document.getElementById('v2-client');
        root.dataset.listFilter = 'other=1'; root.dispatchEvent(new CustomEvent('v2:reload-list')); }""")
    expect(client).to_have_attribute("data-list-filter", "other=1&tag=%24label2")
    expect(rows).to_have_count(2)
    page.select_option("#v2-tag-filter", "")
    expect(rows).to_have_count(3)
    expect(client).to_have_attribute("data-list-filter", "other=1")

    # the reading pane's × removes the tag, on the server too
    row("Liefertermin").click()
    page.locator(".v2-reader-tags .v2-tag[data-keyword='$label1'] button").click()
    expect(row("Liefertermin").locator(".v2-tag[data-keyword='$label1']")).to_have_count(0)
    assert keywords_on_server(other, "Liefertermin") == {"$label2"}
    # key 0 (as in Thunderbird) takes every tag off the chosen message
    page.locator("#v2-items").focus()
    page.keyboard.press("0")
    expect(row("Liefertermin").locator(".v2-tag")).to_have_count(0)
    assert keywords_on_server(other, "Liefertermin") == set()

    # a label set elsewhere while the page is open shows without a reload (IDLE → live stream)
    other.select_folder("INBOX")
    other.add_flags(other.search(["SUBJECT", "Rechnung 4711"]), [b"$label5"])
    expect(row("Rechnung 4711").locator(".v2-tag[data-keyword='$label5']")).to_have_text("Später", timeout=5000)
    shot(page, "tags-3-live-de")

    # a tag made elsewhere (another manager's browser) joins the open page's menus without a reload
    with v2["app"].test_request_context():
        owner = db.session.scalar(select(User).where(User.username == "owner"))
        tags.define_tag(owner, v2["id"], "Reklamation", "#cc3399")
    expect(page.locator("#v2-tag-filter option[value='reklamation']")).to_have_text("Reklamation", timeout=5000)
    expect(page.locator("#v2-tag-set option[value='reklamation']")).to_have_count(1)

    # the v1 list and reading view show the same tags; the v1 filter and the reading view's form
    page.goto(f"{v2['url']}/mail/m/{v2['id']}/?folder=INBOX")
    table = page.locator("table.messages tbody tr")
    expect(table).to_have_count(3)
    expect(table.filter(has_text="Rechnung 4711").locator(".tag-chip")).to_have_text(["Persönlich", "Später"])
    page.select_option("#tag-filter", "$label2")
    page.click(".tag-filter button[type=submit]")
    expect(table).to_have_count(1)  # "Liefertermin" lost its tags to key 0
    shot(page, "tags-4-v1-list-de")
    table.filter(has_text="Angebot Zahnrad").locator("td.subject a").click()
    expect(page.locator(".message-tags .tag-chip")).to_have_text(["Arbeit"])
    page.select_option("#message-tag", "$label4")
    page.click(".message-tags button[value=tag]")
    expect(page.locator(".message-tags .tag-chip")).to_have_text(["Arbeit", "Zu erledigen"])
    assert keywords_on_server(other, "Angebot Zahnrad") == {"$label2", "$label4"}
    shot(page, "tags-5-v1-reading-de")

    # the mailbox's tags: a new one gets the keyword Thunderbird would give it
    page.goto(f"{v2['url']}/mail/m/{v2['id']}/tags/")
    page.fill("#new-name", "Kunde Süd")
    page.select_option("#new-colour", "#996600")
    page.click("button:has-text('Schlagwort anlegen')")
    expect(page.locator(".flash, .flashes, [role=status], .success").first).to_contain_text("kunde_s&apw-d")
    expect(page.locator("table.tags .tag-chip.tag-996600")).to_have_text("Kunde Süd")
    shot(page, "tags-6-settings-de")


ASKED_FOR = """window.askedFor = [];
const fetchNow = window.fetch;
window.fetch = function (url) { window.askedFor.push(String(url)); return fetchNow.apply(this, arguments); };"""


def test_the_v2_list_is_asked_for_once_a_team_script_still_loading_runs(tagged_v2, page):
    """On a slow connection team_tags.js may still be loading when client.js runs (both are
    deferred): client.js asks for the list and opens the live stream only at DOMContentLoaded,
    when every script of the page runs, so no team script misses the first v2:list-rendered or
    v2:live, and data-ready="1" (what the browser tests wait for) means that all of them listen."""
    from playwright.sync_api import expect

    page.sign_in(tagged_v2["url"], "owner", PASSWORD)
    page.add_init_script(ASKED_FOR)
    held = []
    page.route("**/team_tags.js*", lambda route: held.append(route))
    page.goto(f"{tagged_v2['url']}/mail/v2/m/{tagged_v2['id']}/", wait_until="commit")
    client = page.locator("#v2-client")
    expect(client).to_have_attribute("data-team", "ready")  # client.js and team_state.js (before it) ran
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the page never asked for team_tags.js"
    assert client.get_attribute("data-tags-ready") is None  # team_tags.js has not run yet
    assert not [url for url in page.evaluate("window.askedFor") if url.endswith("/folders") or "/messages?" in url]
    for route in held:
        route.continue_()
    expect(client).to_have_attribute("data-ready", "1")
    expect(client).to_have_attribute("data-tags-ready", "1")
    rows = page.locator("#v2-items > li.v2-row")
    expect(rows).to_have_count(3)
    expect(rows.filter(has_text="Rechnung 4711").locator(".v2-tag[data-keyword='$label3']")).to_have_text("Persönlich")
    assert not page.problems, page.problems
