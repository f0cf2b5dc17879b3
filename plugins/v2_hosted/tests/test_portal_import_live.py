"""Settings → tricoma Mail on the real hosting stack: the portal app served over HTTP on
127.0.0.1, two mailboxes provisioned into Postfix/Dovecot, "Jetzt Postfachdaten bei tricoma
abholen" → both on the left, opening in v2, syncing over IMAP with the imported app password; a
second import changes nothing; a rename and a new address in the portal arrive here; a mailbox
gone from the portal is marked and kept with its cache. Then the errors: a revoked token, a
wrong address, an unreachable portal, an address the mail-server policy refuses."""
from __future__ import annotations

import re

import pytest
from app_fixtures import login
from hostingstack_fixture import imap_session, message
from sqlalchemy import func, select
from tricoma_mail_v2_hosted import marks
from tricoma_mail_v2_hosted.tables import portal_connection, portal_mailboxes
from werkzeug.serving import make_server

from hostapp.extensions import db
from tricoma_mail_plugin import live_mailbox, sync_mailbox_now
from tricoma_mail_plugin._state import mail_state
from tricoma_mail_plugin.mailboxes import filters
from tricoma_mail_plugin.models import CachedFolder, CachedMessage, Mailbox
from tricoma_mail_plugin.rights import access

SETTINGS = "/mail/v2/settings/tricoma-mail/"


@pytest.fixture
def mailclient(app, make_user, hostingstack):
    """The Mailclient as an admin (German), trusting the hosting stack's certificate and allowing
    a plain-http portal on loopback."""
    app.config["TRICOMA_MAIL_CA_FILE"] = hostingstack.client.info["cert"]
    app.config["TRICOMA_MAIL_V2_PORTAL_HTTP_LOOPBACK"] = True
    user = make_user("chefin", admin=True, language="de")
    client = app.test_client()
    assert login(client, "chefin").status_code == 302
    return client, user


def flashes(page: str) -> str:
    return " ".join(re.findall(r'<p class="flash [^"]*"[^>]*>(.*?)</p>', page, re.DOTALL))


def imported_links(app) -> dict[str, int]:
    with app.app_context():
        return {row.login: row.mailbox_id for row in db.session.execute(select(portal_mailboxes))}


def test_fetch_imports_updates_and_never_doubles(app, portal, mailclient, hostingstack):
    from tricoma_portal import mailboxes, provisioning_jobs
    from tricoma_portal.extensions import db as portal_db
    from tricoma_portal.models import Mailbox as PortalMailbox

    client, user = mailclient
    with portal.app.app_context():
        info, info_password = mailboxes.create_mailbox(portal.tenant_id, "info", portal.domain_id, "Info")
        sales, _ = mailboxes.create_mailbox(portal.tenant_id, "vertrieb", portal.domain_id, "Vertrieb")
        info_id, sales_id, info_login = info.id, sales.id, info.login
        assert provisioning_jobs.wait_all(15)
    _token_id, token = portal.new_token()

    # the connection: saved encrypted, the token never shown again
    assert client.post(SETTINGS, data={"url": portal.url + "/", "token": token}).status_code == 302
    page = client.get(SETTINGS).get_data(as_text=True)
    assert token not in page and token[:12] in page and portal.url in page
    assert "Jetzt Postfachdaten bei tricoma abholen" in page
    assert SETTINGS in client.get("/mail/settings/").get_data(as_text=True)  # the panel
    with app.app_context():
        stored = db.session.execute(select(portal_connection)).one()
        assert token not in stored.token_secret

    # fetch: both mailboxes, in v2, with the importer's rights and the app password
    done = client.post(SETTINGS + "import", follow_redirects=True).get_data(as_text=True)
    assert "Postfächer abgeholt: 2 neu, 0 geändert, 0 unverändert." in flashes(done)
    links = imported_links(app)
    assert set(links) == {info_login, f"vertrieb@{portal.domain}"}
    navigation = client.get("/mail/").get_data(as_text=True)
    for title, mailbox_id in (("Info", links[info_login]), ("Vertrieb", links[f"vertrieb@{portal.domain}"])):
        assert re.search(rf'href="/mail/v2/m/{mailbox_id}/"[^>]*>\s*(<[^>]+>\s*)*{title}\b', navigation), title
        assert client.get(f"/mail/v2/m/{mailbox_id}/").status_code == 200
    with app.app_context():
        importer = mail_state().directory.load_user(str(user.id))
        for mailbox_id in links.values():
            assert marks.is_v2(mailbox_id)
            assert {"manage", "read", "send"} <= access.effective_rights(importer, mailbox_id)
        mailbox = db.session.get(Mailbox, links[info_login])
        assert mailbox.usable, mailbox.last_test_steps  # tested at import, so syncs and sends use it
        assert (mailbox.email, mailbox.imap_port, mailbox.imap_security) == (
            info_login, hostingstack.ports["imap"], "starttls")
        # the portal's ManageSieve port: filters and the vacation reply work without set-up
        assert mailbox.sieve_port == hostingstack.ports["sieve"]
        assert filters.load(mailbox).active_name is None
        mailbox_count = db.session.scalar(select(func.count(Mailbox.id)))

    # IMAP with the imported app password: a sync brings a mail in
    with imap_session(hostingstack, info_login, info_password) as imap:
        imap.append("INBOX", "", None, message("kunde@example.test", info_login, "Anfrage 4711").as_bytes())
    with app.app_context():
        sync_mailbox_now(live_mailbox(links[info_login]))
        assert live_mailbox(links[info_login]).last_sync_error is None
        assert cached_subjects(links[info_login]) == ["Anfrage 4711"]

    # a second fetch changes nothing
    again = client.post(SETTINGS + "import", follow_redirects=True).get_data(as_text=True)
    assert "0 neu, 0 geändert, 2 unverändert" in flashes(again)
    assert imported_links(app) == links
    with app.app_context():
        assert db.session.scalar(select(func.count(Mailbox.id))) == mailbox_count

    # renamed, a new address, and one mailbox gone from the portal
    with portal.app.app_context():
        renamed = portal_db.session.get(PortalMailbox, sales_id)
        renamed.display_name = "Vertrieb Nord"
        portal_db.session.commit()
        mailboxes.add_address(renamed, f"verkauf@{portal.domain}")
        mailboxes.delete_mailbox(portal_db.session.get(PortalMailbox, info_id), info_login)
    third = client.post(SETTINGS + "import", follow_redirects=True).get_data(as_text=True)
    assert "0 neu, 1 geändert, 0 unverändert" in flashes(third)
    assert f"Nicht mehr im Portal (hier aufbewahrt): {info_login}" in flashes(third)
    assert "Seit " in third and "nicht mehr im Portal" in third
    assert imported_links(app) == links
    with app.app_context():
        sales_box = live_mailbox(links[f"vertrieb@{portal.domain}"])
        assert sales_box.title == "Vertrieb Nord" and sales_box.extra_addresses == f"verkauf@{portal.domain}"
        assert sales_box.sender_name == "Vertrieb Nord"  # the From of its mail carries the name
        assert live_mailbox(links[info_login]) is not None  # kept, with its cache
        assert cached_subjects(links[info_login]) == ["Anfrage 4711"]
        assert db.session.scalar(select(func.count(Mailbox.id))) == mailbox_count
    assert "Vertrieb Nord" in client.get("/mail/").get_data(as_text=True)

    # server settings that differ from the portal's are set back to the portal's
    with app.app_context():
        live_mailbox(links[f"vertrieb@{portal.domain}"]).imap_port = 1
        db.session.commit()
    fourth = client.post(SETTINGS + "import", follow_redirects=True).get_data(as_text=True)
    assert "0 neu, 1 geändert, 0 unverändert" in flashes(fourth)
    with app.app_context():
        restored = live_mailbox(links[f"vertrieb@{portal.domain}"])
        assert restored.imap_port == hostingstack.ports["imap"] and restored.usable


