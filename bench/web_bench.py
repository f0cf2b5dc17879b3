#!/usr/bin/env python3
"""Web benchmark: the v1 mail client's pages through the real app, against the targets of issue 7.

Usage::

    .venv/bin/python bench/web_bench.py [--requests 200] [--messages 10000] [--no-http] [--profile] [--keep]

What it does (against a mail stack of its own, never the demo's or the tests'):

1. starts ``scripts/mailstack.py``'s MailStack in /tmp/tricoma-mailstack-webbench (port offset
   700), provisions a fresh user and loads N messages into its INBOX (sync_bench's deterministic,
   realistic generator and its MULTIAPPEND loader; the messages are cached in
   /tmp/tricoma-bench-cache-<N>.pickle);
2. builds the real app (host app + extension, CSRF on, in-process background jobs off) on a fresh,
   migrated SQLite database, creates a user with every right on a mailbox of that account, and
   syncs the INBOX (timed);
3. fills the full-text index the way the background does, ``search.index_pending`` until
   nothing is left (timed);
4. picks messages of three kinds that are read already (text/plain, multipart/alternative, and
   multipart/mixed with an attachment and an HTML alternative) and caches their bodies;
5. logs in (the real login form, with its CSRF token) and, after a warm-up, times N requests of
   each: the first page and the 100th page of the folder list (page 100's URL found by following
   the keyset "next" links), opening a cached message of each kind (the reading view; when its
   sandboxed frame loads the body from the body route, a body above the inline limit, that route
   as the frame asks for it right after, timed as a row of its own), a subject search and a body
   search (full-text index). Opens rotate over 40 messages per kind, more than the in-process
   render cache holds, so each open parses and sanitizes (two rows show a repeated open);
6. does the same over real HTTP (werkzeug's threaded server in a thread, one keep-alive
   ``http.client`` connection, the session cookie of the login) unless ``--no-http``;
7. prints the table with p50/p95, the targets and Roundcube's figures, PASS/FAIL; for each target
   that fails (or with ``--profile``: for every row) a cProfile of the in-process requests, top 25
   by cumulative and by own time.

Progress goes to stderr; the report to stdout.

With ``--roundcube URL`` it runs side by side with Roundcube instead (``bench/side_by_side.py``):
one of our mailboxes on Roundcube's IMAP account, both timed interleaved in one run, the ratio
per row, and a row of 8 concurrent clients (ours under gunicorn, Roundcube under php-fpm)::

    .venv/bin/python bench/web_bench.py --roundcube http://127.0.0.1:8082/ [--reps 30] [--concurrent-seconds 20]
"""
from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import os
import platform
import pstats
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))

import side_by_side  # noqa: E402  (the --roundcube mode)
import sync_bench  # noqa: E402  (the generator and loader of the sync benchmark)

STATE_DIR = "/tmp/tricoma-mailstack-webbench"
PORT_OFFSET = 700
TEN_K = 10_000
WARMUP = 20
PER_KIND = 40
LIST_PAGE = 100
PASSWORD = "bench-password"
SUBJECT_WORD = "Reklamation"  # one topic of 22: ~450 subjects of 10k
BODY_WORD = "Lieferantenportal"  # in one paragraph of 16
RARE_SUBJECT = "Posten 112"  # info: a phrase a handful of subjects hold (a near full scan)
RARE_BODY = "Sendungsnummer"  # info: a second body word

