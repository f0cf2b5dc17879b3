#!/usr/bin/env python3
"""Send benchmark: our outbox (enqueue + worker drain) against raw smtplib through the local stack.

Usage::

    .venv/bin/python bench/send_bench.py [--messages N] [--keep] [--profile | --no-profile]

What it does (all against a mail stack of its own, never the demo's, the tests' or sync_bench's):

1. starts ``scripts/mailstack.py``'s MailStack in /tmp/tricoma-mailstack-sendbench (port offset
   600: SMTP 11187, IMAP 10743) and provisions a fresh sender and a fresh recipient on profile 1;
2. builds one deterministic 50 KB PDF (a real minimal PDF, padded with a deterministic binary
   stream object to exactly 51,200 bytes) that every message carries as an attachment;
3. measures, in one run, N messages each to the recipient through the SMTP submission server
   (127.0.0.1, STARTTLS + AUTH, the stack's certificate verified, as the product does):
   (a) raw smtplib, ONE connection reused for all N (each message built with email.message
       inside the timing, then ``sendmail``): the limit;
   (b) raw smtplib, a new connection per message (connect, STARTTLS, AUTH, send, QUIT): what a
       naive Flask-Mail use does;
   (c) ours: ``outbox.enqueue`` N messages (timed on its own), then ``outbox.run_once()`` until
       every item is sent (the drain, timed on its own); throughput of the drain and of
       enqueue + drain. Run twice on separate batches: with the Sent copy (an IMAP APPEND per
       message into the sender's Sent, the default) and with ``provider_files_sent_mail=True``
       (no copy). Whether the worker reuses its SMTP/IMAP connections is the product's business:
       the profile shows how often it connected (open_smtp / ImapBackend.connect calls);
4. after every run checks that the recipient's INBOX holds exactly N messages with exactly the
   Message-IDs sent (waits briefly for LMTP), for (c) also the item states and the sender's Sent
   folder, then empties INBOX (and Sent);
5. when a drain of ours is below 0.8x the throughput of (a) (or with --profile), profiles a drain
   of min(N, 300) messages per variant (separate batches, so the timed runs are not slowed) with
   cProfile: a per-message breakdown of where the time goes (SMTP, IMAP, SQLite bookkeeping),
   then the top 25 functions by cumulative and by own time; the .prof dumps stay in the work dir;
6. prints the table (method | messages | seconds | msg/s | ratio vs (a)); stops the stack and
   removes both accounts unless --keep.

The app runs on a fresh SQLite database in a temp dir; UNDO delay is 0; nothing of the product is
changed or monkeypatched. Progress goes to stderr, the report to stdout.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import random
import shutil
import smtplib
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO))

STATE_DIR = "/tmp/tricoma-mailstack-sendbench"
PORT_OFFSET = 600
ATTACHMENT_BYTES = 50 * 1024
ATTACHMENT_SEED = 20260501
THRESHOLD = 0.8  # ours below this fraction of (a)'s throughput → profile the drain
PROFILE_MAX = 300
DELIVERY_WAIT = 30.0  # seconds to wait for LMTP delivery to show in INBOX
FETCH_BATCH = 500
BODY_TEXT = ("Guten Tag,\n\nanbei erhalten Sie die Rechnung {i} als PDF.\n"
             "Bitte überweisen Sie den Betrag innerhalb von 14 Tagen.\n\nMit freundlichen Grüßen\nBuchhaltung\n")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ================================================================================================
# The attachment: a real minimal PDF, padded to exactly 50 KB
# ================================================================================================


def make_pdf(size: int = ATTACHMENT_BYTES, seed: int = ATTACHMENT_SEED) -> bytes:
    """A valid one-page PDF (catalog, pages, page, text content, correct xref) of exactly ``size``
    bytes; the padding is an unreferenced stream object of deterministic binary data."""
    content = b"BT /F1 18 Tf 40 700 Td (Rechnung - tricoma send bench) Tj ET"
    head = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R"
        b"/Resources<</Font<</F1 5 0 R>>>>>>",
        b"<</Length %d>>stream\n" % len(content) + content + b"\nendstream",
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
    ]

    def assemble(padding: int) -> bytes:
        objs = objects + [b"<</Length %d>>stream\n" % padding + random.Random(seed).randbytes(padding)
                          + b"\nendstream"]
        out = bytearray(head)
        offsets = []
        for number, body in enumerate(objs, start=1):
            offsets.append(len(out))
            out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
        for offset in offsets:
            out += b"%010d 00000 n \n" % offset
        out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
        return bytes(out)

    padding = size - len(assemble(0))
    for _ in range(5):  # the digits of /Length and of the offsets change the size a little
        pdf = assemble(padding)
        if len(pdf) == size:
            return pdf
        padding += size - len(pdf)
    raise RuntimeError(f"could not pad the PDF to {size} bytes (got {len(pdf)})")


# ================================================================================================
# Raw smtplib senders (a) and (b)
# ================================================================================================


def build_raw(i: int, label: str, sender: str, recipient: str, pdf: bytes) -> tuple[str, bytes]:
    """One message built with email.message: (Message-ID, bytes)."""
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = f"Buchhaltung <{sender}>"
    msg["To"] = recipient
    msg["Subject"] = f"Rechnung {10000 + i} ({label})"
    msg["Date"] = format_datetime(time_now())
    msg["Message-ID"] = make_msgid(domain=sender.split("@")[1])
    msg["MIME-Version"] = "1.0"
    msg.set_content(BODY_TEXT.format(i=10000 + i))
    msg.add_attachment(pdf, "application", "pdf", filename=f"Rechnung-{10000 + i}.pdf")
    return str(msg["Message-ID"]), msg.as_bytes(policy=SMTP_POLICY)


def time_now():
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc)


def smtp_session(profile, user: str, password: str, context: ssl.SSLContext) -> smtplib.SMTP:
    smtp = smtplib.SMTP(profile.host, profile.smtp_port, timeout=60)
    smtp.starttls(context=context)
    smtp.ehlo()
    smtp.login(user, password)
    return smtp


def send_reused(profile, user, password, recipient, context, pdf, n) -> tuple[float, list[str]]:
    """(a): one connection, N × (build + sendmail)."""
    ids = []
    started = time.perf_counter()
    smtp = smtp_session(profile, user, password, context)
    for i in range(n):
        message_id, raw = build_raw(i, "a", user, recipient, pdf)
        refused = smtp.sendmail(user, [recipient], raw)
        if refused:
            raise RuntimeError(f"(a) refused: {refused}")
        ids.append(message_id)
    smtp.quit()
    return time.perf_counter() - started, ids


def send_per_connection(profile, user, password, recipient, context, pdf, n) -> tuple[float, list[str]]:
    """(b): N × (build + connect + STARTTLS + AUTH + sendmail + QUIT)."""
    ids = []
    started = time.perf_counter()
    for i in range(n):
        message_id, raw = build_raw(i, "b", user, recipient, pdf)
        smtp = smtp_session(profile, user, password, context)
        refused = smtp.sendmail(user, [recipient], raw)
        smtp.quit()
        if refused:
            raise RuntimeError(f"(b) refused: {refused}")
        ids.append(message_id)
    return time.perf_counter() - started, ids


# ================================================================================================
# IMAP checks: exactly N delivered, then empty the folder
# ================================================================================================


class Mailcheck:
    """A plain-IMAP (loopback) client that counts, verifies and empties one account's folders."""

    def __init__(self, profile, user: str, password: str) -> None:
        from imapclient import IMAPClient

        self.client = IMAPClient(profile.host, profile.imap_port, ssl=False, timeout=120)
        self.client.login(user, password)

    def count(self, folder: str) -> int:
        return int(self.client.folder_status(folder, [b"MESSAGES"])[b"MESSAGES"])

    def message_ids(self, folder: str) -> list[str]:
        self.client.select_folder(folder, readonly=True)
        uids = self.client.search(["ALL"])
        ids = []
        key = b"BODY[HEADER.FIELDS (MESSAGE-ID)]"
        for offset in range(0, len(uids), FETCH_BATCH):
            fetched = self.client.fetch(uids[offset:offset + FETCH_BATCH], ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
            for data in fetched.values():
                header = data[key].decode("ascii", "replace").replace("\r\n", "").strip()
                ids.append(header.split(":", 1)[1].strip() if ":" in header else "")
        self.client.close_folder()  # read-only: CLOSE expunges nothing
        return ids

    def verify(self, folder: str, expected_ids: list[str], wait: float = DELIVERY_WAIT) -> tuple[bool, str]:
        """Wait until ``folder`` holds len(expected_ids) messages (LMTP), then compare Message-IDs."""
        n = len(expected_ids)
        deadline = time.monotonic() + wait
        count = self.count(folder)
        while count < n and time.monotonic() < deadline:
            time.sleep(0.2)
            count = self.count(folder)
        time.sleep(0.3)  # anything late (a duplicate) shows up now
        count = self.count(folder)
        ids = self.message_ids(folder) if count else []
        ok = count == n and sorted(ids) == sorted(expected_ids) and len(set(ids)) == n
        detail = (f"{folder}: {count} messages, {len(set(ids))} distinct Message-IDs, "
                  f"{len(set(ids) & set(expected_ids))} of the {n} sent")
        return ok, detail

    def clear(self, folder: str) -> None:
        self.client.select_folder(folder)
        uids = self.client.search(["ALL"])
        for offset in range(0, len(uids), FETCH_BATCH):
            self.client.add_flags(uids[offset:offset + FETCH_BATCH], [b"\\Deleted"], silent=True)
        if uids:
            self.client.expunge()
        self.client.close_folder()
        left = self.count(folder)
        if left:
            raise RuntimeError(f"{folder} still holds {left} messages after expunge")

    def close(self) -> None:
        try:
            self.client.logout()
        except Exception:  # noqa: BLE001
            pass


# ================================================================================================
# Ours: the app, enqueue, drain
# ================================================================================================


def build_app(db_url: str, cert: str):
    """Like bench/sync_bench.py: the host app on a fresh, migrated database."""
    from hostapp import create_app
    from hostapp.cli import upgrade_database
    from hostapp.extensions import db

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SECRET_KEY": "bench-secret",
        "HOSTAPP_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "TRICOMA_MAIL_LOAD_ENTRYPOINTS": False,
        "TRICOMA_MAIL_EXTRA_PLUGINS": ("tricoma_mail_v1_imap",),
        "TRICOMA_MAIL_CA_FILE": cert,
        "TRICOMA_MAIL_ALLOWED_MAIL_SERVERS": ("127.0.0.1",),  # the local mail stack
        "TRICOMA_MAIL_NETWORK_TIMEOUT": 300.0,
        "TRICOMA_MAIL_UNDO_SEND_SECONDS": 0,
    })
    with app.app_context():
        upgrade_database()
        db.engine.dispose()
    return app


