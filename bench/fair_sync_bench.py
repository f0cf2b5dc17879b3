#!/usr/bin/env python3
"""Fair scheduling at scale: many mailboxes, two queue workers, and servers that are slow or
dead. Every mailbox on a healthy server must get its sync within two sync intervals, whatever
the slow and dead servers do (they hold up only their own mailboxes: at most
``TRICOMA_MAIL_SERVER_CONCURRENCY`` syncs per server at once, the network timeout, and a pause
for a server that did not answer).

Usage::

    .venv/bin/python bench/fair_sync_bench.py [--mailboxes 500] [--interval 120] [--periods 3]
        [--slow 20] [--dead 20] [--db sqlite|postgres]

What it runs, all on 127.0.0.1: the local mail stack (state /tmp/tricoma-mailstack-load, port
offset 900) with ten accounts of 20 messages each, which the healthy mailboxes share (a sync
lease is per mailbox, so two mailboxes of one account are two syncs), spread over eight "servers"
(loopback proxies to the one Dovecot, as an installation's mailboxes are spread over providers);
``--slow`` mailboxes behind
a proxy that delays every answer of the server by 0.3 s, ``--dead`` mailboxes on a port that
accepts connections and never answers (the network timeout is 5 s); Redis and two ``flask mail
worker`` processes of four job threads each, which also schedule (one sync per mailbox per
period); SQLite (default) or a
PostgreSQL schema of its own.

It runs ``--periods`` sync intervals after the first period began, then reads the job ledger:
for each healthy mailbox the time from the start to its first sync and the longest gap between
two syncs, in sync intervals. Target: at most 2 for every healthy mailbox. Prints a table; exit
code 1 when the target is missed.
"""
from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "scripts"), str(REPO / "tests"), str(REPO)]

import itertools

from cluster import Cluster, scratch_database
from mailstack import MailStack
from sqlalchemy import create_engine, select

from hostapp import create_app
from hostapp.cli import upgrade_database
from hostapp.extensions import db
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.models import JobRun, Mailbox

STACK_DIR = "/tmp/tricoma-mailstack-load"
PORT_OFFSET = 900  # the port band of this bench and of tests/test_cluster_live.py: run them one at a time
REDIS_URL = "redis://127.0.0.1:6379/0"
PASSWORD = "fair-bench-password"
ACCOUNTS = 10
SLOW_DELAY = 0.3
HEALTHY_SERVERS = 8


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class DeadServer:
    """Accepts TCP connections and never says a word (a server that hangs)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.held.append(connection)


class SlowProxy:
    """Forwards to the real IMAP server, holding each of the server's answers back a while."""

    def __init__(self, target_port: int, delay: float) -> None:
        self.target_port, self.delay = target_port, delay
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pipe, args=(client, server, 0.0), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, self.delay), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket, delay: float) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if delay:
                    time.sleep(delay)
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.close()
                except OSError:
                    pass


def provision(stack: MailStack, config: dict, args, healthy_ports: list[int], slow_port: int,
              dead_port: int) -> dict[str, list[int]]:
    profile = stack.profile(1)
    accounts = []
    for number in range(ACCOUNTS):
        email = f"fair{number}-{uuid.uuid4().hex[:6]}@{profile.domain}"
        stack.add_user(email, PASSWORD)
        stack.fill(email, PASSWORD, limit=20)
        accounts.append(email)
    groups: dict[str, list[int]] = defaultdict(list)
    app = create_app(dict(config))
    with app.app_context():
        upgrade_database()
        healthy = args.mailboxes - args.slow - args.dead
        kinds = ["healthy"] * healthy + ["slow"] * args.slow + ["dead"] * args.dead
        for number, kind in enumerate(kinds):
            email = accounts[number % ACCOUNTS]
            port = {"healthy": healthy_ports[number % len(healthy_ports)], "slow": slow_port, "dead": dead_port}[kind]
            mailbox = Mailbox(title=f"{kind} {number}", created_by="bench", folder_roles={}, last_test_steps=[])
            db.session.add(mailbox)
            db.session.flush()
            service.update_settings(mailbox, {
                "email": email, "imap_host": "127.0.0.1", "imap_port": port, "imap_security": "starttls",
                "imap_username": email, "imap_password": PASSWORD, "smtp_host": "127.0.0.1",
                "smtp_port": profile.smtp_port, "smtp_security": "starttls", "smtp_username": email,
                "smtp_password": PASSWORD})
            mailbox.last_test_ok = True  # the connection test itself is not what this measures
            groups[kind].append(mailbox.id)
        db.session.commit()
        db.engine.dispose()
    return groups


