"""Team mail in a shared mailbox on the real stack (Dovecot, the sync, the background job's task):
assign a conversation to a user with rights (notice, audit, live change, hook), its status, the
views, and that the state stays with the conversation through a resync from scratch, a move to
another folder and the same mail read by a second IMAP client; who is answering; snooze and
follow-up reminders run by the ``team`` job with the clock moved; the audit export; and the hook
of each team event."""
from __future__ import annotations

import csv
import io
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from app_fixtures import login
from sqlalchemy import delete, func, select
from team_listener_plugin import calls
from tricoma_mail_invoices import INVOICES
from tricoma_mail_v2_hosted.tables import changes
from v2_setup import sync_now, thread_mail

from hostapp.extensions import db
from hostapp.models import User
from tricoma_mail_plugin import (
    InvalidSettings,
    MailboxInfo,
    MailboxNotFound,
    TeamConversation,
    live_mailbox,
    sync_mailbox_now,
)
from tricoma_mail_plugin.jobs.schedule import _intervals
from tricoma_mail_plugin.jobs.tasks import TASKS
from tricoma_mail_plugin.mail.message_actions import delete as delete_messages
from tricoma_mail_plugin.mail.message_actions import move_with_undo
from tricoma_mail_plugin.models import (
    AuditEntry,
    CachedFolder,
    CachedMessage,
    MailEvent,
    Notice,
    RecordLink,
)
from tricoma_mail_plugin.rights import access
from tricoma_mail_plugin.team import presence, reminders, state
from tricoma_mail_plugin.team.tables import TeamReminder, TeamThread
from tricoma_mail_plugin.web import team_plugin

pytestmark = pytest.mark.live


@pytest.fixture
def app(make_app, mailstack):
    calls.clear()
    return make_app(TRICOMA_MAIL_CA_FILE=str(mailstack.cert),
                    TRICOMA_MAIL_EXTRA_PLUGINS=("sample_plugin", "tricoma_mail_v1_imap", "tricoma_mail_invoices",
                                                "tricoma_mail_orders", "tricoma_mail_v2_hosted", "team_listener_plugin"))


@pytest.fixture
def shared(app, make_mailbox, make_user, imap_client, mailstack):
    """info@ as a shared mailbox: Alice and Bob may read and answer it, Dave reads it through the
    group "support", Carol holds no right. A conversation of three mails in INBOX and Sent."""
    from app_fixtures import _fresh_account
    email, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, email, password, title="Info")
    users = {name: make_user(name, language="en", groups=("support",) if name == "dave" else ())
             for name in ("alice", "bob", "carol", "dave")}
    with app.app_context():
        for name in ("alice", "bob"):
            for right in ("read", "write", "send"):
                access.grant(mailbox_id, "user", users[name].id, right)
        group_id = db.session.scalar(select(User).where(User.username == "dave")).groups[0].id
        access.grant(mailbox_id, "group", group_id, "read")
    stamp = time.time_ns()
    ids = [f"<q{n}-{stamp}@kunde.test>" for n in range(3)]
    client = imap_client(1, email, password)
    client.multiappend("INBOX", [thread_mail("Anfrage Lager", "Kunde <k@kunde.test>", email, ids[0]),
                                 thread_mail("AW: Anfrage Lager", "Kunde <k@kunde.test>", email, ids[2], ids[:2], 3)])
    client.multiappend("Sent", [thread_mail("Re: Anfrage Lager", f"Info <{email}>", "k@kunde.test", ids[1], ids[:1], 2)])
    if not any(name == "Archive" for _flags, _sep, name in client.list_folders()):
        client.create_folder("Archive")
    with app.app_context():
        sync_now(mailbox_id)
    return {"id": mailbox_id, "email": email, "password": password, "ids": ids, "users": users, "imap": client}


