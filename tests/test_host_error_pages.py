"""Pages nobody may see or that do not exist are said in the host's layout and the user's
language, not with Werkzeug's bare English page; clients that do not read HTML keep the plain
answer."""
from __future__ import annotations

from app_fixtures import login

from hostapp.extensions import db
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.models import Mailbox


def test_an_unknown_page_is_said_in_the_layout_and_the_users_language(app, make_user):
    make_user("greta", language="de")
    client = app.test_client()
    login(client, "greta")
    response = client.get("/gibt-es-nicht", headers={"Accept": "text/html"})
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Seite nicht gefunden" in html and 'class="sidebar"' in html and "Not Found" not in html
    wrong_method = client.delete("/", headers={"Accept": "text/html"})
    assert wrong_method.status_code == 405 and "Diese Seite lässt sich so nicht aufrufen." in wrong_method.get_data(as_text=True)
    assert "GET" in wrong_method.headers["Allow"]  # RFC 9110: a 405 says what is allowed


def test_a_client_that_reads_no_html_gets_the_plain_answer(app, make_user):
    make_user("jonas", language="de")
    client = app.test_client()
    login(client, "jonas")
    response = client.get("/gibt-es-nicht", headers={"Accept": "application/json"})
    assert response.status_code == 404 and "Seite nicht gefunden" not in response.get_data(as_text=True)


def test_the_settings_of_a_mailbox_without_the_manage_right_are_refused_in_words(app, make_user):
    owner = make_user("olga", language="de")
    make_user("paul", language="de")
    with app.app_context():
        mailbox_id = service.create_mailbox("Vertrieb", db.session.merge(owner)).id
        assert db.session.get(Mailbox, mailbox_id) is not None
    client = app.test_client()
    login(client, "paul")
    for url in (f"/mail/settings/mailboxes/{mailbox_id}/", "/mail/settings/mailboxes/999999/"):
        response = client.get(url, headers={"Accept": "text/html"})
        html = response.get_data(as_text=True)
        assert response.status_code in (403, 404), url
        assert "Forbidden" not in html and "Not Found" not in html and 'class="sidebar"' in html, url