def measure(database_url: str, groups: dict[str, list[int]], start: float, end: float, interval: float) -> dict:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(select(JobRun.args, JobRun.finished_at, JobRun.last_error, JobRun.state)
                                  .where(JobRun.name == "sync")).all()
    engine.dispose()
    synced: dict[int, list[float]] = defaultdict(list)
    outcomes: dict[str, dict[str, int]] = {kind: defaultdict(int) for kind in groups}
    kind_of = {mailbox_id: kind for kind, ids in groups.items() for mailbox_id in ids}
    for args, finished, error, state in rows:
        kind = kind_of.get(args[0])
        if kind is None:
            continue
        word = "synced" if state == "done" and not error else (error or state).split(":")[0]
        outcomes[kind][word] += 1
        if word == "synced" and finished is not None:
            synced[args[0]].append(finished.timestamp())
    gaps = {}
    for mailbox_id in groups["healthy"]:
        times = sorted(t for t in synced[mailbox_id] if t <= end)
        points = [start, *times, end]
        gaps[mailbox_id] = max(b - a for a, b in itertools.pairwise(points)) / interval
    return {"gaps": gaps, "outcomes": outcomes, "synced": synced}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mailboxes", type=int, default=500)
    parser.add_argument("--interval", type=float, default=120)  # the default sync interval
    parser.add_argument("--periods", type=int, default=3)
    parser.add_argument("--slow", type=int, default=20)
    parser.add_argument("--dead", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="tricoma-fair-"))
    stack = MailStack(STACK_DIR, port_offset=PORT_OFFSET)
    stack.start()
    database_url, drop_database = scratch_database(args.db, work)
    prefix = f"tricoma-fair-{uuid.uuid4().hex[:6]}"
    config = {
        "SECRET_KEY": uuid.uuid4().hex, "SQLALCHEMY_DATABASE_URI": database_url,
        "TRICOMA_MAIL_REDIS_URL": REDIS_URL, "TRICOMA_MAIL_QUEUE_PREFIX": prefix,
        "TRICOMA_MAIL_SYNC_INTERVAL": args.interval, "TRICOMA_MAIL_OUTBOX_POLL_SECONDS": 0,
        "TRICOMA_MAIL_CLEANUP_INTERVAL": 0, "TRICOMA_MAIL_NETWORK_TIMEOUT": 5,
        "TRICOMA_MAIL_SERVER_CONCURRENCY": args.concurrency, "TRICOMA_MAIL_SERVER_PAUSE_SECONDS": args.interval,
        "TRICOMA_MAIL_CA_FILE": str(stack.cert), "TRICOMA_MAIL_ALLOWED_MAIL_SERVERS": "127.0.0.1",
    }
    dead, slow = DeadServer(), SlowProxy(stack.profile(1).imap_port, SLOW_DELAY)
    # healthy mailboxes spread over several servers (pass-through proxies to the one Dovecot),
    # as mailboxes of an installation are spread over providers
    healthy = [SlowProxy(stack.profile(1).imap_port, 0.0).port for _ in range(HEALTHY_SERVERS)]
    cluster = Cluster(database_url, {k: v for k, v in config.items() if k != "SQLALCHEMY_DATABASE_URI"}, work / "logs")
    try:
        say(f"provisioning {args.mailboxes} mailboxes ({args.slow} slow, {args.dead} dead)")
        groups = provision(stack, config, args, healthy, slow.port, dead.port)
        # the measurement starts with the first period the workers will see
        start = (int(time.time() // args.interval) + 1) * args.interval
        for number in (1, 2):
            cluster.start_worker(number)
        end = start + args.periods * args.interval
        say(f"two workers run {args.periods} periods of {args.interval:.0f} s")
        time.sleep(max(0.0, end - time.time()))
        result = measure(database_url, groups, start, end, args.interval)
    finally:
        cluster.stop_all()
        stack.stop()
        drop_database()
    return report(result, groups, args)


def report(result: dict, groups: dict[str, list[int]], args) -> int:
    gaps = sorted(result["gaps"].values())
    syncs = [len(result["synced"][mailbox_id]) for mailbox_id in groups["healthy"]]
    print(f"\nFair scheduling: {args.mailboxes} mailboxes ({len(groups['healthy'])} healthy, {args.slow} on a slow "
          f"server, {args.dead} on a dead one), 2 workers, sync interval {args.interval:.0f} s, "
          f"{args.periods} periods, {args.concurrency} syncs per server at once, {args.db}\n")
    print(f"| {'healthy mailboxes':<48} | {'value':>10} |\n|{'-' * 50}|{'-' * 12}|")
    for label, value in (
            ("longest wait for a sync, median (intervals)", f"{statistics.median(gaps):.2f}"),
            ("longest wait for a sync, worst mailbox (intervals)", f"{gaps[-1]:.2f}"),
            ("mailboxes that waited more than 2 intervals", sum(gap > 2 for gap in gaps)),
            ("syncs per mailbox, min / median", f"{min(syncs)} / {statistics.median(syncs):.0f}")):
        print(f"| {label:<48} | {value!s:>10} |")
    print(f"\n| {'mailboxes':<10} | {'job outcomes (whole run)':<70} |\n|{'-' * 12}|{'-' * 72}|")
    for kind, outcomes in result["outcomes"].items():
        shown = ", ".join(f"{word}: {count}" for word, count in sorted(outcomes.items()))
        print(f"| {kind:<10} | {shown[:70]:<70} |")
    passed = gaps[-1] <= 2
    print(f"\n{'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