def user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def cached_ids(mailbox_id: int, subject_like: str = "%Anfrage Lager%") -> list[str]:
    """The conversation's Message-IDs as the cache holds them now (what a page sends)."""
    rows = db.session.execute(
        select(CachedMessage.message_id, CachedMessage.in_reply_to, CachedMessage.references)
        .join(CachedFolder, CachedFolder.id == CachedMessage.folder_id)
        .where(CachedFolder.mailbox_id == mailbox_id, CachedMessage.subject.like(subject_like))).all()
    return [value for row in rows for value in row if value]


def test_assignment_and_status_stay_with_the_conversation(app, shared):
    mailbox_id, ids = shared["id"], shared["ids"]
    with app.app_context():
        alice, bob = user("alice"), user("bob")
        before = db.session.scalar(select(func.count()).select_from(changes).where(changes.c.mailbox_id == mailbox_id))
        found = state.assign(alice, mailbox_id, cached_ids(mailbox_id), str(bob.id), subject="Anfrage Lager")
        assert found.assignee.id == str(bob.id) and found.assignee.label == "Bob" and found.status == "open"
        # Bob has a notice; the audit log names it; open v2 pages hear of it through the change feed
        [notice] = db.session.scalars(select(Notice).where(Notice.user_id == str(bob.id))).all()
        assert notice.kind == "assigned" and notice.params == {"user": "Alice", "subject": "Anfrage Lager"}
        [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "team_assigned")).all()
        assert entry.mailbox_id == mailbox_id and entry.actor == str(alice.id) and entry.details["assignee"] == str(bob.id)
        kinds = db.session.scalars(select(changes.c.kind).where(changes.c.mailbox_id == mailbox_id)).all()
        assert len(kinds) == before + 1 and kinds[-1] == "team"
        # status by Bob
        done = state.set_status(bob, mailbox_id, [ids[2]], "done")  # any one ID of the conversation finds it
        assert done.thread_id == found.thread_id and done.status == "done"
        with pytest.raises(InvalidSettings):
            state.set_status(bob, mailbox_id, ids, "closed")

        # a resync from scratch: the cache is dropped and fetched again (new rows, new ids)
        db.session.execute(delete(CachedFolder).where(CachedFolder.mailbox_id == mailbox_id))
        db.session.commit()
        sync_mailbox_now(live_mailbox(mailbox_id))
        [again] = state.list_states(mailbox_id, [cached_ids(mailbox_id)])
        assert (again.thread_id, again.assignee.id, again.status) == (found.thread_id, str(bob.id), "done")

        # a move to another folder (on the server, through the v2 move action's service)
        first = db.session.scalar(select(CachedMessage.id).where(func.lower(CachedMessage.message_id) == ids[0]))
        move_with_undo(alice, mailbox_id, [first], "Archive")
        sync_mailbox_now(live_mailbox(mailbox_id))
        folder = db.session.scalar(select(CachedFolder.name).join(CachedMessage, CachedMessage.folder_id == CachedFolder.id)
                                   .where(func.lower(CachedMessage.message_id) == ids[0]))
        assert folder == "Archive"
        [moved] = state.list_states(mailbox_id, [[ids[0]]])  # the archived first mail alone
        assert (moved.thread_id, moved.status) == (found.thread_id, "done")
    # the same mail as a second IMAP client (Thunderbird) sees it: same Message-ID, same state
    shared["imap"].select_folder("Archive")
    [(_uid, data)] = shared["imap"].fetch(shared["imap"].search("ALL"), ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]).items()
    header = next(value for key, value in data.items() if key.startswith(b"BODY")).decode()
    with app.app_context():
        [seen_there] = state.list_states(mailbox_id, [[header]])
        assert seen_there.thread_id == found.thread_id and seen_there.assignee.id == str(bob.id)