def make_mailbox(app, profile, email: str, password: str) -> tuple[int, int]:
    """(mailbox id, host user id): a tested mailbox for the sender account; the user holds *send*."""
    from hostapp.extensions import db
    from hostapp.models import User
    from tricoma_mail_plugin.rights import access
    from tricoma_mail_plugin.mailboxes import service

    with app.app_context():
        user = User(username="bench", display_name="Bench", email="bench@example.test", language="en")
        user.set_password("bench-password")
        db.session.add(user)
        db.session.commit()
        mailbox = service.create_mailbox("Send bench " + email, user)
        service.update_settings(mailbox, {
            "email": email, "sender_name": "Buchhaltung",
            "imap_host": "127.0.0.1", "imap_port": profile.imap_port, "imap_security": "starttls",
            "imap_username": email, "imap_password": password,
            "smtp_host": "127.0.0.1", "smtp_port": profile.smtp_port, "smtp_security": "starttls",
            "smtp_username": email, "smtp_password": password,
        })
        access.grant(mailbox.id, "user", user.id, "send")
        steps = service.run_test(mailbox)
        if not mailbox.usable:
            raise RuntimeError(f"the mailbox connection test failed: {steps}")
        return mailbox.id, user.id


def set_provider_files_sent(app, mailbox_id: int, value: bool) -> None:
    from hostapp.extensions import db
    from tricoma_mail_plugin.mailboxes import service
    from tricoma_mail_plugin.models import Mailbox

    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        service.update_settings(mailbox, {"provider_files_sent_mail": value})
        assert mailbox.usable, "changing provider_files_sent_mail must not untest the mailbox"