# (target p95 ms, Roundcube 1.6.5 p95 ms) per kind of row, from issue 7
TARGETS = {
    "list": (15.0, 28.0),
    "open": (10.0, 10.0),
    "subject": (25.0, 49.0),
    "body": (100.0, 850.0),
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ================================================================================================
# Set-up: stack, messages, app, sync, index
# ================================================================================================


def message_kind(raw: bytes) -> str:
    head = raw.split(b"\r\n\r\n", 1)[0]
    if b"Content-Type: multipart/mixed" in head:
        return "attachment+html" if b"multipart/alternative" in raw else "attachment"
    if b"Content-Type: multipart/alternative" in head:
        return "alternative"
    return "plain"


def build_app(db_url: str, cert: str):
    from hostapp import create_app
    from hostapp.cli import upgrade_database

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SECRET_KEY": "web-bench-secret",
        "HOSTAPP_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "TRICOMA_MAIL_LOAD_ENTRYPOINTS": False,
        "TRICOMA_MAIL_EXTRA_PLUGINS": ("tricoma_mail_v1_imap",),
        "TRICOMA_MAIL_CA_FILE": cert,
        "TRICOMA_MAIL_ALLOWED_MAIL_SERVERS": ("127.0.0.1",),  # the local mail stack
        "TRICOMA_MAIL_NETWORK_TIMEOUT": 300.0,
        "TRICOMA_MAIL_SYNC_INTERVAL": 0,  # no background thread competing with the measurement
        "TRICOMA_MAIL_OUTBOX_POLL_SECONDS": 0,
    })
    with app.app_context():
        upgrade_database()
    return app


def make_mailbox(app, email: str, password: str, profile) -> int:
    with app.app_context():
        return side_by_side.bench_mailbox("Bench", {
            "email": email, "imap_host": "127.0.0.1", "imap_port": profile.imap_port,
            "imap_security": "starttls", "imap_username": email, "imap_password": password,
            "smtp_host": "127.0.0.1", "smtp_port": profile.smtp_port, "smtp_security": "starttls",
            "smtp_username": email, "smtp_password": password,
        }).id


def sync_and_index(app, mailbox_id: int, n: int) -> list[str]:
    from sqlalchemy import func, select

    from hostapp.extensions import db
    from tricoma_mail_plugin.cache import search
    from tricoma_mail_plugin.cache import sync
    from tricoma_mail_plugin.mailboxes.service import backend_for
    from tricoma_mail_plugin.models import CachedMessage, Mailbox

    lines = []
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        started = time.perf_counter()
        with backend_for(mailbox) as backend:
            sync.sync_mailbox(mailbox, backend, ["INBOX"])
        sync_s = time.perf_counter() - started
        cached = db.session.scalar(select(func.count()).select_from(CachedMessage))
        if cached != n:
            raise RuntimeError(f"sync cached {cached} messages, expected {n}")
        lines.append(f"initial sync of {n:,} messages into the SQLite cache: {sync_s:.2f} s")
        log(lines[-1])

        started, rounds, indexed = time.perf_counter(), 0, 0
        with backend_for(mailbox) as backend:
            while True:
                done = search.index_pending(mailbox, backend)
                if not done:
                    break
                rounds += 1
                indexed += done
        index_s = time.perf_counter() - started
        left = db.session.scalar(select(func.count()).select_from(CachedMessage).where(CachedMessage.indexed.is_(False)))
        lines.append(f"full-text index filled by index_pending: {indexed:,} messages in {index_s:.2f} s "
                     f"({indexed / index_s:,.0f} msg/s, {rounds} calls of up to 5,000; {left} left unindexed)")
        log(lines[-1])
        db.session.remove()
    return lines


def pick_and_cache(app, mailbox_id: int, kinds: dict[str, str]) -> dict[str, list[int]]:
    """``PER_KIND`` read messages of each kind (by Message-ID), their bodies cached."""
    from sqlalchemy import select

    from hostapp.extensions import db
    from tricoma_mail_plugin.cache import bodies
    from tricoma_mail_plugin.mailboxes.service import backend_for
    from tricoma_mail_plugin.models import CachedMessage, Mailbox

    picked: dict[str, list[int]] = {"plain": [], "alternative": [], "attachment+html": []}
    with app.app_context():
        rows = db.session.execute(select(CachedMessage.id, CachedMessage.message_id, CachedMessage.seen)
                                  .order_by(CachedMessage.id.desc())).all()
        for pk, message_id, seen in rows:
            kind = kinds.get(message_id)
            if seen and kind in picked and len(picked[kind]) < PER_KIND:
                picked[kind].append(pk)
        mailbox = db.session.get(Mailbox, mailbox_id)
        with backend_for(mailbox) as backend:
            for pks in picked.values():
                for pk in pks:
                    bodies.raw_message(mailbox, pk, backend)
        db.session.remove()
    for kind, pks in picked.items():
        if len(pks) < PER_KIND:
            raise RuntimeError(f"only {len(pks)} read messages of kind {kind}")
    return picked