def test_only_users_who_may_read_the_mailbox_see_or_get_anything(app, shared):
    mailbox_id, ids = shared["id"], shared["ids"]
    with app.app_context():
        alice, carol, dave = user("alice"), user("carol"), user("dave")
        assignable = {person.label for person in state.assignable_users(mailbox_id)}
        assert {"Alice", "Bob", "Dave", "Owner"} == assignable  # Dave through his group; not Carol
        with pytest.raises(InvalidSettings):
            state.assign(alice, mailbox_id, ids, str(carol.id))
        assert state.assign(alice, mailbox_id, ids, str(dave.id)).assignee.label == "Dave"
        for call in (lambda: state.conversation_state(carol, mailbox_id, ids),
                     lambda: state.assign(carol, mailbox_id, ids, None),
                     lambda: state.set_status(carol, mailbox_id, ids, "done"),
                     lambda: reminders.snooze(carol, mailbox_id, ids, datetime.now(UTC) + timedelta(days=1)),
                     lambda: reminders.follow_up(carol, mailbox_id, ids, datetime.now(UTC) + timedelta(days=1)),
                     lambda: presence.start(carol, mailbox_id, ids)):
            with pytest.raises(MailboxNotFound):
                call()
    client = app.test_client()
    login(client, "carol")
    for path, body in (("conversation", {"message_ids": ids}), ("assign", {"message_ids": ids, "assignee": "me"}),
                       ("status", {"message_ids": ids, "status": "done"}), ("presence", {"message_ids": ids})):
        assert client.post(f"/api/mail/team/m/{mailbox_id}/{path}", json=body).status_code == 404
    assert client.get(f"/api/mail/team/m/{mailbox_id}/people").status_code == 404
    assert client.get(f"/api/mail/team/m/{mailbox_id}/audit.csv").status_code == 404
    # the v2 list of a mailbox she may not read stays closed too
    assert client.get(f"/mail/v2/api/m/{mailbox_id}/messages?team=mine&conversations=1").status_code == 404


def test_another_mailboxs_conversation_or_reminder_is_not_found_here(app, shared, make_mailbox):
    """Thread and reminder ids in a URL belong to the URL's mailbox: another mailbox's (which
    the user may read as well), a missing or a forged one answers 404 and changes nothing."""
    mailbox_id, ids = shared["id"], shared["ids"]
    other_id = make_mailbox(1, title="Vertrieb")
    with app.app_context():
        alice_id = user("alice").id
        access.grant(other_id, "user", alice_id, "read")
        db.session.commit()
        theirs = presence.start(user("alice"), other_id, ["<elsewhere@kunde.test>"])
        [(reminder_id, _who, _due)] = reminders.follow_up(user("alice"), other_id, ["<elsewhere@kunde.test>"],
                                                          datetime.now(UTC) + timedelta(days=3)).reminders
        mine = presence.start(user("alice"), mailbox_id, ids)
    client = app.test_client()
    login(client, "alice")
    api = f"/api/mail/team/m/{mailbox_id}"
    for thread_id in (theirs.thread_id, 999999, 2**31 - 1):
        assert client.post(f"{api}/presence/{thread_id}/beat", json={}).status_code == 404
        assert client.post(f"{api}/presence/{thread_id}/stop", json={"sent": True}).status_code == 404
    for forged in (reminder_id, 999999):
        assert client.post(f"{api}/follow-up/{forged}/cancel", json={}).status_code == 404
    assert client.post(f"{api}/presence/{2**63}/beat", json={}).status_code == 404  # not even a row id
    with app.app_context():
        assert db.session.get(TeamReminder, reminder_id).state == "pending"
        assert db.session.get(TeamThread, theirs.thread_id).replied_by is None
    # the own ones work
    assert client.post(f"{api}/presence/{mine.thread_id}/beat", json={}).json == {"known": True}
    assert client.post(f"{api}/presence/{mine.thread_id}/stop", json={"sent": False}).status_code == 200