def cached_subjects(mailbox_id: int) -> list[str]:
    return list(db.session.scalars(
        select(CachedMessage.subject).join(CachedFolder, CachedFolder.id == CachedMessage.folder_id)
        .where(CachedFolder.mailbox_id == mailbox_id)))


def test_clear_errors_for_a_revoked_token_a_wrong_or_unreachable_address(app, portal, mailclient, make_user):
    from tricoma_portal import api_tokens
    from tricoma_portal.extensions import db as portal_db
    from tricoma_portal.models import ApiToken

    client, _user = mailclient
    token_id, token = portal.new_token()
    client.post(SETTINGS, data={"url": portal.url, "token": token})
    assert client.post(SETTINGS + "import").status_code == 302  # no mailboxes yet: nothing to do

    with portal.app.app_context():
        api_tokens.revoke_token(portal_db.session.get(ApiToken, token_id))
    refused = client.post(SETTINGS + "import")
    assert refused.status_code == 400
    assert "Das Portal hat den API-Token abgelehnt: Er wurde widerrufen oder ist falsch." in refused.get_data(as_text=True)

    client.post(SETTINGS, data={"url": portal.url + "/kein-portal", "token": ""})  # the token is kept
    wrong = client.post(SETTINGS + "import").get_data(as_text=True)
    assert "Unter dieser Adresse antwortet kein tricoma Portal." in wrong

    make_user("admin-en", admin=True, language="en")
    english = app.test_client()
    login(english, "admin-en")
    with make_server("127.0.0.1", 0, portal.app) as closed:
        free_port = closed.server_port  # closed again when the block ends: nobody listens there
    english.post(SETTINGS, data={"url": f"http://127.0.0.1:{free_port}", "token": ""})
    unreachable = english.post(SETTINGS + "import")
    assert unreachable.status_code == 400
    assert "The portal cannot be reached. Please try again later" in unreachable.get_data(as_text=True)

    # the mail-server address policy applies to the portal too
    app.config["TRICOMA_MAIL_ALLOWED_MAIL_SERVERS"] = ()
    english.post(SETTINGS, data={"url": portal.url, "token": ""})
    assert "may not be reached in" in english.post(SETTINGS + "import").get_data(as_text=True)
    bad = english.post(SETTINGS, data={"url": "ftp://portal.example.com", "token": ""})
    assert bad.status_code == 400 and "https://" in bad.get_data(as_text=True)
    app.config["TRICOMA_MAIL_V2_PORTAL_HTTP_LOOPBACK"] = False
    plain = english.post(SETTINGS, data={"url": portal.url, "token": ""})
    assert plain.status_code == 400


def test_only_admins_see_and_use_the_settings(app, make_user):
    make_user("mitarbeiter", language="de")
    client = app.test_client()
    login(client, "mitarbeiter")
    assert client.get(SETTINGS).status_code == 403
    assert client.post(SETTINGS + "import").status_code == 403
    assert "tricoma Mail" not in client.get("/mail/settings/").get_data(as_text=True)
