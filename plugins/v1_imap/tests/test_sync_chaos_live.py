"""Sync under network faults, seeded and repeatable: a loopback proxy in front of the real
Dovecot cuts the connection with a FIN or a reset at a random byte offset of the server's answer,
or stalls it, while the server's mail changes between rounds (new mail, flags, expunges, new and
recreated folders). Every faulty sync ends within its timeout with a typed error and a non-zero
exit of ``flask mail sync``, leaves the mailbox's lease free, and the next clean sync leaves no
difference between cache and server (UIDs, flags, folders, UIDVALIDITY). Both profiles, with and
without CONDSTORE/QRESYNC."""
from __future__ import annotations

import random
import time
from email.message import EmailMessage

import pytest
from fault_proxy import FaultProxy
from sqlalchemy import func, select

from hostapp.extensions import db
from tricoma_mail_plugin import MailboxConnectionError
from tricoma_mail_plugin.cache.lease import lease_is_free
from tricoma_mail_plugin.models import CachedFolder, CachedMessage, Mailbox, MailEvent

pytestmark = [pytest.mark.live, pytest.mark.slow]

ROUNDS = 10
NETWORK_TIMEOUT = 2
SYNC_LIMIT_SECONDS = 4 * NETWORK_TIMEOUT + 4  # a stalled read ends after one timeout
WITHOUT_MODSEQ = (b" CONDSTORE", b" QRESYNC")
TYPED = tuple(str(message) for message in MailboxConnectionError.messages.values()) + (
    str(MailboxConnectionError.default_message),)


def message(number: int) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Sender {number} <s{number}@example.test>"
    mail["Subject"] = f"Chaos {number} – Grüße"
    mail["Message-ID"] = f"<chaos{number}@example.test>"
    mail.set_content(f"Body {number}\n" * 30)
    return mail.as_bytes()


def change_the_server(client, generator: random.Random, profile, counter: list[int]) -> None:
    """New mail, flag changes, expunges; now and then a new folder or one deleted and recreated
    (a new UIDVALIDITY)."""
    extra = [name for name, in ((f[2],) for f in client.list_folders()) if name.startswith(profile.prefix + "Chaos")]
    if generator.random() < 0.3:
        name = f"{profile.prefix}Chaos{generator.randint(1, 3)}"
        if name in extra:
            client.delete_folder(name)
        client.create_folder(name)
        client.append(name, message(counter[0]))
        counter[0] += 1
    client.select_folder("INBOX")
    uids = client.search(["ALL"])
    if uids:
        client.add_flags(generator.sample(uids, min(len(uids), 5)), [b"\\Flagged"])
        client.remove_flags(generator.sample(uids, min(len(uids), 5)), [b"\\Seen"])
        gone = generator.sample(uids, min(len(uids), generator.randint(0, 3)))
        if gone:
            client.add_flags(gone, [b"\\Deleted"])
            client.uid_expunge(gone)
    client.multiappend("INBOX", [message(counter[0] + n) for n in range(generator.randint(1, 30))])
    counter[0] += 30


def server_state(client) -> dict[str, tuple[int, dict[int, frozenset[str]]]]:
    state = {}
    for flags, _delimiter, name in client.list_folders():
        if any(flag.lower() == b"\\noselect" for flag in flags):
            continue
        status = client.select_folder(name, readonly=True)
        uids = client.search(["ALL"])
        fetched = client.fetch(uids, ["FLAGS"]) if uids else {}
        state[name] = (int(status[b"UIDVALIDITY"]), {
            uid: frozenset(f.decode() for f in data[b"FLAGS"] if f != b"\\Recent") for uid, data in fetched.items()})
    return state


def cache_state(app, mailbox_id: int) -> dict[str, tuple[int, dict[int, frozenset[str]]]]:
    with app.app_context():
        folders = db.session.scalars(select(CachedFolder).where(CachedFolder.mailbox_id == mailbox_id)).all()
        state = {}
        for folder in folders:
            if any(flag.lower() == "\\noselect" for flag in folder.flags or ()):
                continue
            rows = db.session.execute(select(CachedMessage.uid, CachedMessage.flags)
                                      .where(CachedMessage.folder_id == folder.id)).all()
            state[folder.name] = (folder.uidvalidity, {uid: frozenset(flags.split()) for uid, flags in rows})
        return state


def cli_sync(app, mailbox_id: int):
    started = time.monotonic()
    result = app.test_cli_runner().invoke(args=["mail", "sync", str(mailbox_id)])
    return result, time.monotonic() - started


def point_at(app, mailbox_id: int, port: int) -> None:
    with app.app_context():
        db.session.get(Mailbox, mailbox_id).imap_port = port
        db.session.commit()


@pytest.mark.parametrize("modseq", [True, False], ids=["condstore", "no-condstore"])
@pytest.mark.parametrize("profile_number", [1, 2], ids=["standard", "hoster"])
def test_sync_survives_random_cuts_and_stalls(app, make_mailbox, mailstack, imap_client, profile_number, modseq):
    from app_fixtures import _fresh_account

    generator = random.Random(f"chaos-{profile_number}-{modseq}")
    profile = mailstack.profile(profile_number)
    email, password = _fresh_account(mailstack, profile_number)
    mailbox_id = make_mailbox(profile_number, email, password, security="none")
    client = imap_client(profile_number, email, password)
    app.config["TRICOMA_MAIL_NETWORK_TIMEOUT"] = NETWORK_TIMEOUT
    hide = () if modseq else WITHOUT_MODSEQ
    counter = [0]
    change_the_server(client, generator, profile, counter)

    # how many bytes a whole sync of this size reads, to aim the cuts inside it
    with FaultProxy(profile.imap_port, b"", None, hide=hide) as measuring:
        point_at(app, mailbox_id, measuring.port)
        result, _ = cli_sync(app, mailbox_id)
        assert result.exit_code == 0, result.output
    whole = measuring.passed
    assert whole > 1000

    faults = 0
    for round_number in range(ROUNDS):
        change_the_server(client, generator, profile, counter)
        mode = generator.choice(["fin", "rst", "stall"])
        offset = generator.randint(0, whole)
        with FaultProxy(profile.imap_port, b"", offset, mode, hide=hide) as proxy:
            point_at(app, mailbox_id, proxy.port)
            result, seconds = cli_sync(app, mailbox_id)
        where = f"round {round_number}: {mode} after {offset} of {whole} bytes"
        assert seconds < SYNC_LIMIT_SECONDS, f"{where}: the sync ran {seconds:.1f} s"
        if proxy.cuts:
            faults += 1
            assert result.exit_code != 0, f"{where}: {result.output}"
            assert any(text in result.output for text in TYPED), f"{where}: {result.output}"
        with app.app_context():
            assert lease_is_free(mailbox_id), where

        point_at(app, mailbox_id, profile.imap_port)
        result, _ = cli_sync(app, mailbox_id)
        assert result.exit_code == 0, f"{where}, the clean sync: {result.output}"
        assert cache_state(app, mailbox_id) == server_state(client), where
        with app.app_context():  # the events of every sync, cut or not, are delivered by now
            assert undelivered_events(mailbox_id) == 0, where
    assert faults >= ROUNDS // 2


def undelivered_events(mailbox_id: int) -> int:
    return db.session.scalar(select(func.count(MailEvent.id)).where(
        MailEvent.mailbox_id == mailbox_id, MailEvent.delivered_at.is_(None)))