def test_views_mine_unassigned_and_by_status_over_the_api(app, shared):
    mailbox_id, ids = shared["id"], shared["ids"]
    alice, bob = app.test_client(), app.test_client()
    login(alice, "alice")
    login(bob, "bob")
    api = f"/api/mail/team/m/{mailbox_id}"
    with app.app_context():
        bob_id = str(user("bob").id)
    answer = alice.post(f"{api}/assign", json={"message_ids": ids, "assignee": bob_id, "subject": "Anfrage Lager"})
    assert answer.status_code == 200 and answer.json["assignee"]["label"] == "Bob" and not answer.json["mine"]

    def listed(client, view):
        data = client.get(f"/mail/v2/api/m/{mailbox_id}/messages?folder=INBOX&conversations=1&team={view}").json
        return [(item["subject"], item["team"]["status"]) for item in data["items"]]

    assert listed(bob, "mine") == [("Anfrage Lager", "open")]
    assert listed(alice, "mine") == [] and listed(alice, "unassigned") == []
    assert listed(alice, "open") == [("Anfrage Lager", "open")]
    assert bob.post(f"{api}/status", json={"message_ids": ids, "status": "waiting"}).json["status"] == "waiting"
    assert listed(alice, "waiting") == [("Anfrage Lager", "waiting")] and listed(alice, "open") == []
    assert bob.post(f"{api}/status", json={"message_ids": ids, "status": "done"}).status_code == 200
    assert listed(bob, "mine") == []  # done leaves "mine"
    assert listed(alice, "done") == [("Anfrage Lager", "done")]
    assert bob.post(f"{api}/assign", json={"message_ids": ids, "assignee": None}).json["assignee"] is None
    assert bob.post(f"{api}/status", json={"message_ids": ids, "status": "open"}).status_code == 200
    assert listed(alice, "unassigned") == [("Anfrage Lager", "open")]
    assert alice.post(f"{api}/assign", json={"message_ids": ids, "assignee": "me"}).json["mine"] is True
    people = alice.get(f"{api}/people").json
    assert {p["label"] for p in people["people"]} == {"Alice", "Bob", "Dave", "Owner"}


def test_the_unified_inbox_has_the_team_views(app, shared):
    mailbox_id, ids = shared["id"], shared["ids"]
    bob = app.test_client()
    login(bob, "bob")
    with app.app_context():
        state.assign(user("alice"), mailbox_id, ids, str(user("bob").id))
    mine = bob.get("/mail/unified?team=mine").get_data(as_text=True)
    assert "Anfrage Lager" in mine and 'aria-current="page">Assigned to me</a>' in mine
    assert "Anfrage Lager" not in bob.get("/mail/unified?team=unassigned").get_data(as_text=True)
    assert "Anfrage Lager" in bob.get("/mail/unified?team=open").get_data(as_text=True)
    assert "Anfrage Lager" in bob.get("/mail/unified").get_data(as_text=True)
    alice = app.test_client()
    login(alice, "alice")
    assert "Anfrage Lager" not in alice.get("/mail/unified?team=mine").get_data(as_text=True)


def test_assign_and_close_from_the_unified_inbox_list(app, shared):
    """Build point 1: assigning and closing from the list of the unified inbox (its bulk
    actions), for the conversations of the chosen mails: two mails of one conversation change it
    once; a mailbox the user may not read refuses the whole request and changes nothing."""
    mailbox_id, ids = shared["id"], shared["ids"]
    with app.app_context():
        pks = db.session.scalars(select(CachedMessage.id).join(CachedFolder, CachedFolder.id == CachedMessage.folder_id)
                                 .where(CachedFolder.mailbox_id == mailbox_id, CachedFolder.name == "INBOX")
                                 .order_by(CachedMessage.id)).all()
    assert len(pks) == 2  # the question and the customer's answer: one conversation
    chosen = [f"{mailbox_id}:{pk}" for pk in pks]
    bob = app.test_client()
    login(bob, "bob")
    page = bob.get("/mail/unified").get_data(as_text=True)
    assert 'value="assign_me"' in page and 'value="status_done"' in page

    answer = bob.post("/mail/unified/actions", data={"ids": chosen, "action": "assign_me", "next": "/mail/unified"})
    assert answer.status_code == 302
    assert "1 conversation changed." in bob.get("/mail/unified").get_data(as_text=True)
    with app.app_context():
        found = state.conversation_state(user("bob"), mailbox_id, ids)
        assert found.assignee.label == "Bob" and found.status == "open"
    assert "Anfrage Lager" in bob.get("/mail/unified?team=mine").get_data(as_text=True)

    assert bob.post("/mail/unified/actions", data={"ids": chosen[:1], "action": "status_done"}).status_code == 302
    with app.app_context():
        assert state.conversation_state(user("bob"), mailbox_id, ids).status == "done"
        audited = db.session.scalars(select(AuditEntry.action).where(AuditEntry.mailbox_id == mailbox_id)
                                     .order_by(AuditEntry.id)).all()
        assert audited[-2:] == ["team_assigned", "team_status"]
    assert "Anfrage Lager" in bob.get("/mail/unified?team=done").get_data(as_text=True)

    # Carol reads nothing of info@: refused, nothing changes
    carol = app.test_client()
    login(carol, "carol")
    assert carol.post("/mail/unified/actions", data={"ids": chosen, "action": "assign_me"}).status_code == 404
    assert bob.post("/mail/unified/actions", data={"ids": chosen, "action": "assign_nobody"}).status_code == 302
    with app.app_context():
        found = state.conversation_state(user("bob"), mailbox_id, ids)
        assert found.assignee is None and found.status == "done"