def enqueue_batch(app, mailbox_id: int, user_id: int, recipient: str, pdf: bytes, n: int,
                  label: str) -> tuple[float, list[int]]:
    """N × outbox.enqueue (access check, before_send, build, store, commit); (seconds, item ids)."""
    from hostapp.extensions import db
    from hostapp.models import User
    from tricoma_mail_plugin.sending import outbox
    from tricoma_mail_plugin.mime.build import AttachmentData, OutgoingMessage
    from tricoma_mail_plugin.models import Mailbox

    ids = []
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        user = db.session.get(User, user_id)
        started = time.perf_counter()
        for i in range(n):
            outgoing = OutgoingMessage(
                to=(recipient,), subject=f"Rechnung {10000 + i} ({label})", text=BODY_TEXT.format(i=10000 + i),
                attachments=(AttachmentData(f"Rechnung-{10000 + i}.pdf", "application/pdf", pdf),))
            ids.append(outbox.enqueue(mailbox, user, outgoing).id)
        seconds = time.perf_counter() - started
        db.session.remove()
    return seconds, ids


def drain(app, expected: int, profiler: cProfile.Profile | None = None) -> tuple[float, int]:
    """outbox.run_once() until no item is queued or retrying any more; (seconds, run_once calls)."""
    from hostapp.extensions import db
    from sqlalchemy import func, select
    from tricoma_mail_plugin.sending import outbox
    from tricoma_mail_plugin.models import OutboxItem

    calls = done = 0
    with app.app_context():
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        while True:
            done += outbox.run_once()
            calls += 1
            pending = db.session.scalar(select(func.count()).select_from(OutboxItem).where(
                OutboxItem.state.in_(("queued", "retry", "sending"))))
            if not pending or calls >= 50:
                break
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - started
        db.session.remove()
    if done != expected:
        log(f"warning: run_once reported {done} items, expected {expected}")
    return seconds, calls


