"""A big sync parses its FETCH answers in a worker process (issue 14): this process reads each
answer as bytes (nothing after its tagged line), the worker parses it while the next is read and
the one before is stored; while the worker starts, where processes cannot be made and when the
worker dies, answers are parsed here. Unit tests of the byte reader, then against the real local
Dovecot."""
import gc
import io
import time
from email.message import EmailMessage

import pytest
from app_fixtures import _fresh_account
from fetch_steps import fetch_steps
from sqlalchemy import select

from hostapp.extensions import db
from tricoma_mail_plugin.cache import sync
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.models import CachedFolder, CachedMessage, Mailbox, MailEvent
from tricoma_mail_v1_imap import imap_backend, parse_workers
from tricoma_mail_v1_imap.fetch_parser import ConnectionLost, read_answer, read_answer_apart, read_fetch

TAG = b"A0042"
HEADER_KEY = b"BODY[HEADER.FIELDS (FROM SUBJECT)]"


def small_buffers(data: bytes, size: int = 7) -> io.BufferedReader:
    """A stream that holds a few bytes at a time, so lines and literals span many reads."""
    return io.BufferedReader(io.BytesIO(data), buffer_size=size)


@pytest.mark.db_independent
@pytest.mark.parametrize("buffer_size", [1, 7, 64, 8192])
def test_an_answer_is_read_to_its_tagged_line_and_not_a_byte_further(buffer_size):
    header = b"Subject: A0042 OK looks like the end\r\nFrom: x@y.test\r\n\r\n"  # a tagged line inside a literal
    first = (b'* 1 FETCH (UID 7 FLAGS (\\Seen) ' + HEADER_KEY + b" {%d}\r\n" % len(header) + header
             + b" MODSEQ (3))\r\n* 5 EXISTS\r\n" + TAG + b" OK Fetch completed.\r\n")
    second = b"* 2 FETCH (UID 8 FLAGS ())\r\nA0043 OK done\r\n"  # the next command's answer, already sent
    stream = small_buffers(first + second, buffer_size)
    assert read_answer(stream, TAG) == first
    assert stream.read() == second
    assert read_fetch(io.BytesIO(first), TAG)[7][HEADER_KEY] == header


@pytest.mark.db_independent
def test_a_connection_that_ends_inside_an_answer_is_lost():
    with pytest.raises(ConnectionLost):
        read_answer(small_buffers(b"* 1 FETCH (UID 7 " + HEADER_KEY + b" {50}\r\nFrom: x"), TAG)


@pytest.mark.db_independent
def test_answers_parse_to_the_summaries_of_the_in_process_parser():
    header = b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nFrom: M <m@x.test>\r\n\r\n"
    answer = (b'* 1 FETCH (UID 9 FLAGS (\\Seen \\Recent) RFC822.SIZE 120 INTERNALDATE "01-Dec-2026 15:26:25 +0100" '
              + HEADER_KEY + b" {%d}\r\n" % len(header) + header + b" BODY[] {5}\r\nHello)\r\n"
              + TAG + b" OK done\r\n")
    taken: list[bytes] = []
    apart = read_answer_apart(small_buffers(answer), TAG, taken)
    [(uid, (fields, index))] = parse_workers.parse_answers([(TAG, apart)]).items()
    summary = parse_workers.summary_of(fields)
    assert uid == 9 and summary.subject == "Grüße" and summary.from_ == "M <m@x.test>"
    assert summary.flags == ("\\Seen",) and summary.size == 120
    assert taken[index] == b"Hello"


@pytest.mark.db_independent
def test_a_fetch_nobody_asked_for_in_a_later_answer_does_not_replace_the_message():
    """A batch goes out as several UID FETCH commands; a flag another client changed may come as
    an unasked FETCH of a message in a later command's answer: it adds to the message's items."""
    header = b"Subject: Angebot\r\n\r\n"
    first = (b'* 1 FETCH (UID 7 FLAGS () RFC822.SIZE 120 INTERNALDATE "01-Dec-2026 15:26:25 +0100" '
             + HEADER_KEY + b" {%d}\r\n" % len(header) + header + b")\r\n" + TAG + b" OK done\r\n")
    later = b"* 1 FETCH (UID 7 FLAGS (\\Seen))\r\nA0043 OK done\r\n"
    [(uid, (fields, _index))] = parse_workers.parse_answers([(TAG, first), (b"A0043", later)]).items()
    summary = parse_workers.summary_of(fields)
    assert (uid, summary.subject, summary.size, summary.flags) == (7, "Angebot", 120, ("\\Seen",))