def test_who_is_answering_and_a_colleagues_reply(app, shared):
    mailbox_id, ids = shared["id"], shared["ids"]
    with app.app_context():
        alice, bob = user("alice"), user("bob")
        started = presence.start(alice, mailbox_id, ids)
        assert started.answering and started.answering[0][0].label == "Alice"
        seen_by_bob = state.conversation_state(bob, mailbox_id, ids).as_json(str(bob.id))
        assert [p["label"] for p in seen_by_bob["answering"]] == ["Alice"] and seen_by_bob["answering"][0]["since"]
        assert state.conversation_state(alice, mailbox_id, ids).as_json(str(alice.id))["answering"] == []  # not herself
        assert presence.beat(alice, mailbox_id, started.thread_id) is True
        # an editor with no sign of life for longer than PRESENCE_SECONDS is over
        stale = datetime.now(UTC) + timedelta(seconds=state.PRESENCE_SECONDS + 1)
        assert state.state_of(db.session.get(TeamThread, started.thread_id), now=stale).answering == ()
        sent = presence.stop(alice, mailbox_id, started.thread_id, sent=True)
        assert sent.answering == () and sent.last_reply[0].label == "Alice"
        assert state.conversation_state(bob, mailbox_id, ids).as_json(str(bob.id))["last_reply"]["label"] == "Alice"
        events = db.session.scalars(select(MailEvent.payload).where(MailEvent.name == "team").order_by(MailEvent.id)).all()
        assert [(e["action"], e.get("answering")) for e in events] == [("presence", True), ("presence", False)]


def test_snooze_until_tomorrow_comes_back_on_top_by_the_job(app, shared, monkeypatch):
    mailbox_id, ids = shared["id"], shared["ids"]
    client = app.test_client()
    login(client, "alice")
    with app.app_context():
        alice = user("alice")
        alice_id = str(alice.id)
        assert "team" in TASKS and _intervals()["team"] == 60  # a periodic job of its own
        tomorrow = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
        snoozed = reminders.snooze(alice, mailbox_id, ids, tomorrow, subject="Anfrage Lager")
        assert snoozed.snoozed_until == tomorrow

    def inbox(view=""):
        data = client.get(f"/mail/v2/api/m/{mailbox_id}/messages?folder=INBOX&conversations=1&team={view}").json
        return [item["subject"] for item in data["items"]]

    assert "Anfrage Lager" not in inbox() and inbox("snoozed") == ["Anfrage Lager"]
    with app.app_context():
        assert TASKS["team"].function(worker="test").startswith("0 snoozes ended")  # not yet
        later = tomorrow + timedelta(minutes=1)
        monkeypatch.setattr(reminders, "utcnow", lambda: later)  # the clock moves on a day
        assert TASKS["team"].function(worker="test").startswith("1 snoozes ended")
        thread = db.session.get(TeamThread, snoozed.thread_id)
        assert thread.snoozed_until is None and thread.returned_at == later
        assert db.session.scalar(select(Notice.kind).where(Notice.user_id == alice_id)) == "snooze_ended"
    monkeypatch.undo()
    # back, on top of the newer mails (the conversation's newest mail is from 3 November)
    listing = inbox()
    assert listing[0] == "Anfrage Lager", listing