def outbox_size(app) -> tuple[int, int]:
    """(rows, rows in state sent) of the outbox table: claim_sent_copy's cost depends on it."""
    from hostapp.extensions import db
    from sqlalchemy import func, select
    from tricoma_mail_plugin.models import OutboxItem

    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(OutboxItem))
        sent = db.session.scalar(select(func.count()).select_from(OutboxItem).where(OutboxItem.state == "sent"))
        db.session.remove()
    return total, sent


def item_states(app, item_ids: list[int]) -> tuple[dict, dict, list[str]]:
    """(state counts, sent_copy counts, Message-IDs) of the given outbox items."""
    from collections import Counter

    from hostapp.extensions import db
    from sqlalchemy import select
    from tricoma_mail_plugin.models import OutboxItem

    with app.app_context():
        rows = db.session.execute(select(OutboxItem.state, OutboxItem.sent_copy, OutboxItem.message_id)
                                  .where(OutboxItem.id.in_(item_ids))).all()
        db.session.remove()
    return (dict(Counter(r[0] for r in rows)), dict(Counter(r[1] for r in rows)), [r[2] for r in rows])


# ================================================================================================
# Profile output
# ================================================================================================

BREAKDOWN = (  # (label, file suffix, function name); functions the code at hand lacks are left out
    ("run_once (whole drain)", "outbox.py", "run_once"),
    ("  expire_leases", "outbox.py", "expire_leases"),
    ("  claim_next (lease UPDATE + SELECT + commit)", "outbox.py", "claim_next"),
    ("  deliver", "outbox.py", "deliver"),
    ("    WorkerConnections.submission (get or open the SMTP session)", "outbox.py", "submission"),
    ("    _submit (per-message backend + submit, older code)", "outbox.py", "_submit"),
    ("    service.backend_for (settings, secrets decrypt)", "service.py", "backend_for"),
    ("    SmtpSession.submit", "smtp_transport.py", "submit"),
    ("      open_smtp (TCP + STARTTLS + EHLO + AUTH) — calls = SMTP logins", "smtp_transport.py", "open_smtp"),
    ("      _transaction (MAIL, RCPT, DATA)", "smtp_transport.py", "_transaction"),
    ("        smtplib rcpt (relay probes the recipient over LMTP)", "smtplib.py", "rcpt"),
    ("        smtplib data (DATA + 70 KB + final dot → LMTP delivery)", "smtplib.py", "data"),
    ("    smtplib quit", "smtplib.py", "quit"),
    ("    deliver_after_commit (the sent event: message_sent, event)", "outbox.py", "deliver_after_commit"),
    ("  claim_sent_copy (SELECT + lease UPDATE + commit + get)", "outbox.py", "claim_sent_copy"),
    ("  file_sent_copy", "outbox.py", "file_sent_copy"),
    ("    WorkerConnections.sent_folder (get or open the IMAP conn.)", "outbox.py", "sent_folder"),
    ("      ImapBackend.connect (TCP+STARTTLS+LOGIN+ENABLE) — calls = IMAP logins", "imap_backend.py", "connect"),
    ("      folder_for_role (LIST)", "mailbox_folders.py", "folder_for_role"),
    ("    ImapBackend.select", "imap_backend.py", "select"),
    ("    ImapBackend.append (APPEND 70 KB into Sent)", "imap_backend.py", "append"),
    ("    ImapBackend.close (LOGOUT)", "imap_backend.py", "close"),
    ("  db.session.commit (every SQLAlchemy commit)", "scoping.py", "commit"),
    ("    sqlite3 COMMIT itself (journal write + fsync)", "~", "<method 'commit' of 'sqlite3.Connection' objects>"),
    ("  sqlite3 cursor.execute (all statements)", "~", "<method 'execute' of 'sqlite3.Cursor' objects>"),
)