# ================================================================================================
# Clients
# ================================================================================================


class InProcess:
    """The Flask test client: the whole app (WSGI, middleware, views, templates) without sockets."""

    name = "in-process"

    def __init__(self, app) -> None:
        self.client = app.test_client()
        login_page = self.client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
        response = self.client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token})
        if response.status_code != 302:
            raise RuntimeError(f"login failed: {response.status_code}")

    def get(self, url: str) -> tuple[int, bytes]:
        response = self.client.get(url)
        return response.status_code, response.get_data()


class OverHttp:
    """werkzeug's threaded server on 127.0.0.1 in a thread; one keep-alive HTTP/1.1 connection."""

    name = "HTTP"

    def __init__(self, app) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            def log_request(self, *args, **kwargs):  # no access log on stderr
                pass

        self.server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.headers = {"User-Agent": "tricoma-web-bench", "Accept-Language": "de-DE,de;q=0.9"}
        self.connection = http.client.HTTPConnection("127.0.0.1", self.server.server_port, timeout=60)
        # the real login form over HTTP: its CSRF token, then the session cookie it sets
        status, page = self.request("GET", "/login")
        token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
        body = urlencode({"username": "bench", "password": PASSWORD, "csrf_token": token})
        status, _page = self.request("POST", "/login", body,
                                     {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302:
            raise RuntimeError(f"login over HTTP failed: {status}")

    def request(self, method: str, url: str, body: str | None = None, extra: dict | None = None) -> tuple[int, bytes]:
        self.connection.request(method, url, body=body, headers=dict(self.headers, **(extra or {})))
        response = self.connection.getresponse()
        data = response.read()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie" and value.startswith("session="):
                self.headers["Cookie"] = value.split(";", 1)[0]
        if response.getheader("Connection", "").lower() == "close" or response.version == 10:
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.server.server_port, timeout=60)
        return response.status, data

    def get(self, url: str) -> tuple[int, bytes]:
        return self.request("GET", url)

    def close(self) -> None:
        self.connection.close()
        self.server.shutdown()
        self.thread.join(10)


# ================================================================================================
# Scenarios and timing
# ================================================================================================


@dataclass
class Row:
    label: str
    kind: str | None  # key of TARGETS, None for information rows
    urls: list[str]  # requests in order (rotating); a pair scenario uses "pairs" instead
    pairs: list[tuple[str, str]] | None = None  # (reading view, body route): the body timed as its own row
    body_label: str | None = None
    times: dict = field(default_factory=dict)  # client name -> [seconds]
    body_times: dict = field(default_factory=dict)
    note: str = ""


percentile = side_by_side.percentile


def follow_to_page(client: InProcess, first: str, page: int) -> str:
    url = first
    for _ in range(page - 1):
        status, data = client.get(url)
        found = re.search(rb'<a rel="next" href="([^"]+)"', data)
        if status != 200 or not found:
            raise RuntimeError(f"no next link after {url}")
        url = unescape(found.group(1).decode())
    return url


def check(status: int, data: bytes, url: str) -> None:
    if status != 200:
        raise RuntimeError(f"GET {url} answered {status}: {data[:300]!r}")


# A reading view whose frame loads the body from the route (a body above the inline limit)
FRAME_FROM_ROUTE = b'<iframe class="mail-body" src="'


def run_row(client, row: Row, n: int) -> None:
    times, body_times = [], []
    if row.pairs:
        for index in range(WARMUP + n):
            view, body = row.pairs[index % len(row.pairs)]
            started = time.perf_counter()
            status, data = client.get(view)
            middle = time.perf_counter()
            check(status, data, view)
            if index >= WARMUP:
                times.append(middle - started)
            if FRAME_FROM_ROUTE not in data:
                continue  # the page carried the body (srcdoc): the browser asks for nothing more
            status, data = client.get(body)
            ended = time.perf_counter()
            check(status, data, body)
            if index >= WARMUP:
                body_times.append(ended - middle)
        row.body_times[client.name] = body_times
    else:
        for index in range(WARMUP + n):
            url = row.urls[index % len(row.urls)]
            started = time.perf_counter()
            status, data = client.get(url)
            ended = time.perf_counter()
            check(status, data, url)
            if index >= WARMUP:
                times.append(ended - started)
    row.times[client.name] = times


def profile_row(client: InProcess, row: Row, n: int, title: str) -> str:
    profile = cProfile.Profile()
    urls = [u for pair in row.pairs for u in pair] if row.pairs else row.urls
    for url in urls[:WARMUP]:
        client.get(url)
    profile.enable()
    for index in range(n):
        client.get(urls[index % len(urls)])
    profile.disable()
    out = io.StringIO()
    out.write(f"\n===== cProfile: {title}, {n} in-process requests =====\n")
    for key in ("cumulative", "tottime"):
        out.write(f"\n--- top 25 by {key} ---\n")
        pstats.Stats(profile, stream=out).strip_dirs().sort_stats(key).print_stats(25)
    out.write("\n--- top 25 by cumulative, the project's own code and templates only ---\n")
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(r"/(tricoma_mail_plugin|hostapp)/", 25)
    return out.getvalue()


# ================================================================================================
# Report
# ================================================================================================


def report(rows: list[Row], clients: list[str], n: int, info: list[str]) -> list[tuple[Row, str, bool]]:
    lines = []
    verdicts: list[tuple[Row, str, bool]] = []
    for row in rows:
        for label, series, kind in ((row.label, row.times, row.kind), (row.body_label, row.body_times, row.kind)):
            if label is None:
                continue
            for client in clients:
                values = [v * 1000 for v in series.get(client, [])]
                if not values:
                    continue
                p50, p95 = statistics.median(values), percentile(values, 95)
                target, roundcube = TARGETS.get(kind, (None, None)) if kind else (None, None)
                verdict = "info"
                if target is not None:
                    ok = p95 <= target
                    verdict = "PASS" if ok else "FAIL"
                    verdicts.append((row, f"{label} [{client}]", ok))
                lines.append((label, client, p50, p95, statistics.fmean(values), max(values),
                              f"≤ {target:.0f}" if target else "—", f"{roundcube:.0f}" if roundcube else "—", verdict))
    width = max(len(line[0]) for line in lines)
    header = (f"{'request':<{width}} | {'client':<10} | {'p50 ms':>7} | {'p95 ms':>7} | {'mean':>7} | {'max':>7} | "
              f"{'target p95':>10} | {'Roundcube p95':>13} | verdict")
    print()
    print(header)
    print("-" * len(header))
    for label, client, p50, p95, mean, top, target, roundcube, verdict in lines:
        print(f"{label:<{width}} | {client:<10} | {p50:>7.2f} | {p95:>7.2f} | {mean:>7.2f} | {top:>7.2f} | "
              f"{target:>10} | {roundcube:>13} | {verdict}")
    print()
    print(f"{n} timed requests per row after {WARMUP} warm-up requests; p95 = nearest rank. Roundcube 1.6.5 "
          "(caches on, same Dovecot and machine, as quoted in issue 7): list 28 ms, open ~10 ms, subject search "
          "49 ms, body search 850 ms.")
    print("Details:")
    for line in info:
        print("  " + line)
    failed = [label for _row, label, ok in verdicts if not ok]
    print()
    print(f"Targets: {sum(ok for *_x, ok in verdicts)} PASS, {len(failed)} FAIL" + (f" ({'; '.join(failed)})" if failed else ""))
    return verdicts


# ================================================================================================
# Main
# ================================================================================================


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="timed requests per row (default 200)")
    parser.add_argument("--messages", type=int, default=TEN_K, help="messages in the folder (default 10,000)")
    parser.add_argument("--no-http", action="store_true", help="only in-process (Flask test client)")
    parser.add_argument("--profile", action="store_true", help="cProfile every row, not only failing ones")
    parser.add_argument("--keep", action="store_true", help="leave the stack, the user and the work dir in place")
    side = parser.add_argument_group("side by side with Roundcube (bench/side_by_side.py)")
    side.add_argument("--roundcube", metavar="URL", help="Roundcube with its caches, e.g. http://127.0.0.1:8082/: "
                      "time ours against it, interleaved, on its IMAP account")
    side.add_argument("--roundcube-default", metavar="URL", default="http://127.0.0.1:8081/",
                      help="Roundcube with Debian's defaults, for the first-open row")
    side.add_argument("--imap", default="127.0.0.1:13143", help="the IMAP server both read (host:port, plain)")
    side.add_argument("--imap-user", default="bench@example.test")
    side.add_argument("--imap-password", default="benchpass")
    side.add_argument("--peer-bench", default=str(side_by_side.PEER_BENCH), help="Roundcube's bench.py")
    side.add_argument("--reps", type=int, default=30, help="timed reps per row (default 30)")
    side.add_argument("--warmup", type=int, default=3)
    side.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1,
                      help="gunicorn workers (default 2 × CPUs + 1, gunicorn's advice)")
    side.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (default 1)")
    side.add_argument("--concurrent-seconds", type=float, default=20.0,
                      help=f"seconds of the {side_by_side.CONCURRENT}-client row per side (0: no such row)")
    side.add_argument("--database", help="our database URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    if args.roundcube:
        return side_by_side.run(args)

    from mailstack import MailStack

    n = args.messages
    info: list[str] = []
    stack = MailStack(STATE_DIR, port_offset=PORT_OFFSET)
    profile = stack.standard
    email = f"webbench-{uuid.uuid4().hex[:8]}@{profile.domain}"
    password = uuid.uuid4().hex
    workdir = Path(tempfile.mkdtemp(prefix="tricoma-web-bench-"))
    user_home = stack.paths(profile).mail_dir / profile.domain / email.split("@")[0]
    http_client = None
    try:
        started = time.perf_counter()
        fresh = stack.start()
        log(f"mail stack {'started' if fresh else 'already running'} in {time.perf_counter() - started:.1f} s "
            f"({STATE_DIR}, IMAP port {profile.imap_port})")
        stack.add_user(email, password, 1, quota_mb=1_000_000)

        started = time.perf_counter()
        messages, how = sync_bench.cached_messages(n)
        kinds = {}
        for raw, _when, _flags in messages:
            found = re.search(rb"\r\nMessage-ID: (<[^>]+>)", raw)
            kinds[found.group(1).decode()] = message_kind(raw)
        counts = {k: sum(1 for v in kinds.values() if v == k) for k in sorted(set(kinds.values()))}
        info.append(f"{n:,} messages ({how}, {time.perf_counter() - started:.1f} s): {counts}")
        log(info[-1])
        started = time.perf_counter()
        sync_bench.load_messages(profile, email, password, messages)
        del messages
        info.append(f"loaded into INBOX of {email} with MULTIAPPEND in {time.perf_counter() - started:.1f} s")
        log(info[-1])

        app = build_app("sqlite:///" + str(workdir / "web-bench.sqlite"), str(stack.cert))
        mailbox_id = make_mailbox(app, email, password, profile)
        info += sync_and_index(app, mailbox_id, n)
        picked = pick_and_cache(app, mailbox_id, kinds)
        info.append(f"opened messages: {PER_KIND} per kind, read already, bodies cached (ids "
                    + ", ".join(f"{k} {v[0]}…{v[-1]}" for k, v in picked.items()) + ")")

        client = InProcess(app)
        base = f"/mail/m/{mailbox_id}"
        first = f"{base}/"
        deep = min(LIST_PAGE, max(1, n // 50))  # page 100 of 10k; fewer pages in a smaller folder
        log(f"following the keyset links to page {deep} ...")
        page_100 = follow_to_page(client, first, deep)
        status, data = client.get(page_100)
        rows_on_page = data.count(b'<td class="subject">')
        info.append(f"page {deep} URL: {page_100} ({rows_on_page} rows)")

        def pairs(kind: str) -> list[tuple[str, str]]:
            return [(f"{base}/messages/{pk}", f"{base}/messages/{pk}/body") for pk in picked[kind]]

        def hits(url: str) -> int:
            return client.get(url)[1].count(b'<td class="subject">')

        subject_url = f"{base}/search?folder=INBOX&subject={SUBJECT_WORD}"
        body_url = f"{base}/search?folder=INBOX&q={BODY_WORD}"
        rare_subject_url = f"{base}/search?folder=INBOX&subject={RARE_SUBJECT.replace(' ', '+')}"
        rare_body_url = f"{base}/search?folder=INBOX&q={RARE_BODY}"
        rows = [
            Row(f"list: first page (50 of {n:,}, by date)", "list", [first]),
            Row(f"list: page {deep} (keyset cursor)", "list", [page_100]),
            Row("open text/plain: reading view", "open", [view for view, _body in pairs("plain")]),
            Row("open multipart/alternative: reading view", "open", [], pairs("alternative"),
                "open multipart/alternative: body route (frame)"),
            Row("open with attachment (+HTML): reading view", "open", [], pairs("attachment+html"),
                "open with attachment (+HTML): body route (frame)"),
            Row("open text/plain, same message again", None, [pairs("plain")[0][0]]),
            Row("open multipart/alternative, same message again", None, [], pairs("alternative")[:1],
                "  … its body route, same message again"),
            Row(f"search subject “{SUBJECT_WORD}” ({hits(subject_url)} shown)", "subject", [subject_url]),
            Row(f"search body “{BODY_WORD}” (FTS5, {hits(body_url)} shown)", "body", [body_url]),
            Row(f"search subject “{RARE_SUBJECT}” ({hits(rare_subject_url)} shown)", None, [rare_subject_url]),
            Row(f"search body “{RARE_BODY}” (FTS5, {hits(rare_body_url)} shown)", None, [rare_body_url]),
        ]
        clients: list = [client]
        if not args.no_http:
            http_client = OverHttp(app)
            clients.append(http_client)
        for each in clients:
            for row in rows:
                log(f"[{each.name}] {row.label} ...")
                run_row(each, row, args.requests)

        print(f"\nCommand: {' '.join([Path(sys.executable).name, *sys.argv])}")
        info.insert(0, f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs, "
                       f"Flask test client (in-process) and werkzeug threaded server + http.client keep-alive (HTTP); "
                       f"logged in as a user with every right; German UI; folder INBOX")
        verdicts = report(rows, [c.name for c in clients], args.requests, info)
        failing = {id(row): row for row, _label, ok in verdicts if not ok}
        to_profile = rows if args.profile else list(failing.values())
        for row in to_profile:
            print(profile_row(client, row, args.requests, row.label))
        return 0
    finally:
        if http_client is not None:
            http_client.close()
        if args.keep:
            log(f"--keep: stack running ({STATE_DIR}), user {email} / {password}, work dir {workdir}")
        else:
            try:
                stack.remove_user(email, 1)
            except Exception as exc:  # noqa: BLE001
                log(f"could not remove the user: {exc}")
            stack.stop()
            shutil.rmtree(user_home, ignore_errors=True)
            shutil.rmtree(workdir, ignore_errors=True)
            log("mail stack stopped; bench user, its mail and the database removed")


if __name__ == "__main__":
    sys.exit(main())