def test_follow_up_comes_due_without_a_reply_and_a_reply_cancels_it(app, shared, monkeypatch, make_record):
    mailbox_id, ids = shared["id"], shared["ids"]
    invoice_id, _number = make_record(INVOICES, None)
    invoice = f"invoice:{invoice_id}"
    with app.app_context():
        alice = user("alice")
        # the conversation's first mail was sent from an invoice: the reminder shows there too
        db.session.add(RecordLink(reference=invoice, mailbox_id=mailbox_id, message_id=ids[1].upper(),
                                  direction="sent", subject="Re: Anfrage Lager", counterpart="k@kunde.test"))
        db.session.commit()
        in_three_days = datetime.now(UTC) + timedelta(days=3)
        first = reminders.follow_up(alice, mailbox_id, ids, in_three_days, subject="Anfrage Lager")
        [(reminder_id, who, due)] = first.reminders
        assert who.label == "Alice" and due == in_three_days
        [shown] = reminders.follow_ups_for_reference(invoice)
        assert (shown.id, shown.state, shown.user_label, shown.mailbox_title) == (reminder_id, "pending", "Alice", "Info")
    alice_client, carol_client = app.test_client(), app.test_client()
    login(alice_client, "alice")
    login(carol_client, "carol")
    page = alice_client.get(f"/invoices/{invoice_id}").get_data(as_text=True)
    assert f'id="history-follow-up-{reminder_id}"' in page and "Alice will be reminded on" in page
    assert "history-follow-up" not in carol_client.get(f"/invoices/{invoice_id}").get_data(as_text=True)
    with app.app_context():
        alice = user("alice")
        monkeypatch.setattr(reminders, "utcnow", lambda: in_three_days + timedelta(hours=1))
        assert str(reminders.run_due()) == "0 snoozes ended, 1 reminders due, 0 cancelled by a reply"
        assert db.session.get(TeamReminder, reminder_id).state == "due"
        assert db.session.scalar(select(Notice.kind).where(Notice.user_id == str(alice.id))) == "follow_up_due"
        assert reminders.follow_ups_for_reference(invoice)[0].state == "due"
        monkeypatch.undo()

        # a second reminder; the customer answers (a new mail on the server, stored by sync)
        second = reminders.follow_up(alice, mailbox_id, ids, in_three_days)
        [(second_id, _who, _due)] = second.reminders
    shared["imap"].append("INBOX", thread_mail("AW: Anfrage Lager", "Kunde <k@kunde.test>", shared["email"],
                                       f"<answer-{time.time_ns()}@kunde.test>", shared["ids"], 4))
    with app.app_context():
        sync_mailbox_now(live_mailbox(mailbox_id))
        assert db.session.get(TeamReminder, second_id).state == "cancelled"  # at once, by the sync's hook
        assert state.conversation_state(user("alice"), mailbox_id, ids).reminders == ()
        monkeypatch.setattr(reminders, "utcnow", lambda: in_three_days + timedelta(hours=1))
        assert reminders.run_due().reminded == 0


