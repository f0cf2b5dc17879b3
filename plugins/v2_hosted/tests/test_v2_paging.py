"""A long folder in the v2 client: the list answers the newest 200 and says there are more; the
page asks for 200 more when the user scrolls to the end, presses the button or j / arrow down on
the last row — up to 5,000 (a longer way back is a search). Before, the list stopped at 200 with
no way to the older mail but search."""
from __future__ import annotations

import pytest
from app_fixtures import _fresh_account, login
from v2_setup import append_numbered_mails, sync_now

pytestmark = pytest.mark.live

COUNT = 250


@pytest.fixture
def app(make_app, mailstack):
    return make_app(TRICOMA_MAIL_CA_FILE=str(mailstack.cert))


@pytest.fixture
def long_box(app, make_mailbox, mailstack, imap_client):
    address, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, address, password, title="Archiv alt")
    append_numbered_mails(imap_client(1, address, password), address, COUNT)
    with app.app_context():
        sync_now(mailbox_id)
    return mailbox_id


def test_the_list_says_there_is_more_and_gives_it(app, long_box):
    client = app.test_client()
    assert login(client, "owner").status_code == 302
    api = f"/mail/v2/api/m/{long_box}/messages?folder=INBOX&conversations=0"
    first = client.get(api).get_json()
    assert len(first["items"]) == 200 and first["more"] is True
    every = client.get(api + "&limit=400").get_json()
    assert len(every["items"]) == COUNT and every["more"] is False
    assert {item["subject"] for item in every["items"]} == {f"Bestellung {n:03d}" for n in range(COUNT)}
    assert len(client.get(api + "&limit=999999").get_json()["items"]) == COUNT  # capped, not refused
    found = client.get(api + "&q=Bestellung&limit=100").get_json()
    assert len(found["items"]) == 100 and found["more"] is True
    grouped = client.get(f"/mail/v2/api/m/{long_box}/messages?folder=INBOX&conversations=1").get_json()
    assert grouped["more"] is True
