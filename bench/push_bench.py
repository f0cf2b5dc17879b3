#!/usr/bin/env python3
"""Push benchmark: how fast a delivered mail shows in an open v2 page's event stream, and what
one watcher process costs holding 1,000 IDLE connections.

Usage::

    .venv/bin/python bench/push_bench.py [--connections 1000] [--samples 20] [--keep]

What it does (against a mail stack of its own: /tmp/tricoma-push-bench, port offset 1155, with
profile 3 "push", whose Dovecot allows thousands of connections; the other profiles unchanged):

1. provisions ``--connections`` accounts on profile 3 and one sender, and as many v2 mailboxes
   in a fresh, migrated SQLite database (IMAP without TLS on loopback, so Dovecot does not keep
   a TLS proxy process per connection);
2. light load: one mailbox marked v2; the watcher runs as its own process
   (``flask v2-hosted watch``, the CLI); ``--samples`` mails are submitted over SMTP, each timed
   from the start of the SMTP submission until the page's event stream
   (``GET /mail/v2/api/m/<id>/events``, read through the app's test client as a browser's
   EventSource would) reports the change;
3. full load: every mailbox marked v2, the watcher restarted; once it IDLEs on all of them, its
   RSS and the same latency (mail to one of the watched mailboxes, others idle);
4. prints the table, with Roundcube's default 60 s poll as a quoted (not measured) reference:
   a mail waits for the next poll, uniformly 0-60 s.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

from mailstack import MailStack

STATE_DIR = "/tmp/tricoma-push-bench"
PORT_OFFSET = 1155  # port numbers that no stack at a multiple of 100 uses
SECRET = "push-bench-secret"
PASSWORD = "bench-password"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def app_config(db_url: str, cert: str) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SECRET_KEY": SECRET,
        # no periodic sync of the 1,000 mailboxes in the bench's process: only push is measured
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "HOSTAPP_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "TRICOMA_MAIL_LOAD_ENTRYPOINTS": False,
        "TRICOMA_MAIL_EXTRA_PLUGINS": ["tricoma_mail_v1_imap", "tricoma_mail_v2_hosted"],
        "TRICOMA_MAIL_CA_FILE": cert,
        "TRICOMA_MAIL_ALLOWED_MAIL_SERVERS": ["127.0.0.1"],
        "TRICOMA_MAIL_V2_PUSH": "process",  # the watcher is the CLI process, not the web app
    }


def build_app(config: dict):
    from hostapp import create_app
    from hostapp.cli import upgrade_database
    from hostapp.extensions import db

    app = create_app(config)
    with app.app_context():
        upgrade_database()
        db.engine.dispose()
    return app


def provision(app, stack: MailStack, count: int) -> tuple[list[int], dict]:
    """``count`` accounts and v2-ready mailboxes (test passed), plus the user "bench"."""
    from hostapp.extensions import db
    from hostapp.models import User
    from tricoma_mail_plugin.mailboxes import service
    from tricoma_mail_plugin.models import Mailbox
    from tricoma_mail_plugin.rights import access

    profile = stack.profile(3)
    accounts = []
    for n in range(count):
        email, password = f"w{n:04d}-{uuid.uuid4().hex[:6]}@{profile.domain}", uuid.uuid4().hex
        stack.add_user(email, password, 3)
        accounts.append((email, password))
    sender = (f"sender-{uuid.uuid4().hex[:6]}@{profile.domain}", uuid.uuid4().hex)
    stack.add_user(*sender, 3)
    with app.app_context():
        user = User(username="bench", display_name="Bench", email="bench@example.test", language="en")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        ids = []
        for email, password in accounts:
            mailbox = service.create_mailbox(email, user)
            service.update_settings(mailbox, {
                "email": email, "imap_host": "127.0.0.1", "imap_port": profile.imap_port, "imap_security": "none",
                "imap_username": email, "imap_password": password, "smtp_host": "127.0.0.1",
                "smtp_port": profile.smtp_port, "smtp_security": "starttls", "smtp_username": email,
                "smtp_password": password})
            mailbox.last_test_ok = True  # the same server for all: one test below stands for them
            ids.append(mailbox.id)
        db.session.commit()
        first = db.session.get(Mailbox, ids[0])
        first.last_test_ok = None
        assert service.run_test(first) and first.last_test_ok, "the push profile's IMAP does not answer"
        access.grant(ids[0], "user", user.id, "read")
    return ids, {"accounts": dict(zip(ids, accounts)), "sender": sender, "profile": profile}


def mark(app, mailbox_ids: list[int]) -> None:
    from tricoma_mail_v2_hosted import marks

    with app.app_context():
        for mailbox_id in mailbox_ids:
            marks.mark(mailbox_id, "cli")


class WatcherProcess:
    """``flask v2-hosted watch`` as a child process with the bench's config in its environment."""

    STATUS = re.compile(r"status watching=(\d+) idling=(\d+) polling=(\d+) reconnects=(\d+) changes=(\d+)")

    def __init__(self, config: dict) -> None:
        env = dict(os.environ)
        for key, value in config.items():
            env[f"HOSTAPP_{key}"] = json.dumps(value) if not isinstance(value, str) else value
        self.process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "flask"), "--app", "hostapp", "v2-hosted", "watch", "--no-catch-up",
             "--status-every", "1"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.status = {"watching": 0, "idling": 0, "polling": 0, "reconnects": 0, "changes": 0}
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stderr:
            found = self.STATUS.search(line)
            if found:
                self.status = dict(zip(self.status, map(int, found.groups())))
            elif "ERROR" in line or "Traceback" in line:
                log("watcher: " + line.rstrip())

    def wait_idling(self, count: int, timeout: float) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.status["idling"] >= count:
                return time.monotonic() - started
            if self.process.poll() is not None:
                raise RuntimeError("the watcher process ended")
            time.sleep(0.2)
        raise RuntimeError(f"only {self.status['idling']} of {count} connections IDLE after {timeout} s")

    def rss_mb(self) -> float:
        text = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", text).group(1)) / 1024

    def threads(self) -> int:
        return int(re.search(r"Threads:\s+(\d+)", Path(f"/proc/{self.process.pid}/status").read_text()).group(1))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()