def test_a_snooze_shows_on_the_linked_record_while_it_lasts(app, shared, monkeypatch, make_record):
    """As its follow-ups do, a conversation's snooze shows on the record its mail is linked to:
    "Snoozed until …" (German "Zurückgestellt bis …"), to users who may read the mailbox only,
    and no longer once the snooze has ended."""
    mailbox_id, ids = shared["id"], shared["ids"]
    invoice_id, _number = make_record(INVOICES, None)
    invoice = f"invoice:{invoice_id}"
    with app.app_context():
        # the answer in Sent was written from the invoice (the link names one mail, as sent)
        db.session.add(RecordLink(reference=invoice, mailbox_id=mailbox_id, message_id=ids[1].upper(),
                                  direction="sent", subject="Re: Anfrage Lager <b>", counterpart="k@kunde.test"))
        user("dave").language = "de"  # reads the mailbox through the group "support"
        db.session.commit()
        assert reminders.snoozes_for_reference(invoice) == []
        until = datetime.now(UTC) + timedelta(days=2)
        thread_id = reminders.snooze(user("bob"), mailbox_id, ids, until, subject="Anfrage Lager").thread_id
        [shown] = reminders.snoozes_for_reference(invoice)
        assert (shown.thread_id, shown.mailbox_title, shown.user_label, shown.until, shown.subject) == (
            thread_id, "Info", "Bob", until, "Re: Anfrage Lager <b>")
        assert reminders.snoozes_for_reference(invoice, user("carol")) == []
        assert len(reminders.snoozes_for_reference(invoice, user("dave"))) == 1
    clients = {}
    for name in ("alice", "dave", "carol"):
        clients[name] = app.test_client()
        login(clients[name], name)

    def page(name: str) -> str:
        answer = clients[name].get(f"/invoices/{invoice_id}")
        assert answer.status_code == 200
        return answer.get_data(as_text=True)

    english = page("alice")
    assert "Snoozed conversations of this record&#39;s mail" in english
    item = re.search(rf'<li class="history-snooze" id="history-snooze-{thread_id}">([^<]*)</li>', english)
    assert item and item.group(1).startswith("Snoozed until ")
    assert item.group(1).endswith(" by Bob: “Re: Anfrage Lager &lt;b&gt;” (Info).")  # the subject as text
    german = page("dave")
    assert "Zurückgestellte Unterhaltungen zur E-Mail dieses Vorgangs" in german
    assert re.search(rf'id="history-snooze-{thread_id}">Zurückgestellt bis [^<]+ von Bob: „Re: Anfrage Lager &lt;b&gt;“ '
                     r"\(Info\)\.</li>", german)
    assert "history-snooze" not in page("carol")  # no right on the mailbox: nothing of it
    # the job ends the snooze (the clock moved past it): the record no longer shows it
    with app.app_context():
        monkeypatch.setattr(reminders, "utcnow", lambda: until + timedelta(minutes=1))
        assert reminders.run_due().woken == 1
        monkeypatch.undo()
        assert reminders.snoozes_for_reference(invoice) == []
    assert "history-snooze" not in page("alice")


def test_a_reply_the_hook_missed_still_cancels_the_reminder_when_the_job_looks(app, shared, monkeypatch):
    """The job looks in the cache itself: a reply stored while the hook did not run (another
    process's sync whose events were lost, say) cancels the reminder all the same."""
    mailbox_id, ids = shared["id"], shared["ids"]
    with app.app_context():
        alice = user("alice")
        due = datetime.now(UTC) + timedelta(days=3)
        [(reminder_id, _w, _d)] = reminders.follow_up(alice, mailbox_id, ids, due).reminders
        monkeypatch.setattr(team_plugin, "cancel_on_reply", lambda *args: 0)  # the hook misses it
    shared["imap"].append("INBOX", thread_mail("AW: Anfrage Lager", "Kunde <k@kunde.test>", shared["email"],
                                       f"<late-{time.time_ns()}@kunde.test>", shared["ids"], 5))
    with app.app_context():
        sync_mailbox_now(live_mailbox(mailbox_id))
        assert db.session.get(TeamReminder, reminder_id).state == "pending"
        monkeypatch.setattr(reminders, "utcnow", lambda: due + timedelta(hours=1))
        assert str(reminders.run_due()) == "0 snoozes ended, 0 reminders due, 1 cancelled by a reply"