@pytest.mark.db_independent
@pytest.mark.parametrize("buffer_size", [1, 7, 8192])
def test_full_bytes_are_read_apart_and_the_answer_keeps_their_index(buffer_size):
    """For the journal's sync the worker gets each answer without its messages' full bytes: they
    stay in this process, the answer holds their index; every other literal stays in place."""
    header = b"Subject: A0042 OK inside\r\n\r\n"
    full = [b"Subject: A0042 OK inside\r\n\r\nBODY[] {99}\r\n)\r\n" * 3, b"x"]
    answer = b"".join(
        b"* %d FETCH (UID %d " % (n + 1, 7 + n) + HEADER_KEY + b" {%d}\r\n" % len(header) + header
        + b" BODY[] {%d}\r\n" % len(raw) + raw + b")\r\n" for n, raw in enumerate(full)) + TAG + b" OK done\r\n"
    after = b"* 3 FETCH (UID 9 FLAGS ())\r\nA0043 OK done\r\n"
    stream = small_buffers(answer + after, buffer_size)
    taken = [b"from an earlier answer"]
    apart = read_answer_apart(stream, TAG, taken)
    assert stream.read() == after
    assert taken == [b"from an earlier answer", *full]
    parsed = read_fetch(io.BytesIO(apart), TAG)
    assert [(uid, items[HEADER_KEY], items[b"BODY[]"]) for uid, items in parsed.items()] == [
        (7, header, b"1"), (8, header, b"2")]
    with pytest.raises(ConnectionLost):
        read_answer_apart(small_buffers(answer[:answer.index(b"BODY[] {") + 30], buffer_size), TAG, [])


# -- against Dovecot -----------------------------------------------------------------------------

COUNT = 120
BATCH = 20


def message(number: int) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Absender {number} <absender{number}@example.test>"
    mail["To"] = "owner@example.test"
    mail["Subject"] = f"Nachricht {number} – Grüße"
    mail["Message-ID"] = f"<aside-{number}@example.test>"
    mail.set_content(f"Text {number}\n")
    return mail.as_bytes()


@pytest.fixture
def filled(filled_account):
    return filled_account[0]


@pytest.fixture
def filled_account(app, make_mailbox, mailstack, imap_client, monkeypatch):
    """A mailbox whose INBOX holds COUNT messages, synced in batches of BATCH, every sync big
    enough for the worker process: (its id, the account's address, its password)."""
    email, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, email, password)
    imap_client(1, email, password).multiappend("INBOX", [message(n) for n in range(COUNT)])
    monkeypatch.setattr(sync, "BATCH_SIZE", BATCH)
    monkeypatch.setattr(sync, "WRITER_FROM", BATCH + 1)
    monkeypatch.setattr(parse_workers, "PROCESSES_FROM", 1)
    monkeypatch.setitem(app.config, "TRICOMA_MAIL_ARCHIVE_ENABLED", False)  # a test switches the journal on
    return mailbox_id, email, password


@pytest.fixture
def started_worker():
    """The worker process of this test process, running."""
    deadline = time.monotonic() + 60
    while parse_workers.parse_pool.ready() is None:
        assert time.monotonic() < deadline, "the worker process did not start"
        time.sleep(0.05)


def sync_inbox(app, mailbox_id):
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        with service.backend_for(mailbox) as backend:
            [result] = sync.sync_mailbox(mailbox, backend, ["INBOX"])
        rows = db.session.scalars(select(CachedMessage).join(CachedFolder).where(
            CachedFolder.mailbox_id == mailbox_id).order_by(CachedMessage.uid)).all()
        summaries = [(row.uid, row.subject, row.from_, row.message_id, row.size, row.date) for row in rows]
        events = db.session.scalar(select(db.func.count(MailEvent.id)).where(
            MailEvent.mailbox_id == mailbox_id, MailEvent.name == "received", MailEvent.delivered_at.is_not(None)))
        return result, summaries, events


