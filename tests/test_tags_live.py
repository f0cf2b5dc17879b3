"""Tags as IMAP keywords (issue 15, point 6), on the local Dovecot: a tag set here is a keyword
that a second IMAP client sees; Thunderbird's ``$label1`` … set there show here after a sync,
in the v1 list (chips, filter), the reading view, the v1 list's JSON and the v2 list; a server
whose PERMANENTFLAGS has no ``\\*`` refuses a tag with a clear error before anything changes;
rights as for flags (read to look, write to tag, manage to define)."""
from __future__ import annotations

import dataclasses
import uuid
from email.message import EmailMessage

import pytest
from app_fixtures import _fresh_account, login
from sqlalchemy import select

from hostapp.extensions import db
from tricoma_mail_plugin.cache import refresh
from tricoma_mail_plugin.mail import tags
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.models import CachedFolder, CachedMessage, Mailbox
from tricoma_mail_plugin.rights import access

pytestmark = pytest.mark.live


def test_keywords_are_the_ones_thunderbird_makes():
    assert tags.keyword_for_name("Kunde") == "kunde"
    assert tags.keyword_for_name("Kunde Nord (neu)") == "kunde_nord__neu_"
    # non-ASCII: IMAP's modified UTF-7, lower-cased, as Thunderbird's tag service does
    assert tags.keyword_for_name("Wichtig für mich") == "wichtig_f&apw-r_mich"
    assert tags.keyword_for_name("A&B") == "a&-b"
    with pytest.raises(tags.InvalidSettings):
        tags.checked_keyword("two words")
    with pytest.raises(tags.InvalidSettings):
        tags.checked_keyword("$Forwarded")  # a marker, not a tag
    assert tags.checked_keyword("$Label6") == "$label6"


def test_every_palette_colour_has_its_chip_class_in_the_shared_stylesheet():
    from pathlib import Path

    import tricoma_mail_plugin

    css = (Path(tricoma_mail_plugin.__file__).parent / "static" / "tricoma_mail" / "tag_colours.css").read_text()
    for colour in tags.PALETTE_COLOURS:
        assert f".tag-{colour.lstrip('#').lower()} {{ background: {colour.lower()};" in css


def _mail(subject: str, to: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Kunde <kunde@example.test>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@example.test>"
    message.set_content(f"{subject}\n")
    return message.as_bytes()


@pytest.fixture
def tagged(app, make_mailbox, mailstack, imap_client, make_user):
    """A synced mailbox with two messages, its owner's client, and a second IMAP client."""
    email, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, email, password, title="Vertrieb")
    other = imap_client(1, email, password)
    other.append("INBOX", _mail("Angebot Zahnrad", email))
    other.append("INBOX", _mail("Rechnung 4711", email))
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        service.run_test(mailbox)
        refresh.run_sync(mailbox)
    client = app.test_client()
    assert login(client, "owner").status_code == 302
    return {"id": mailbox_id, "email": email, "password": password, "client": client, "other": other,
            "pks": _pks(app, mailbox_id)}


def _pks(app, mailbox_id: int) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(
            select(CachedMessage.subject, CachedMessage.id).join(CachedFolder, CachedFolder.id == CachedMessage.folder_id)
            .where(CachedFolder.mailbox_id == mailbox_id))
        return dict(rows.all())