def test_team_actions_are_in_the_mailbox_audit_log_and_its_csv(app, shared):
    mailbox_id, ids = shared["id"], shared["ids"]
    with app.app_context():
        alice, bob = user("alice"), user("bob")
        state.assign(alice, mailbox_id, ids, str(bob.id), subject="=HYPERLINK(\"http://x\")")
        state.set_status(bob, mailbox_id, ids, "done", subject="Anfrage Lager")
        reminders.snooze(bob, mailbox_id, ids, datetime.now(UTC) + timedelta(days=1), subject="Anfrage Lager")
        first = db.session.scalar(select(CachedMessage.id).where(func.lower(CachedMessage.message_id) == ids[0]))
        delete_messages(user("owner"), mailbox_id, [first])  # a shared mailbox: deletions are audited
    owner = app.test_client()
    login(owner, "owner")  # manages the mailbox
    page = owner.get(f"/mail/settings/mailboxes/{mailbox_id}/rights")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Conversation assigned" in text and "Status changed" in text and "Conversation snoozed" in text
    assert "“Anfrage Lager”: open → done" in text
    assert "Moved to the trash" in text and "1 from INBOX: “Anfrage Lager”" in text
    answer = owner.get(f"/api/mail/team/m/{mailbox_id}/audit.csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["When (UTC)", "Who", "Action", "Details"]
    actions = [row[2] for row in rows[1:]]
    assert actions[:4] == ["Moved to the trash", "Conversation snoozed", "Status changed", "Conversation assigned"]
    assigned = next(row for row in rows if row[2] == "Conversation assigned")
    assert assigned[1] == "Alice" and assigned[3].startswith("“=HYPERLINK")  # quoted, no formula
    bob_client = app.test_client()
    login(bob_client, "bob")  # reads the mailbox, does not manage it
    assert bob_client.get(f"/api/mail/team/m/{mailbox_id}/audit.csv").status_code == 403


# -- the hooks of team events (docs/plugin_hooks.md) ------------------------------------------------


def _conversation_of(name: str) -> dict:
    [(_name, args)] = [call for call in calls if call[0] == name]
    assert isinstance(args["mailbox"], MailboxInfo) and isinstance(args["conversation"], TeamConversation)
    return args


def test_hook_conversation_assigned(app, shared):
    with app.app_context():
        alice_id, bob_id = str(user("alice").id), str(user("bob").id)
        found = state.assign(user("alice"), shared["id"], shared["ids"], bob_id)
    args = _conversation_of("conversation_assigned")
    assert (args["assignee_id"], args["previous_assignee_id"], args["by"]) == (bob_id, None, alice_id)
    assert args["conversation"].id == found.thread_id and set(shared["ids"]) <= set(args["conversation"].message_ids)
    assert args["mailbox"].id == shared["id"] and args["conversation"].assignee_id == bob_id


def test_hook_conversation_status_changed(app, shared):
    with app.app_context():
        bob_id = str(user("bob").id)
        state.set_status(user("bob"), shared["id"], shared["ids"], "waiting")
    args = _conversation_of("conversation_status_changed")
    assert (args["status"], args["previous_status"], args["by"]) == ("waiting", "open", bob_id)
    assert args["conversation"].status == "waiting"


def test_hook_snooze_ended(app, shared, monkeypatch):
    with app.app_context():
        until = datetime.now(UTC) + timedelta(hours=2)
        reminders.snooze(user("bob"), shared["id"], shared["ids"], until)
        monkeypatch.setattr(reminders, "utcnow", lambda: until + timedelta(seconds=1))
        reminders.run_due()
    args = _conversation_of("snooze_ended")
    assert args["conversation"].snoozed_until is None and args["mailbox"].title == "Info"


def test_hook_follow_up_due(app, shared, monkeypatch):
    with app.app_context():
        alice_id = str(user("alice").id)
        due = datetime.now(UTC) + timedelta(days=3)
        reminders.follow_up(user("alice"), shared["id"], shared["ids"], due)
        monkeypatch.setattr(reminders, "utcnow", lambda: due + timedelta(seconds=1))
        reminders.run_due()
    args = _conversation_of("follow_up_due")
    assert args["user_id"] == alice_id and args["reference"] is None