@pytest.mark.live
def test_the_workers_leave_their_imports_out_of_full_collections(started_worker):
    """Each worker froze what it imported (parse_workers._settle): core, the plugin and the
    standard library's modules, many thousands of objects a full collection no longer walks."""
    executor = parse_workers.parse_pool.ready()
    frozen = [executor.submit(gc.get_freeze_count) for _worker in range(4 * parse_workers.WORKERS)]
    assert all(future.result(timeout=30) > 50_000 for future in frozen)
    assert gc.get_freeze_count() == 0  # this process's own objects are left as they were


@pytest.mark.live
def test_the_worker_process_parses_what_this_process_would(app, filled, started_worker, monkeypatch):
    def not_here(*_args, **_kwargs):
        raise AssertionError("parsed in the sync's process")

    # The worker has its own copy of the module: replaced here, only this process would fail.
    monkeypatch.setattr(parse_workers, "summary_from_fetch", not_here)
    result, summaries, events = sync_inbox(app, filled)
    assert result.new == COUNT and events == COUNT
    assert [subject for _uid, subject, *_rest in summaries] == [f"Nachricht {n} – Grüße" for n in range(COUNT)]
    assert [message_id for _uid, _s, _f, message_id, *_rest in summaries] == [
        f"<aside-{n}@example.test>" for n in range(COUNT)]
    assert all(size > 0 and date is not None for *_head, size, date in summaries)


@pytest.mark.live
def test_the_journals_sync_is_parsed_by_the_worker_and_archives_each_mails_own_bytes(
        app, filled_account, started_worker, imap_client, monkeypatch):
    """With the archive on, the worker parses the summaries while the full bytes stay here: each
    archive entry holds the very bytes the server has for its message."""
    import hashlib

    from tricoma_mail_plugin.models import ArchiveEntry

    def not_here(*_args, **_kwargs):
        raise AssertionError("parsed in the sync's process")

    monkeypatch.setattr(parse_workers, "summary_from_fetch", not_here)
    monkeypatch.setattr(imap_backend, "summary_from_fetch", not_here)  # the pipelined parsing in the sync's thread
    monkeypatch.setitem(app.config, "TRICOMA_MAIL_ARCHIVE_ENABLED", True)
    mailbox_id, email, password = filled_account
    result, summaries, events = sync_inbox(app, mailbox_id)
    assert result.new == COUNT and events == COUNT
    assert [subject for _uid, subject, *_rest in summaries] == [f"Nachricht {n} – Grüße" for n in range(COUNT)]
    with app.app_context():
        archived = {(entry.message_id, entry.sha256) for entry in db.session.scalars(
            select(ArchiveEntry).where(ArchiveEntry.mailbox_id == mailbox_id))}
    client = imap_client(1, email, password)
    client.select_folder("INBOX", readonly=True)
    on_server = client.fetch("1:*", ["BODY.PEEK[]"])
    assert archived == {(f"<aside-{n}@example.test>", hashlib.sha256(on_server[uid][b"BODY[]"]).hexdigest())
                        for n, uid in enumerate(sorted(on_server))}


@pytest.mark.live
def test_three_batches_are_in_hand_at_once(app, filled, started_worker):
    with app.app_context(), service.backend_for(db.session.get(Mailbox, filled)) as backend:
        backend.select("INBOX")
        uids = backend.search_uids()
        steps = fetch_steps(backend, uids, 50)
        first, second, third = uids[0], uids[50], uids[100]
        # batch 1 is parsed while batch 2 is read and batch 3 is on its way
        assert steps == [f"ask {first}", f"ask {second}", f"ask {third}", f"got {first} (50)",
                         f"got {second} (50)", f"got {third} (20)"]
        [again] = list(backend.fetch_summary_batches(uids[:3], 50))  # the connection is in step
        assert [s.uid for s in again.summaries] == uids[:3]


@pytest.mark.live
def test_a_caller_that_stops_early_leaves_a_usable_connection(app, filled, started_worker):
    with app.app_context(), service.backend_for(db.session.get(Mailbox, filled)) as backend:
        backend.select("INBOX")
        uids = backend.search_uids()
        batches = backend.fetch_summary_batches(uids, 20)
        first = next(batches)
        batches.close()
        assert [s.uid for s in first.summaries] == uids[:20]
        assert backend.search_uids() == uids