def breakdown(stats: pstats.Stats, n: int, wall: float) -> str:
    """Cumulative seconds and ms per message of the functions in BREAKDOWN."""
    table = stats.stats  # type: ignore[attr-defined]
    lines = [f"  {'function':<78} {'calls':>7} {'cum s':>8} {'ms/msg':>8} {'% wall':>7}"]
    for label, suffix, name in BREAKDOWN:
        calls = cum = 0.0
        for (filename, _line, func), (cc, nc, _tt, ct, _callers) in table.items():
            if func == name and filename.endswith(suffix):
                calls += nc
                cum += ct
        if not calls:
            continue
        lines.append(f"  {label:<78} {int(calls):>7} {cum:>8.2f} {cum / n * 1000:>8.2f} {cum / wall * 100:>6.1f}%")
    return "\n".join(lines)


def stats_text(profile: cProfile.Profile, title: str, n: int, wall: float) -> str:
    out = io.StringIO()
    out.write(f"\n===== cProfile: {title} =====\n")
    out.write(f"\n--- where the time goes (cumulative, from the profile; {n} messages, {wall:.2f} s under the profiler) ---\n")
    out.write(breakdown(pstats.Stats(profile), n, wall) + "\n")
    for key in ("cumulative", "tottime"):
        out.write(f"\n--- top 25 by {key} ---\n")
        pstats.Stats(profile, stream=out).strip_dirs().sort_stats(key).print_stats(25)
    return out.getvalue()