def _server_flags(other) -> dict[str, set[str]]:
    """What the second client sees: subject -> keywords (lower case)."""
    other.select_folder("INBOX")
    found = {}
    for data in other.fetch("1:*", ["FLAGS", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]"]).values():
        header = data[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip()
        found[header] = {flag.decode().lower() for flag in data[b"FLAGS"] if not flag.startswith(b"\\")}
    return found


def test_tags_travel_both_ways_between_here_and_another_imap_client(app, tagged):
    client, other, pks = tagged["client"], tagged["other"], tagged["pks"]
    api = f"/api/mail/m/{tagged['id']}/tags"

    listed = client.get(api).get_json()
    assert [(t["keyword"], t["name"], t["colour"]) for t in listed["tags"]] == [
        ("$label1", "Important", "#ff0000"), ("$label2", "Work", "#ff9900"), ("$label3", "Personal", "#009900"),
        ("$label4", "To Do", "#3333ff"), ("$label5", "Later", "#993399")]
    assert listed["can_tag"] and listed["can_define"]

    # Thunderbird's label set here is a keyword on the server, seen by a second IMAP client
    answer = client.post(api + "/apply", json={"ids": [pks["Angebot Zahnrad"]], "add": ["$label1"]})
    assert answer.status_code == 200 and answer.get_json() == {"done": 1}
    assert _server_flags(other) == {"Angebot Zahnrad": {"$label1"}, "Rechnung 4711": set()}

    # a tag of our own: the keyword Thunderbird would give it, on both messages at once
    made = client.post(api, json={"name": "Kunde Nord", "colour": "#009999"})
    assert made.status_code == 200, made.get_json()
    assert made.get_json()["tag"]["keyword"] == "kunde_nord"
    both = [pks["Angebot Zahnrad"], pks["Rechnung 4711"]]
    assert client.post(api + "/apply", json={"ids": both, "add": ["kunde_nord"]}).get_json() == {"done": 2}
    assert _server_flags(other) == {"Angebot Zahnrad": {"$label1", "kunde_nord"}, "Rechnung 4711": {"kunde_nord"}}

    # the other client tags and untags (as Thunderbird does: UID STORE of $label2)
    uids = {subject: uid for subject, uid in _uids(other).items()}
    other.add_flags([uids["Rechnung 4711"]], [b"$label1", b"$label2"])
    other.remove_flags([uids["Angebot Zahnrad"]], [b"$label1"])
    other.add_flags([uids["Angebot Zahnrad"]], [b"projekt-x"])  # a keyword this mailbox has not named
    with app.app_context():
        refresh.run_sync(db.session.get(Mailbox, tagged["id"]))

    with app.app_context():
        flags = {subject: set(value.split()) for subject, value in db.session.execute(
            select(CachedMessage.subject, CachedMessage.flags).where(CachedMessage.id.in_(both))).all()}
    assert flags["Rechnung 4711"] >= {"$label1", "$label2", "kunde_nord"} and "$label1" not in flags["Angebot Zahnrad"]

    # v1 list: chips in the mailbox's colours, the unnamed keyword in grey; the filter
    page = client.get(f"/mail/m/{tagged['id']}/?folder=INBOX").get_data(as_text=True)
    assert 'class="tag-chip tag-ff0000" data-keyword="$label1">Important<' in page
    assert 'class="tag-chip tag-ff9900" data-keyword="$label2">Work<' in page
    assert 'class="tag-chip tag-009999" data-keyword="kunde_nord">Kunde Nord<' in page
    assert 'class="tag-chip tag-808080" data-keyword="projekt-x">projekt-x<' in page
    assert page.count('data-keyword="$label1"') == 1  # moved from one message to the other elsewhere
    only_important = client.get(f"/mail/m/{tagged['id']}/?folder=INBOX&tag=$label1").get_data(as_text=True)
    assert "Rechnung 4711" in only_important and "Angebot Zahnrad" not in only_important
    only_work = client.get(f"/mail/m/{tagged['id']}/?folder=INBOX&tag=$label2").get_data(as_text=True)
    assert "Rechnung 4711" in only_work and "Angebot Zahnrad" not in only_work
    assert '<option value="$label2" selected>Work</option>' in only_work
    # the list's JSON and the v2 list carry the keywords; the v2 list filters by tag too
    rows = client.get(f"/api/mail/m/{tagged['id']}/messages?folder=INBOX").get_json()["messages"]
    assert {row["subject"]: set(row["keywords"]) for row in rows}["Rechnung 4711"] == {"$label1", "$label2", "kunde_nord"}
    v2 = client.get(f"/mail/v2/api/m/{tagged['id']}/messages?folder=INBOX&tag=$LABEL2").get_json()
    assert [item["subject"] for item in v2["items"]] == ["Rechnung 4711"]
    assert set(v2["items"][0]["keywords"]) == {"$label1", "$label2", "kunde_nord"}

    # reading view: the chips and the form; untagging there reaches the server
    reading = client.get(f"/mail/m/{tagged['id']}/messages/{pks['Rechnung 4711']}").get_data(as_text=True)
    assert 'data-keyword="$label2">Work<' in reading and f"/mail/m/{tagged['id']}/tags/apply" in reading
    back = client.post(f"/mail/m/{tagged['id']}/tags/apply",
                       data={"ids": str(pks["Rechnung 4711"]), "tag": "$label2", "action": "untag", "next": "/mail/"})
    assert back.status_code == 302
    assert _server_flags(other)["Rechnung 4711"] == {"$label1", "kunde_nord"}


def _uids(other) -> dict[str, int]:
    other.select_folder("INBOX")
    return {data[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip(): uid
            for uid, data in other.fetch("1:*", ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"]).items()}


class _NoCustomKeywords:
    """The mailbox's real connection, except that SELECT reports PERMANENTFLAGS without ``\\*``
    (as a server that keeps only the system flags does; Dovecot always allows keywords)."""

    def __init__(self, backend):
        self.backend = backend

    def select(self, folder, readonly=True):
        status = self.backend.select(folder, readonly)
        return dataclasses.replace(status, permanent_flags=("\\Answered", "\\Flagged", "\\Deleted", "\\Seen"))

    def __getattr__(self, name):
        return getattr(self.backend, name)


def test_dovecot_says_it_keeps_any_keyword(app, tagged):
    with app.app_context():
        with service.backend_for(db.session.get(Mailbox, tagged["id"])) as backend:
            status = backend.select("INBOX", readonly=False)
    assert "\\*" in status.permanent_flags


def test_a_server_without_custom_keywords_refuses_a_tag_clearly(app, tagged):
    pks = tagged["pks"]
    with app.test_request_context():
        owner = access_user(app, "owner")
        mailbox = db.session.get(Mailbox, tagged["id"])
        with service.backend_for(mailbox) as real:
            refusing = _NoCustomKeywords(real)
            with pytest.raises(tags.KeywordsNotStored) as refused:
                tags.set_tags(owner, mailbox.id, [pks["Angebot Zahnrad"]], add=["$label1"], backend=refusing)
            assert "PERMANENTFLAGS has no \\*" in refused.value.user_message
            assert "$label1" in refused.value.user_message and "INBOX" in refused.value.user_message
            with pytest.raises(tags.KeywordsNotStored):
                tags.define_tag(owner, mailbox.id, "Kunde Süd", "#996600", backend=refusing)
            # removing is always possible
            tags.set_tags(owner, mailbox.id, [pks["Angebot Zahnrad"]], remove=["$label1"], backend=refusing)
    assert "kunde_s&apw-d" not in {t["keyword"] for t in tagged["client"].get(f"/api/mail/m/{tagged['id']}/tags")
                                    .get_json()["tags"]}
    assert _server_flags(tagged["other"]) == {"Angebot Zahnrad": set(), "Rechnung 4711": set()}


def access_user(app, username: str):
    from tricoma_mail_plugin._state import mail_state

    directory = mail_state().directory
    return directory.load_user(directory.find("user", username).id)


def test_tags_need_the_rights_of_flags(app, tagged, make_user):
    mailbox_id, pks = tagged["id"], tagged["pks"]
    api = f"/api/mail/m/{mailbox_id}/tags"
    with app.app_context():
        reader = make_user("tag-reader", language="de")
        access.grant(mailbox_id, "user", reader.id, "read")
        writer = make_user("tag-writer", language="en")
        access.grant(mailbox_id, "user", writer.id, "read")
        access.grant(mailbox_id, "user", writer.id, "write")
        make_user("tag-stranger", language="en")
    clients = {}
    for name in ("tag-reader", "tag-writer", "tag-stranger"):
        clients[name] = app.test_client()
        assert login(clients[name], name).status_code == 302

    # German names of Thunderbird's labels for a German reader; reading yes, tagging no
    german = clients["tag-reader"].get(api).get_json()
    assert [t["name"] for t in german["tags"]] == ["Wichtig", "Arbeit", "Persönlich", "Zu erledigen", "Später"]
    assert not german["can_tag"] and not german["can_define"]
    assert clients["tag-reader"].post(api + "/apply", json={"ids": [pks["Rechnung 4711"]],
                                                            "add": ["$label1"]}).status_code == 403
    assert clients["tag-writer"].post(api + "/apply", json={"ids": [pks["Rechnung 4711"]],
                                                            "add": ["$label4"]}).status_code == 200
    assert clients["tag-writer"].post(api, json={"name": "Neu", "colour": "#ff0000"}).status_code == 403
    # an unknown keyword is refused (a tag is defined first), a foreign message is not found
    unknown = clients["tag-writer"].post(api + "/apply", json={"ids": [pks["Rechnung 4711"]], "add": ["frei"]})
    assert unknown.status_code == 400 and "frei" in unknown.get_json()["error"]

    stranger = clients["tag-stranger"]
    for method, url, body in (("GET", api, None), ("POST", api, {"name": "x", "colour": "#ff0000"}),
                              ("POST", api + "/apply", {"ids": [pks["Rechnung 4711"]], "add": ["$label1"]}),
                              ("GET", f"/mail/m/{mailbox_id}/tags/", None)):
        answer = stranger.open(url, method=method, json=body)
        assert answer.status_code == 404, (method, url)
        assert "Wichtig" not in answer.get_data(as_text=True) and "Important" not in answer.get_data(as_text=True)
    filtered = stranger.get(f"/mail/m/{mailbox_id}/?folder=INBOX&tag=$label4")
    assert filtered.status_code == 404 and "Rechnung" not in filtered.get_data(as_text=True)
    assert _server_flags(tagged["other"])["Rechnung 4711"] == {"$label4"}


def test_defining_renaming_and_deleting_tags(app, tagged):
    client, mailbox_id = tagged["client"], tagged["id"]
    page = client.get(f"/mail/m/{mailbox_id}/tags/")
    assert page.status_code == 200 and "$label5" in page.get_data(as_text=True)
    made = client.post(f"/mail/m/{mailbox_id}/tags/", data={"action": "create", "name": "Reklamation",
                                                               "colour": "#cc3399", "keyword": ""})
    assert made.status_code == 302
    listed = {t["keyword"]: t for t in client.get(f"/api/mail/m/{mailbox_id}/tags").get_json()["tags"]}
    assert listed["reklamation"]["name"] == "Reklamation"
    # the same name twice, a colour not offered, a keyword that is no keyword: said in words
    twice = client.post(f"/mail/m/{mailbox_id}/tags/", data={"action": "create", "name": "reklamation",
                                                                "colour": "#cc3399"})
    assert twice.status_code == 400 and "exists already" in twice.get_data(as_text=True)
    assert client.post(f"/api/mail/m/{mailbox_id}/tags", json={"name": "X", "colour": "red"}).status_code == 400
    assert client.post(f"/api/mail/m/{mailbox_id}/tags",
                       json={"name": "X", "colour": "#ff0000", "keyword": "a b"}).status_code == 400
    # rename a Thunderbird label, and back to its built-in (translated) name with an empty name
    label1 = listed["$label1"]["id"]
    assert client.post(f"/api/mail/m/{mailbox_id}/tags/{label1}",
                       json={"name": "Dringend", "colour": "#000000"}).get_json()["tag"]["name"] == "Dringend"
    assert client.post(f"/api/mail/m/{mailbox_id}/tags/{label1}",
                       json={"name": "", "colour": "#ff0000"}).get_json()["tag"]["name"] == "Important"
    assert client.delete(f"/api/mail/m/{mailbox_id}/tags/{label1}").status_code == 400  # labels stay
    assert client.delete(f"/api/mail/m/{mailbox_id}/tags/{listed['reklamation']['id']}").get_json() == {
        "deleted": "reklamation"}
    assert "reklamation" not in {t["keyword"] for t in client.get(f"/api/mail/m/{mailbox_id}/tags").get_json()["tags"]}