@pytest.mark.live
def test_without_worker_processes_the_sync_parses_here(app, filled, monkeypatch):
    monkeypatch.setattr(parse_workers, "parse_pool", parse_workers.ParsePool())

    def no_processes(*_args, **_kwargs):
        raise OSError("no processes here")

    monkeypatch.setattr(parse_workers, "ProcessPoolExecutor", no_processes)
    result, summaries, events = sync_inbox(app, filled)
    assert result.new == COUNT and events == COUNT and len(summaries) == COUNT
    assert parse_workers.parse_pool.ready() is None


@pytest.mark.live
def test_a_worker_that_dies_is_replaced_by_parsing_here(app, filled, monkeypatch):
    pool = parse_workers.ParsePool()
    monkeypatch.setattr(parse_workers, "parse_pool", pool)
    deadline = time.monotonic() + 60
    while (executor := pool.ready()) is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    for process in list(executor._processes.values()):
        process.kill()
        process.join()
    result, summaries, events = sync_inbox(app, filled)
    assert result.new == COUNT and events == COUNT and len(summaries) == COUNT
    assert pool.ready() is None  # given up in this process


@pytest.mark.live
@pytest.mark.parametrize("mode", ["fin", "rst", "stall"])
def test_a_connection_cut_inside_an_answer_read_for_the_worker_fails_typed_and_resumes(
        app, make_mailbox, mailstack, imap_client, started_worker, monkeypatch, mode):
    from fault_proxy import FaultProxy
    from tricoma_mail_plugin import MailboxConnectionError
    from tricoma_mail_plugin.cache.lease import lease_is_free

    email, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, email, password, security="none")
    imap_client(1, email, password).multiappend("INBOX", [message(n) for n in range(COUNT)])
    monkeypatch.setattr(sync, "BATCH_SIZE", BATCH)
    monkeypatch.setattr(sync, "WRITER_FROM", BATCH + 1)
    monkeypatch.setattr(parse_workers, "PROCESSES_FROM", 1)
    monkeypatch.setitem(app.config, "TRICOMA_MAIL_ARCHIVE_ENABLED", False)
    monkeypatch.setitem(app.config, "TRICOMA_MAIL_NETWORK_TIMEOUT", 2)
    port = mailstack.profile(1).imap_port

    def point_at(target: int) -> None:
        with app.app_context():
            db.session.get(Mailbox, mailbox_id).imap_port = target
            db.session.commit()

    with FaultProxy(port, b"", None) as measuring:
        point_at(measuring.port)
        with app.app_context():
            mailbox = db.session.get(Mailbox, mailbox_id)
            with service.backend_for(mailbox) as backend:
                backend.connect()
            before_fetch = measuring.passed  # greeting, login and the rest of a connection
    with FaultProxy(port, b"", None) as measuring:
        point_at(measuring.port)
        assert sync_inbox(app, mailbox_id)[0].new == COUNT
        whole = measuring.passed
    # a fresh mailbox: cut in the middle of the FETCH answers of its initial sync
    other_id = make_mailbox(1, email, password, security="none")
    mailbox_id, first_id = other_id, mailbox_id
    offset = before_fetch + (whole - before_fetch) * 5 // 6  # in the last batches: three are in hand at once
    with FaultProxy(port, b"", offset, mode) as proxy:
        point_at(proxy.port)
        started = time.monotonic()
        with pytest.raises(MailboxConnectionError):
            sync_inbox(app, mailbox_id)
        assert time.monotonic() - started < 12
        assert proxy.cuts
    with app.app_context():
        assert lease_is_free(mailbox_id)
        stored = db.session.scalar(select(db.func.count(CachedMessage.id)).join(CachedFolder).where(
            CachedFolder.mailbox_id == mailbox_id))
        assert 0 < stored < COUNT  # committed batches stay, in order
    point_at(port)
    result, summaries, events = sync_inbox(app, mailbox_id)
    assert result.new == COUNT - stored and len(summaries) == COUNT and events == COUNT
    assert [uid for uid, *_rest in summaries] == [uid for uid, *_rest in sync_inbox(app, first_id)[1]]
