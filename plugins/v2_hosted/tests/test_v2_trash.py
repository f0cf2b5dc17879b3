"""Delete in the v2 client's Trash is for good (as in v1 and Thunderbird): the page asks first,
the messages leave the server, nothing is undone; outside Trash the action is refused and a
user without *delete* gets nothing. Before, a delete in Trash did nothing and the page said
"Moved to the trash"."""
from __future__ import annotations

import pytest
from app_fixtures import _fresh_account, login
from v2_setup import sync_now, thread_mail

from tricoma_mail_plugin import live_mailbox, sync_mailbox_now
from tricoma_mail_plugin.rights import access

pytestmark = pytest.mark.live


@pytest.fixture
def app(make_app, mailstack):
    return make_app(TRICOMA_MAIL_CA_FILE=str(mailstack.cert))


@pytest.fixture
def box(app, make_mailbox, mailstack, imap_client, make_user):
    address, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, address, password, title="Info")
    server = imap_client(1, address, password)
    server.append("INBOX", thread_mail("Alt und weg", "Kunde <k@kunde.test>", address, "<weg-1@kunde.test>"))
    server.append("INBOX", thread_mail("Bleibt", "Kunde <k@kunde.test>", address, "<bleibt-1@kunde.test>"))
    reader = make_user("reader", language="en")
    with app.app_context():
        sync_now(mailbox_id)
        access.grant(mailbox_id, "user", reader.id, "read")
    client = app.test_client()
    assert login(client, "owner").status_code == 302
    return {"id": mailbox_id, "server": server, "client": client, "app": app}


def _items(box, folder: str) -> dict[str, int]:
    with box["app"].app_context():
        sync_mailbox_now(live_mailbox(box["id"]))
    answer = box["client"].get(f"/mail/v2/api/m/{box['id']}/messages?folder={folder}").get_json()
    assert "items" in answer, answer
    return {item["subject"]: item["id"] for item in answer["items"]}


def test_delete_in_trash_is_for_good_and_only_there(app, box):
    api = f"/mail/v2/api/m/{box['id']}/actions"
    inbox = _items(box, "INBOX")
    refused = box["client"].post(api, json={"action": "delete_for_good", "ids": [inbox["Bleibt"]]})
    assert refused.status_code == 400 and "Only messages in Trash" in refused.get_json()["error"]

    moved = box["client"].post(api, json={"action": "delete", "ids": [inbox["Alt und weg"]]})
    assert moved.status_code == 200 and moved.get_json()["done"] == 1
    trash = _items(box, "Trash")
    assert set(trash) == {"Alt und weg"}

    reader = app.test_client()
    assert login(reader, "reader").status_code == 302
    assert reader.post(api, json={"action": "delete_for_good", "ids": [trash["Alt und weg"]]}).status_code == 403

    gone = box["client"].post(api, json={"action": "delete_for_good", "ids": [trash["Alt und weg"]]})
    assert gone.status_code == 200 and gone.get_json() == {"done": 1}
    box["server"].select_folder("Trash")
    assert box["server"].search(["SUBJECT", "Alt und weg"]) == []
    assert _items(box, "Trash") == {} and set(_items(box, "INBOX")) == {"Bleibt"}