class EventStream:
    """The page's event stream as a browser's EventSource reads it, through the app's test
    client (read in the calling thread: the stream runs in the request's context)."""

    def __init__(self, app, mailbox_id: int) -> None:
        self.client = app.test_client()
        response = self.client.post("/login", data={"username": "bench", "password": PASSWORD})
        assert response.status_code == 302, response.status_code
        self.response = self.client.get(f"/mail/v2/api/m/{mailbox_id}/events?seconds=3600", buffered=False)
        assert self.response.status_code == 200, self.response.status_code
        self.chunks = iter(self.response.response)

    def next_new_mail(self, timeout: float = 20.0) -> float | None:
        """Block until an event says new mail arrived: the moment it was read, or ``None`` after
        ``timeout`` (checked at each event or keep-alive line, at least every 15 s)."""
        deadline = time.perf_counter() + timeout
        for chunk in self.chunks:
            text = chunk.decode() if isinstance(chunk, bytes) else chunk
            if text.startswith("event: folders") and "new" in json.loads(text.split("data: ", 1)[1])["changes"]:
                return time.perf_counter()
            if time.perf_counter() > deadline:
                return None
        raise RuntimeError("the event stream ended")


def submit(profile, sender: tuple[str, str], to: str, n: int) -> None:
    import smtplib
    import ssl

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender[0], to, f"Push sample {n}"
    message["Message-ID"] = make_msgid(domain="push.test")
    message.set_content("sample\n")
    with smtplib.SMTP("127.0.0.1", profile.smtp_port, timeout=30) as smtp:
        smtp.starttls(context=ssl._create_unverified_context())
        smtp.login(*sender)
        smtp.send_message(message)


def measure(stream: EventStream, profile, sender, to: str, samples: int) -> list[float]:
    """Submit one mail at a time from a thread and wait for its event in this one."""
    latencies = []
    for n in range(samples):
        submitted = {}

        def send(n=n, submitted=submitted) -> None:
            time.sleep(0.5)  # the stream is being read when the mail goes out
            submitted["at"] = time.perf_counter()
            submit(profile, sender, to, n)

        thread = threading.Thread(target=send)
        thread.start()
        arrived = stream.next_new_mail()
        thread.join()
        if arrived is None:
            log(f"sample {n}: no event within 20 s (a miss)")
            continue
        latencies.append(arrived - submitted["at"])
    return latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="leave the mail stack running")
    args = parser.parse_args()

    stack = MailStack(STATE_DIR, PORT_OFFSET, push_profile=True)
    stack.stop()
    stack.destroy()
    log("starting the mail stack with the push profile")
    stack.start()
    workdir = Path(tempfile.mkdtemp(prefix="push-bench-"))
    config = app_config(f"sqlite:///{workdir / 'bench.sqlite'}", str(stack.cert))
    rows = []
    try:
        app = build_app(config)
        log(f"provisioning {args.connections} accounts and mailboxes")
        ids, world = provision(app, stack, args.connections)
        target = ids[0]
        to = world["accounts"][target][0]

        mark(app, [target])
        watcher = WatcherProcess(config)
        connect = watcher.wait_idling(1, 60)
        stream = EventStream(app, target)
        log("light load: 1 IDLE connection")
        light = measure(stream, world["profile"], world["sender"], to, args.samples)
        rows.append(("ours, 1 mailbox watched", args.samples, light, watcher.rss_mb(), watcher.threads(), connect))
        watcher.stop()

        mark(app, ids)
        watcher = WatcherProcess(config)
        log(f"full load: waiting for {len(ids)} IDLE connections")
        connect = watcher.wait_idling(len(ids), 300)
        time.sleep(4)
        log(f"full load: {watcher.status}")
        loaded = measure(stream, world["profile"], world["sender"], to, args.samples)
        rows.append((f"ours, {len(ids)} mailboxes watched", args.samples, loaded, watcher.rss_mb(), watcher.threads(),
                     connect))
        watcher.stop()
    finally:
        if not args.keep:
            stack.stop()

    print()
    print("Delivery (SMTP submission) -> change in the v2 page's event stream")
    print(f"{'setup':<34} {'n':>3} {'seen':>4} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9} {'RSS MB':>8} {'threads':>8} "
          f"{'all IDLE after s':>17}")
    for name, count, values, rss, threads, connect in rows:
        print(f"{name:<34} {count:>3} {len(values):>4} {statistics.median(values) * 1000:>9.0f} {percentile(values, 0.95) * 1000:>9.0f} "
              f"{max(values) * 1000:>9.0f} {rss:>8.1f} {threads:>8} {connect:>17.1f}")
    print(f"{'Roundcube, 60 s poll (quoted)':<34} {'-':>3} {'-':>4} {30000:>9} {57000:>9} {60000:>9} {'-':>8} {'-':>8} {'-':>17}")
    print("  (Roundcube's default refresh_interval is 60 s: a new mail waits for the next poll,\n"
          "   uniformly 0-60 s, so p50 = 30 s and p95 = 57 s; a reference, not measured here)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