# ================================================================================================
# Main
# ================================================================================================


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000, help="messages per method (default 1000)")
    parser.add_argument("--keep", action="store_true", help="leave the stack, both accounts and the DB in place")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--profile", action="store_true", help="profile the drains even when ours is fast enough")
    group.add_argument("--no-profile", action="store_true", help="never profile")
    args = parser.parse_args()
    n = args.messages
    if n < 1:
        parser.error("--messages must be at least 1")

    from mailstack import MailStack

    t_all = time.perf_counter()
    stack = MailStack(STATE_DIR, port_offset=PORT_OFFSET)
    profile = stack.standard
    tag = uuid.uuid4().hex[:8]
    sender, sender_pw = f"sendbench-from-{tag}@{profile.domain}", uuid.uuid4().hex
    recipient, recipient_pw = f"sendbench-to-{tag}@{profile.domain}", uuid.uuid4().hex
    workdir = Path(tempfile.mkdtemp(prefix="tricoma-send-bench-"))
    homes = [stack.paths(profile).mail_dir / profile.domain / a.split("@")[0] for a in (sender, recipient)]
    rows: list[tuple[str, int, float | None]] = []
    details: list[str] = []
    checks: list[tuple[str, bool, str]] = []
    profiles: list[str] = []
    rcpt_check = sent_check = None
    try:
        t = time.perf_counter()
        started = stack.start()
        log(f"mail stack {'started' if started else 'already running'} in {time.perf_counter() - t:.1f} s "
            f"({STATE_DIR}, SMTP {profile.smtp_port}, IMAP {profile.imap_port})")
        stack.add_user(sender, sender_pw, 1, quota_mb=1_000_000)
        stack.add_user(recipient, recipient_pw, 1, quota_mb=1_000_000)
        context = stack.ssl_context(verify=True)  # like the product: verified against the stack's CA file

        pdf = make_pdf()
        _, sample = build_raw(0, "size", sender, recipient, pdf)
        t = time.perf_counter()
        for i in range(min(n, 200)):
            build_raw(i, "x", sender, recipient, pdf)
        build_ms = (time.perf_counter() - t) / min(n, 200) * 1000
        details.append(f"attachment: valid PDF padded to {len(pdf):,} bytes; message on the wire "
                       f"{len(sample):,} bytes (base64); building one with email.message takes {build_ms:.2f} ms")

        # warm-up (not timed): Dovecot auth/imap processes, relay executor threads, TLS code paths
        warm = smtp_session(profile, sender, sender_pw, context)
        warm.quit()
        rcpt_check = Mailcheck(profile, recipient, recipient_pw)
        sent_check = Mailcheck(profile, sender, sender_pw)
        rcpt_check.clear("INBOX")

        def check(label: str, ids: list[str]) -> None:
            ok, detail = rcpt_check.verify("INBOX", ids)
            checks.append((f"{label}: recipient INBOX holds exactly the {len(ids)} messages sent", ok, detail))
            log(f"check {label}: {'OK' if ok else 'FAILED'} ({detail})")
            rcpt_check.clear("INBOX")

        load_start = os.getloadavg()
        # (a) raw smtplib, one connection
        log(f"(a) raw smtplib, one reused connection, {n} messages ...")
        a_s, ids = send_reused(profile, sender, sender_pw, recipient, context, pdf, n)
        log(f"(a) {a_s:.2f} s, {n / a_s:.1f} msg/s")
        rows.append(("(a) raw smtplib, ONE reused connection (build + sendmail)", n, a_s))
        check("(a)", ids)

        # (b) raw smtplib, a connection per message
        log(f"(b) raw smtplib, new connection per message, {n} messages ...")
        b_s, ids = send_per_connection(profile, sender, sender_pw, recipient, context, pdf, n)
        log(f"(b) {b_s:.2f} s, {n / b_s:.1f} msg/s")
        rows.append(("(b) raw smtplib, new connection per message (STARTTLS+AUTH each)", n, b_s))
        check("(b)", ids)
        details.append(f"connect + STARTTLS + AUTH + QUIT per message, from (b) − (a): "
                       f"{(b_s - a_s) / n * 1000:.1f} ms")

        # (c) ours
        app = build_app("sqlite:///" + str(workdir / "app.sqlite"), str(stack.cert))
        mailbox_id, user_id = make_mailbox(app, profile, sender, sender_pw)
        sent_check.clear("Sent")
        ours: dict[str, dict] = {}
        for variant, provider_files in (("with Sent copy", False), ("no Sent copy", True)):
            set_provider_files_sent(app, mailbox_id, provider_files)
            log(f"(c) ours, {variant}: enqueue {n} ...")
            enq_s, item_ids = enqueue_batch(app, mailbox_id, user_id, recipient, pdf, n, f"c {variant}")
            rows_before = outbox_size(app)
            log(f"(c) enqueue {enq_s:.2f} s ({n / enq_s:.1f} msg/s); draining with run_once() "
                f"(outbox table: {rows_before[0]} rows, {rows_before[1]} sent) ...")
            drain_s, calls = drain(app, n)
            log(f"(c) drain {drain_s:.2f} s ({n / drain_s:.1f} msg/s, {calls} run_once call(s))")
            ours[variant] = {"enqueue": enq_s, "drain": drain_s, "table": rows_before, "load": os.getloadavg()[0]}
            rows.append((f"(c) ours, {variant}: enqueue only (outbox.enqueue × N)", n, enq_s))
            rows.append((f"(c) ours, {variant}: drain (outbox.run_once)", n, drain_s))
            rows.append((f"(c) ours, {variant}: enqueue + drain", n, enq_s + drain_s))
            states, copies, message_ids = item_states(app, item_ids)
            want_copy = "skipped" if provider_files else "done"
            ok = states == {"sent": n} and copies == {want_copy: n}
            checks.append((f"(c) {variant}: every item sent, Sent copy {want_copy}", ok,
                           f"states {states}, sent_copy {copies}"))
            check(f"(c) {variant}", message_ids)
            ok, detail = sent_check.verify("Sent", message_ids if not provider_files else [], wait=5.0)
            checks.append((f"(c) {variant}: sender's Sent holds "
                           f"{'one copy of each' if not provider_files else 'nothing'}", ok, detail))
            sent_check.clear("Sent")

        # profile the drain when ours is too slow
        worst = min(n / v["drain"] for v in ours.values())
        below = worst < THRESHOLD * (n / a_s)
        if (below or args.profile) and not args.no_profile:
            pn = min(n, PROFILE_MAX)
            for variant, provider_files in (("with Sent copy", False), ("no Sent copy", True)):
                set_provider_files_sent(app, mailbox_id, provider_files)
                _, item_ids = enqueue_batch(app, mailbox_id, user_id, recipient, pdf, pn, f"profile {variant}")
                table = outbox_size(app)
                log(f"profiling the drain of {pn} messages, {variant} (outbox table: {table[0]} rows, "
                    f"{table[1]} sent) ...")
                prof = cProfile.Profile()
                wall, _ = drain(app, pn, prof)
                profiles.append(stats_text(prof, f"drain of {pn} messages, {variant}; outbox table held "
                                                 f"{table[0]} rows ({table[1]} sent) before", pn, wall))
                prof.dump_stats(str(workdir / f"drain-{'copy' if not provider_files else 'nocopy'}.prof"))
                _, _, message_ids = item_states(app, item_ids)
                check(f"profiled drain, {variant}", message_ids)
                sent_check.clear("Sent")
        elif not below:
            details.append(f"ours is at or above {THRESHOLD}× of (a): no profile (use --profile to force)")
        with app.app_context():
            from hostapp.extensions import db
            db.engine.dispose()

        # report
        print(f"\nCommand: {' '.join([Path(sys.executable).name, *sys.argv])}")
        print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, Dovecot {_dovecot_version()}, "
              f"SMTP relay scripts/smtp_relay.py (aiosmtpd → LMTP) on 127.0.0.1:{profile.smtp_port}, "
              f"STARTTLS + AUTH PLAIN/LOGIN, app DB SQLite in {workdir}")
        width = max(len(r[0]) for r in rows)
        header = f"{'method':<{width}} | {'messages':>8} | {'seconds':>8} | {'msg/s':>7} | {'vs (a)':>6}"
        print()
        print(header)
        print("-" * len(header))
        base = n / a_s
        for label, count, seconds in rows:
            rate = count / seconds
            print(f"{label:<{width}} | {count:>8} | {seconds:>8.2f} | {rate:>7.1f} | {rate / base:>5.2f}×")
        print("\n(ratio vs (a) = throughput ÷ throughput of (a))")
        print("\nDetails:")
        for line in details:
            print("  " + line)
        for variant, v in ours.items():
            print(f"  ours {variant}: drain {v['drain'] / n * 1000:.1f} ms/msg vs (a) {a_s / n * 1000:.1f} ms/msg; "
                  f"enqueue {v['enqueue'] / n * 1000:.1f} ms/msg; outbox table before the drain "
                  f"{v['table'][0]} rows ({v['table'][1]} sent); 1-min load after it {v['load']:.2f}")
        print(f"  1-min load average at the start of (a): {load_start[0]:.2f}, at the end: {os.getloadavg()[0]:.2f} "
              f"({os.cpu_count()} CPUs; other processes on the machine skew the timings)")
        print("\nChecks:")
        for label, ok, detail in checks:
            print(f"  {'OK  ' if ok else 'FAIL'}  {label}  [{detail}]")
        for text in profiles:
            print(text)
        if profiles:
            print(f"profile dumps (pstats): {workdir}/drain-*.prof")
        log(f"total run time {time.perf_counter() - t_all:.0f} s")
        return 0 if all(ok for _, ok, _ in checks) else 1
    finally:
        for client in (rcpt_check, sent_check):
            if client is not None:
                client.close()
        if args.keep:
            log(f"--keep: stack running ({STATE_DIR}); sender {sender} / {sender_pw}, "
                f"recipient {recipient} / {recipient_pw}; work dir {workdir}")
        else:
            for address in (sender, recipient):
                try:
                    stack.remove_user(address, 1)
                except Exception as exc:  # noqa: BLE001
                    log(f"could not remove {address}: {exc}")
            stack.stop()
            for home in homes:
                shutil.rmtree(home, ignore_errors=True)
            if profiles:  # keep the .prof dumps, drop the app DB (N × 70 KB rows)
                (workdir / "app.sqlite").unlink(missing_ok=True)
            else:
                shutil.rmtree(workdir, ignore_errors=True)
            log("mail stack stopped; both accounts and their mail removed")


def _dovecot_version() -> str:
    try:
        return subprocess.run(["/usr/sbin/dovecot", "--version"], capture_output=True, text=True,
                              check=False).stdout.strip() or "?"
    except OSError:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
