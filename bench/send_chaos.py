#!/usr/bin/env python3
"""Send chaos: worker processes killed with SIGKILL at random moments while the outbox drains.

Usage::

    .venv/bin/python bench/send_chaos.py [--db sqlite|postgres] [--mails N] [--workers W]
        [--lease S] [--delay S] [--kill-every MIN:MAX] [--self-filed] [--seed N] [--full]

What it does (against a mail stack of its own: /tmp/tricoma-mailstack-sendchaos, port offset 655):

1. provisions a fresh sender and a fresh recipient on profile 1 and starts a relay on 127.0.0.1
   (aiosmtpd) that answers every EHLO, MAIL, RCPT and the final dot only after ``--delay``
   seconds (0.4) and forwards what it accepts to the stack's submission server. By default the
   relay also files each accepted mail in the sender's Sent folder before its final reply, like
   a provider that files sent mail itself (the mailbox is marked ``provider_files_sent_mail``);
   with ``--self-filed`` it does not, and the outbox files its own Sent copies by IMAP;
2. queues ``--mails`` mails (60) from a mailbox that sends through the relay, on a fresh
   SQLite database or a schema of its own on PostgreSQL (``--db postgres``:
   ``TRICOMA_TEST_DATABASE_URL`` or postgresql+psycopg://postgres@127.0.0.1:5432/test), with
   the outbox lease shortened to ``--lease`` seconds (10);
3. runs ``--workers`` worker processes (3; each loops ``outbox.run_once``) and, until the outbox
   is drained, kills a random one with SIGKILL every MIN..MAX seconds (0.5:4) and starts a new one;
4. counts every subject in the recipient's INBOX and in the sender's Sent folder and prints a
   table: lost (never arrived and not reported uncertain), doubled (arrived more than once),
   Sent copies per delivered mail, uncertain items (and how many of them had in fact arrived),
   attempts retried after a kill, uncertain items settled by a look into the Sent folder, and
   how many kills chance alone puts into a final-dot window (the share of worker time spent
   between the final dot and the server's answer, times the kills): with the outbox files its
   own Sent copies (``--self-filed``) nothing on the server can tell, so those are uncertain;
5. then plays the person the outbox asks (``--no-settle`` skips it): for each uncertain item it
   checks with the recipient (the recipient's INBOX) and presses "the recipient has it" or "send
   again", drains the outbox again (no kills) and counts once more.

Target: 0 lost, 0 doubled, 1 Sent copy per delivered mail, uncertain at most 2 %. The default run
takes a few minutes; ``--full`` is the size of the report in issue 17 (150 mails, kills until
drained: about 8 minutes). Progress goes to stderr, the table to stdout; the exit code is 1 when a
target is missed. Nothing of the product is monkeypatched: the workers are the real code.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO))

STATE_DIR = "/tmp/tricoma-mailstack-sendchaos"
PORT_OFFSET = 655
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DELIVERY_WAIT = 60.0
OPEN_STATES = ("queued", "retry", "sending")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ================================================================================================
# The slow relay (and, by default, the provider that files sent mail)
# ================================================================================================


class SlowRelay:
    """An aiosmtpd handler: every reply after ``delay`` seconds; accepted mail is forwarded to
    the stack's submission server and, when ``files_sent`` is set, appended to the sender's Sent
    folder before the final reply (so a mail whose dot arrived is in Sent whatever the client
    does next, as with a provider that files sent mail)."""

    def __init__(self, delay: float, smtp: tuple[str, int, str, str], imap: tuple[str, int, str, str] | None,
                 sent_folder: str = "Sent") -> None:
        self.delay = delay
        self.smtp = smtp
        self.imap = imap
        self.sent_folder = sent_folder
        self.accepted = 0
        self._tasks: set = set()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        await asyncio.sleep(self.delay)
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        await asyncio.sleep(self.delay)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        await asyncio.sleep(self.delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        # Like a real MTA, the server finishes taking a message whose final dot it read even
        # when the client is gone before the reply: aiosmtpd would cancel the handler.
        task = asyncio.ensure_future(self._accept_then_reply(envelope))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return await asyncio.shield(task)

    async def _accept_then_reply(self, envelope) -> str:
        await asyncio.get_running_loop().run_in_executor(None, self._accept, envelope)
        await asyncio.sleep(self.delay)
        return "250 OK queued"

    def _accept(self, envelope) -> None:
        host, port, user, password = self.smtp
        with smtplib.SMTP(host, port, timeout=60) as upstream:
            upstream.login(user, password)
            upstream.sendmail(envelope.mail_from, envelope.rcpt_tos, envelope.original_content)
        if self.imap is not None:
            from imapclient import IMAPClient

            host, port, user, password = self.imap
            with IMAPClient(host, port, ssl=False, timeout=60) as client:
                client.login(user, password)
                client.append(self.sent_folder, envelope.original_content, flags=[b"\\Seen"])
        self.accepted += 1


# ================================================================================================
# The app, its database and the workers
# ================================================================================================


def app_config(db_url: str, cert: str, lease: int) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SECRET_KEY": "chaos-secret",
        "HOSTAPP_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "TRICOMA_MAIL_LOAD_ENTRYPOINTS": False,
        "TRICOMA_MAIL_EXTRA_PLUGINS": ("tricoma_mail_v1_imap",),
        "TRICOMA_MAIL_CA_FILE": cert,
        "TRICOMA_MAIL_NETWORK_TIMEOUT": 30.0,
        "TRICOMA_MAIL_UNDO_SEND_SECONDS": 0,
        "TRICOMA_MAIL_OUTBOX_LEASE_SECONDS": lease,
        "TRICOMA_MAIL_ALLOWED_MAIL_SERVERS": ("127.0.0.1",),  # the stack and the relay
    }


def make_app(db_url: str, cert: str, lease: int):
    from hostapp import create_app

    return create_app(app_config(db_url, cert, lease))


def worker_main(args) -> int:
    """One worker process: ``outbox.run_once`` in a loop until killed."""
    from hostapp.extensions import db
    from tricoma_mail_plugin.sending import outbox

    app = make_app(args.db_url, args.cert, args.lease)
    name = f"chaos-{os.getpid()}"
    while True:
        with app.app_context():
            try:
                done = outbox.run_once(name)
            except Exception as error:  # noqa: BLE001 - a worker keeps going, like `mail worker`
                log(f"{name}: {type(error).__name__}: {error}")
                done = 0
            finally:
                db.session.remove()
        if not done:
            time.sleep(0.2)


class Workers:
    def __init__(self, count: int, db_url: str, cert: str, lease: int, logdir: Path) -> None:
        self.command = [sys.executable, str(Path(__file__).resolve()), "--worker", "--db-url", db_url,
                        "--cert", cert, "--lease", str(lease)]
        self.logdir = logdir
        self.processes = [self._start() for _ in range(count)]

    def _start(self) -> subprocess.Popen:
        with open(self.logdir / f"worker-{time.monotonic_ns()}.log", "w") as out:  # the child keeps its copy
            return subprocess.Popen(self.command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)

    def kill_one(self, rng: random.Random) -> None:
        index = rng.randrange(len(self.processes))
        victim = self.processes[index]
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        self.processes[index] = self._start()

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGKILL)
        for process in self.processes:
            process.wait()


def postgres_schema(url: str) -> tuple[str, str]:
    from sqlalchemy import create_engine, text

    schema = f"tricoma_chaos_{uuid.uuid4().hex[:8]}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    separator = "&" if "?" in url else "?"
    return schema, f"{url}{separator}options=-csearch_path%3D{schema}"


def drop_schema(url: str, schema: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


def prepare(app, stack, sender: str, sender_pw: str, relay_port: int, provider_files: bool) -> int:
    """A tested mailbox of the sender whose SMTP is the relay; returns its id."""
    from hostapp.cli import upgrade_database
    from hostapp.extensions import db
    from hostapp.models import User
    from tricoma_mail_plugin.mailboxes import service
    from tricoma_mail_plugin.models import Mailbox
    from tricoma_mail_plugin.rights import access

    profile = stack.standard
    with app.app_context():
        upgrade_database()
        user = User(username="chaos", display_name="Chaos", email="chaos@example.test", language="en")
        user.set_password("chaos-password")
        db.session.add(user)
        db.session.commit()
        mailbox = service.create_mailbox("Send chaos " + sender, user)
        service.update_settings(mailbox, {
            "email": sender, "sender_name": "Buchhaltung",
            "imap_host": "127.0.0.1", "imap_port": profile.imap_port, "imap_security": "starttls",
            "imap_username": sender, "imap_password": sender_pw,
            "smtp_host": "127.0.0.1", "smtp_port": profile.smtp_port, "smtp_security": "starttls",
            "smtp_username": sender, "smtp_password": sender_pw,
            "provider_files_sent_mail": provider_files,
        })
        access.grant(mailbox.id, "user", user.id, "send")
        steps = service.run_test(mailbox)
        if not mailbox.usable:
            raise RuntimeError(f"the mailbox connection test failed: {steps}")
        mailbox = db.session.get(Mailbox, mailbox.id)  # now through the relay (loopback, no auth)
        mailbox.smtp_port, mailbox.smtp_security, mailbox.smtp_username = relay_port, "none", ""
        db.session.commit()
        mailbox_id = mailbox.id
        db.session.remove()
        db.engine.dispose()
    return mailbox_id


def enqueue_all(app, mailbox_id: int, recipient: str, subjects: list[str]) -> None:
    from sqlalchemy import select

    from hostapp.extensions import db
    from hostapp.models import User
    from tricoma_mail_plugin.mime.build import OutgoingMessage
    from tricoma_mail_plugin.models import Mailbox
    from tricoma_mail_plugin.sending import outbox

    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        user = db.session.scalar(select(User).where(User.username == "chaos"))
        for subject in subjects:
            outbox.enqueue(mailbox, user, OutgoingMessage(to=(recipient,), subject=subject,
                                                         text=f"Guten Tag,\n{subject}\n"))
        db.session.remove()
        db.engine.dispose()


def outbox_rows(app) -> list:
    from sqlalchemy import select

    from hostapp.extensions import db
    from tricoma_mail_plugin.models import OutboxItem

    with app.app_context():
        rows = db.session.execute(select(
            OutboxItem.id, OutboxItem.subject, OutboxItem.state, OutboxItem.sent_copy, OutboxItem.uncertain_check_after,
            OutboxItem.uncertain_checks, OutboxItem.attempt_history, OutboxItem.attempts)).all()
        db.session.remove()
    return rows


def drained(rows, self_filed: bool) -> bool:
    for row in rows:
        if row.state in OPEN_STATES:
            return False
        if row.state == "uncertain" and row.uncertain_check_after is not None and not row.uncertain_checks:
            return False  # the first look into Sent is still to come (the later ones wait minutes)
        if self_filed and row.state == "sent" and row.sent_copy in ("pending", "retry"):
            return False
    return True


def subjects_in(profile, user: str, password: str, folder: str) -> Counter:
    from imapclient import IMAPClient

    with IMAPClient(profile.host, profile.imap_port, ssl=False, timeout=120) as client:
        client.login(user, password)
        client.select_folder(folder, readonly=True)
        uids = client.search(["ALL"])
        found = Counter()
        for offset in range(0, len(uids), 500):
            fetched = client.fetch(uids[offset:offset + 500], ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
            for data in fetched.values():
                header = data[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode("utf-8", "replace")
                found[header.replace("\r\n", "").split(":", 1)[-1].strip()] += 1
        return found


# ================================================================================================
# The run
# ================================================================================================


def run(args) -> int:
    from aiosmtpd.controller import Controller
    from mailstack import MailStack

    rng = random.Random(args.seed)
    stack = MailStack(STATE_DIR, port_offset=PORT_OFFSET)
    profile = stack.standard
    tag = uuid.uuid4().hex[:8]
    sender, sender_pw = f"chaos-from-{tag}@{profile.domain}", uuid.uuid4().hex
    recipient, recipient_pw = f"chaos-to-{tag}@{profile.domain}", uuid.uuid4().hex
    workdir = Path(tempfile.mkdtemp(prefix="tricoma-send-chaos-"))
    schema = None
    postgres_url = os.environ.get("TRICOMA_TEST_DATABASE_URL") or DEFAULT_POSTGRES
    if args.db == "postgres":
        schema, db_url = postgres_schema(postgres_url)
    else:
        db_url = "sqlite:///" + str(workdir / "app.sqlite")
    stack.start()
    stack.add_user(sender, sender_pw, 1, quota_mb=1_000_000)
    stack.add_user(recipient, recipient_pw, 1, quota_mb=1_000_000)
    relay = SlowRelay(args.delay, (profile.host, profile.smtp_port, sender, sender_pw),
                      None if args.self_filed else (profile.host, profile.imap_port, sender, sender_pw),
                      sent_folder=profile.sent_folder)
    relay_port = free_port()
    controller = Controller(relay, hostname="127.0.0.1", port=relay_port)
    controller.start()
    workers = None
    try:
        app = make_app(db_url, str(stack.cert), args.lease)
        mailbox_id = prepare(app, stack, sender, sender_pw, relay_port, provider_files=not args.self_filed)
        subjects = [f"Chaos {tag} #{i:04d}" for i in range(args.mails)]
        enqueue_all(app, mailbox_id, recipient, subjects)
        log(f"{args.mails} mails queued on {args.db}; {args.workers} workers, lease {args.lease} s, "
            f"relay {relay_port} (+{args.delay} s per reply), logs in {workdir}")
        started = time.monotonic()
        workers = Workers(args.workers, db_url, str(stack.cert), args.lease, workdir)
        kills = 0
        low, high = args.kill_every
        next_kill = time.monotonic() + rng.uniform(low, high)
        while True:
            time.sleep(0.25)
            rows = outbox_rows(app)
            if drained(rows, args.self_filed):
                break
            if time.monotonic() - started > args.max_seconds:
                log("gave up waiting for the outbox to drain")
                break
            if time.monotonic() >= next_kill:
                workers.kill_one(rng)
                kills += 1
                next_kill = time.monotonic() + rng.uniform(low, high)
                if kills % 10 == 0:
                    states = Counter(row.state for row in rows)
                    log(f"{kills} kills, {time.monotonic() - started:.0f} s: {dict(states)}")
        seconds = time.monotonic() - started
        workers.stop()
        workers = None
        rows = outbox_rows(app)
        deadline = time.monotonic() + DELIVERY_WAIT
        expected = sum(1 for row in rows if row.state == "sent")
        inbox = subjects_in(profile, recipient, recipient_pw, "INBOX")
        while sum(1 for s in subjects if inbox[s]) < expected and time.monotonic() < deadline:
            time.sleep(0.5)
            inbox = subjects_in(profile, recipient, recipient_pw, "INBOX")
        time.sleep(1.0)  # anything late (a second copy) shows up now
        inbox = subjects_in(profile, recipient, recipient_pw, "INBOX")
        sent = subjects_in(profile, sender, sender_pw, profile.sent_folder)
        status = report(args, rows, inbox, sent, kills, seconds)
        if not args.settle or not any(row.state == "uncertain" for row in rows):
            return status
        settled = settle_as_a_person(app, rows, inbox)
        log(f"a person settled {sum(settled.values())} uncertain items: {dict(settled)}; draining again")
        workers = Workers(args.workers, db_url, str(stack.cert), args.lease, workdir)
        until = time.monotonic() + args.max_seconds
        while not drained(outbox_rows(app), args.self_filed) and time.monotonic() < until:
            time.sleep(0.25)
        workers.stop()
        workers = None
        time.sleep(1.0)
        rows = outbox_rows(app)
        inbox = subjects_in(profile, recipient, recipient_pw, "INBOX")
        sent = subjects_in(profile, sender, sender_pw, profile.sent_folder)
        return final_report(rows, inbox, sent, settled) or status
    finally:
        if workers is not None:
            workers.stop()
        controller.stop()
        for address in (sender, recipient):
            try:
                stack.remove_user(address, 1)
            except Exception as error:  # noqa: BLE001
                log(f"could not remove {address}: {error}")
        if schema is not None:
            drop_schema(postgres_url, schema)


def settle_as_a_person(app, rows, inbox: Counter) -> Counter:
    """What the outbox asks of a person for each uncertain item: check with the recipient (here:
    look in the recipient's INBOX), then "the recipient has it" or "send again"."""
    from hostapp.extensions import db
    from tricoma_mail_plugin.models import OutboxItem
    from tricoma_mail_plugin.sending import outbox

    done: Counter = Counter()
    with app.app_context():
        for row in rows:
            if row.state != "uncertain":
                continue
            item = db.session.get(OutboxItem, row.id)
            item.uncertain_check_after = None  # the person decides now, whatever looks remain
            if inbox[row.subject]:
                outbox.confirm_arrived(item, "bench")
                done["confirmed arrived"] += 1
            else:
                outbox.send_again(item)
                done["sent again"] += 1
        db.session.remove()
    return done


def final_report(rows, inbox: Counter, sent: Counter, settled: Counter) -> int:
    """The counts once a person settled the uncertain items: every mail once, one Sent copy."""
    lost = [row for row in rows if inbox[row.subject] == 0]
    doubled = [row for row in rows if inbox[row.subject] > 1]
    wrong_copies = [row for row in rows if inbox[row.subject] and sent[row.subject] != 1]
    states = Counter(row.state for row in rows)
    print(f"\nafter a person settled the uncertain items ({', '.join(f'{n} {what}' for what, n in settled.items())}):")
    print(f"  states: {', '.join(f'{state} {count}' for state, count in sorted(states.items()))}; "
          f"lost {len(lost)}, doubled {len(doubled)}, "
          f"Sent copies per delivered mail {sum(sent[row.subject] for row in rows if inbox[row.subject]) / max(1, len(rows) - len(lost)):.3f} "
          f"({len(wrong_copies)} with ≠ 1)")
    return 1 if lost or doubled or wrong_copies else 0


def final_dot_seconds(lines: list[dict]) -> float:
    """Seconds the attempts spent between the final dot and the server's answer (or their end)."""
    total = 0.0
    for line in lines:
        if line.get("reached") == "final_dot" and line.get("reached_at") and line.get("ended_at"):
            total += (datetime.fromisoformat(line["ended_at"]) - datetime.fromisoformat(line["reached_at"])).total_seconds()
    return total


def report(args, rows, inbox: Counter, sent: Counter, kills: int, seconds: float) -> int:
    items = len(rows)
    states = Counter(row.state for row in rows)
    delivered = [row for row in rows if inbox[row.subject] >= 1]
    lost = [row for row in rows if inbox[row.subject] == 0 and row.state != "uncertain"]
    doubled = [row for row in rows if inbox[row.subject] > 1]
    uncertain = [row for row in rows if row.state == "uncertain"]
    uncertain_delivered = [row for row in uncertain if inbox[row.subject]]
    sent_copies = sum(sent[row.subject] for row in delivered)
    wrong_copies = [row for row in delivered if sent[row.subject] != 1]
    lines = [line for row in rows for line in (row.attempt_history or [])]
    retried = sum(1 for line in lines if line.get("worker_vanished") and line.get("outcome") == "retry")
    found = sum(1 for line in lines if line.get("resolved") == "found_in_sent")
    share = 100.0 * len(uncertain) / items if items else 0.0
    outside_window = [row for row in uncertain
                      if not row.attempt_history or row.attempt_history[-1].get("reached") != "final_dot"]
    # A kill picks a worker at random: it lands in a final-dot window with the probability that
    # a worker is in one at that moment, so chance alone makes this many uncertain items.
    window_share = final_dot_seconds(lines) / (args.workers * seconds) if seconds else 0.0
    per_delivered = sent_copies / len(delivered) if delivered else 0.0
    table = [
        ("database", args.db),
        ("Sent folder filed by", "the outbox (IMAP)" if args.self_filed else "the provider (relay)"),
        ("mails / workers / lease", f"{items} / {args.workers} / {args.lease} s"),
        ("relay delay per reply", f"{args.delay} s"),
        ("kill -9 of a worker", f"{kills} in {seconds:.0f} s"),
        ("states", ", ".join(f"{state} {count}" for state, count in sorted(states.items()))),
        ("delivered (in INBOX)", f"{len(delivered)}"),
        ("lost", f"{len(lost)}"),
        ("doubled", f"{len(doubled)}"),
        ("Sent copies per delivered mail", f"{per_delivered:.3f} ({len(wrong_copies)} with ≠ 1)"),
        ("uncertain", f"{len(uncertain)} ({share:.1f} %), {len(uncertain_delivered)} of them delivered"),
        ("uncertain outside a final-dot window", f"{len(outside_window)}"),
        ("worker time in final-dot windows", (f"{100 * window_share:.1f} % → {kills * window_share:.1f} "
                                              f"of {kills} kills expected to hit one")),
        ("attempts retried after a kill", f"{retried}"),
        ("uncertain settled by the Sent folder", f"{found}"),
        ("attempt lines / attempts", f"{len(lines)} / {sum(row.attempts for row in rows)}"),
    ]
    width = max(len(name) for name, _ in table)
    print(f"{'send chaos':<{width}} | result")
    print(f"{'-' * width}-+-{'-' * 40}")
    for name, value in table:
        print(f"{name:<{width}} | {value}")
    met = not lost and not doubled and not wrong_copies and share <= 2.0 and states["failed"] == 0
    print(f"\ntarget (0 lost, 0 doubled, 1 Sent copy per delivered mail, uncertain ≤ 2 %): "
          f"{'met' if met else 'MISSED'}")
    return 0 if met else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--mails", type=int, default=60, help="mails to send (60; --full: 150)")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--lease", type=int, default=10, help="TRICOMA_MAIL_OUTBOX_LEASE_SECONDS (10)")
    parser.add_argument("--delay", type=float, default=0.4, help="seconds before each relay reply (0.4)")
    parser.add_argument("--kill-every", default="0.5:4", help="seconds between kills, MIN:MAX (0.5:4)")
    parser.add_argument("--max-seconds", type=float, default=900, help="give up draining after this long")
    parser.add_argument("--self-filed", action="store_true",
                        help="the provider does not file sent mail: the outbox files its own Sent copies")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--no-settle", dest="settle", action="store_false",
                        help="stop after the chaos (default: then play the person who settles uncertain items)")
    parser.add_argument("--full", action="store_true", help="the size of issue 17: 150 mails")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db-url", help=argparse.SUPPRESS)
    parser.add_argument("--cert", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker_main(args)
    if args.full:
        args.mails = 150
    low, _, high = args.kill_every.partition(":")
    args.kill_every = (float(low), float(high or low))
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
