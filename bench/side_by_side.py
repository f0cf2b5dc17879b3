"""Side by side with Roundcube: web_bench.py's ``--roundcube`` mode.

Both clients read the same IMAP account on the same server (the peer's Dovecot with its 10,000
generated messages, ``../shared/peers/README.md``): one of our mailboxes is pointed at it, synced
and indexed, then every row is timed interleaved in one run (rep 1 of Roundcube, rep 1 of ours,
rep 2 …) with the requests Roundcube's own browser client makes (the peer's ``bench.py``) and the
requests our pages make, each checked before it counts. Ours is served by gunicorn (started here,
on a free port of 127.0.0.1), Roundcube by its nginx + php-fpm. Prints p50/p95 per row and the
ratio ours ÷ Roundcube of the medians; targets: ≤ 0.5 for the list and opening a message, ≤ 1.0
for opening a message the first time (against Roundcube's default open), and ≥ 1.0× Roundcube's
requests per second with 8 concurrent clients on the list.

Every row is timed through python-requests (the peer's client), whose own work per request
(1.5-2 ms here, printed per run: the proxy settings read from the environment, its cookie jar,
URL parsing) is the same for both servers and pulls a ratio towards 1. The opens are timed a second time through a
lean client (:class:`Lean`: ``http.client`` on one keep-alive connection, the same cookies and
headers, sessions of their own), whose ratio is the servers' cost per request: those rows carry
the target, the requests rows of the opens are information; the report says how much of each
open was python-requests' own.
"""
from __future__ import annotations

import http.client
import importlib.util
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from urllib.parse import urlencode, urlsplit

REPO = Path(__file__).resolve().parent.parent
PEER_BENCH = REPO.parent / "shared" / "peers" / "roundcube" / "bench.py"
PASSWORD = "bench-password"
APP_ENV = "TRICOMA_WEB_BENCH_APP"  # the JSON config gunicorn's workers build the app from
TARGET_RATIO = 0.5  # ours ÷ Roundcube with its caches, p50, for the list and the opens
TARGET_FIRST_OPEN = 1.0  # ours ÷ Roundcube's default open, p50, for a message opened the first time
TARGET_RPS_RATIO = 1.0  # ours ÷ Roundcube, requests per second with CONCURRENT clients
CONCURRENT = 8


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load_peer_bench(path: Path):
    """The peer's bench.py as a module (``RC``, ``prepare``, ``make_tests``, ``CAPS``)."""
    spec = importlib.util.spec_from_file_location("roundcube_bench", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ================================================================================================
# Our app under gunicorn
# ================================================================================================


def app_config(db_url: str, imap_host: str, imap_port: int) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SECRET_KEY": "web-bench-side-by-side",
        "HOSTAPP_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "TRICOMA_MAIL_LOAD_ENTRYPOINTS": False,
        "TRICOMA_MAIL_EXTRA_PLUGINS": ["tricoma_mail_v1_imap"],
        "TRICOMA_MAIL_ALLOWED_MAIL_SERVERS": [f"{imap_host}:{imap_port}"],
        "TRICOMA_MAIL_NETWORK_TIMEOUT": 300.0,
        "TRICOMA_MAIL_SYNC_INTERVAL": 0,  # nothing in the background competes with the timing
        "TRICOMA_MAIL_OUTBOX_POLL_SECONDS": 0,
        "TRICOMA_MAIL_SYNC_ON_FIRST_OPEN": False,
        "TRICOMA_MAIL_ARCHIVE_ENABLED": False,  # the journal plays no part in the pages timed here
    }


def gunicorn_app():
    """gunicorn's app factory (``side_by_side:gunicorn_app()``): the host app built from the
    config the bench put into the environment; the database is migrated already."""
    sys.path.insert(0, str(REPO))
    from hostapp import create_app

    return create_app(json.loads(os.environ[APP_ENV]))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """``gunicorn`` with ``workers`` processes of ``threads`` threads (gthread: keep-alive, like
    nginx in front of php-fpm) on a free port; stopped by its PID."""

    def __init__(self, config: dict, workers: int, threads: int) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, **{APP_ENV: json.dumps(config)})
        # open for gunicorn's lifetime, closed in stop()
        self.log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix="tricoma-web-bench-gunicorn-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
             "--threads", str(threads), "--worker-class", "gthread", "--keep-alive", "65",
             "--chdir", str(Path(__file__).resolve().parent), "side_by_side:gunicorn_app()"],
            cwd=str(REPO), env=env, stdout=self.log_file, stderr=subprocess.STDOUT)
        self.description = f"gunicorn, {workers} workers × {threads} threads (gthread)"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn stopped: {Path(self.log_file.name).read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start within 60 s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log_file.close()
        os.unlink(self.log_file.name)


class Ours:
    """One logged-in session on our app (the real login form with its CSRF token), over HTTP
    with keep-alive, like the peer's ``RC``."""

    def __init__(self, base: str, username: str) -> None:
        import requests

        self.base = base
        self.s = requests.Session()
        self.s.headers["Accept-Language"] = "de-DE,de;q=0.9"
        page = self.s.get(base + "/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        answer = self.s.post(base + "/login", data={"username": username, "password": PASSWORD, "csrf_token": token},
                             allow_redirects=False)
        if answer.status_code != 302:
            raise RuntimeError(f"login failed: {answer.status_code}")

    def get(self, path: str, expect: str | None = None):
        answer = self.s.get(self.base + path)
        if answer.status_code != 200 or (expect is not None and expect not in answer.text):
            raise RuntimeError(f"GET {path} answered {answer.status_code}: {answer.text[:300]!r}")
        return answer


class Lean:
    """One logged-in session (``session``: a requests.Session after its login, whose cookies and
    headers it takes) timed through ``http.client`` on one keep-alive connection: the thinnest
    client Python has. python-requests spends 1.5-2 ms of its own per request on this machine
    (the proxy settings read from the environment, its cookie jar, URL parsing): the same for
    both servers, it pulls every ratio towards 1. Set-Cookie answers update the cookies."""

    HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Accept-Language")

    def __init__(self, base: str, session) -> None:
        url = urlsplit(base)
        self.host, self.port, self.prefix = url.hostname, url.port or 80, url.path.rstrip("/")
        self.cookies = {cookie.name: cookie.value for cookie in session.cookies}
        self.headers = {name: session.headers[name] for name in self.HEADERS if name in session.headers}
        self.connection: http.client.HTTPConnection | None = None

    def get(self, path: str, expect: str) -> bytes:
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
            cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
            try:
                self.connection.request("GET", self.prefix + path, headers={**self.headers, "Cookie": cookie})
                answer = self.connection.getresponse()
                data = answer.read()
            except (OSError, http.client.HTTPException):
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
                continue  # the server closed the idle connection: once more on a new one
            for header in answer.headers.get_all("Set-Cookie") or ():
                name, _sep, value = header.split(";", 1)[0].partition("=")
                self.cookies[name.strip()] = value.strip()
            if answer.will_close:
                self.connection.close()
                self.connection = None
            if answer.getheader("Content-Encoding"):  # sent on as python-requests asks; never decoded here
                raise RuntimeError(f"GET {path} answered compressed ({answer.getheader('Content-Encoding')})")
            if answer.status != 200 or expect.encode() not in data:
                raise RuntimeError(f"GET {path} answered {answer.status}: {data[:300]!r}")
            return data
        raise AssertionError("unreachable")


# ================================================================================================
# Set-up: our mailbox on the peer's account
# ================================================================================================


def bench_mailbox(title: str, settings: dict):
    """In an app context: the bench's user "bench" and a mailbox with ``settings`` on which it
    holds every right."""
    from hostapp.extensions import db
    from hostapp.models import User
    from tricoma_mail_plugin.mailboxes import service
    from tricoma_mail_plugin.rights import access

    owner = User(username="bench", display_name="Bench", email="bench@example.test", language="de")
    owner.set_password(PASSWORD)
    db.session.add(owner)
    db.session.commit()
    mailbox = service.create_mailbox(title, owner)
    service.update_settings(mailbox, settings)
    for right in ("read", "write", "delete", "send", "manage"):
        access.grant(mailbox.id, "user", owner.id, right)
    db.session.commit()
    return mailbox


def set_up(app, imap_host: str, imap_port: int, user: str, password: str) -> tuple[int, list[str]]:
    """A user with every right on a mailbox of the peer's account; INBOX and Small synced and
    indexed, bodies of recent and unread mail prefetched as the background does."""
    from sqlalchemy import func, select

    from hostapp.extensions import db
    from tricoma_mail_plugin.cache import prefetch, search, sync
    from tricoma_mail_plugin.mailboxes.service import backend_for
    from tricoma_mail_plugin.models import CachedBody, CachedMessage, utcnow

    lines = []
    with app.app_context():
        mailbox = bench_mailbox("Roundcube-Konto", {
            "email": user, "imap_host": imap_host, "imap_port": imap_port, "imap_security": "none",
            "imap_username": user, "imap_password": password, "smtp_host": imap_host, "smtp_port": 25,
            "smtp_security": "none", "smtp_username": user, "smtp_password": password,
        })
        mailbox.last_test_ok = True  # the peer's Dovecot has no SMTP; IMAP is what is read here
        db.session.commit()
        started = time.perf_counter()
        with backend_for(mailbox) as backend:
            sync.sync_mailbox(mailbox, backend)
            synced = time.perf_counter() - started
            started = time.perf_counter()
            while search.index_pending(mailbox, backend):
                pass
            indexed = time.perf_counter() - started
            started = time.perf_counter()
            prefetched = prefetch.prefetch_bodies(mailbox, backend)
            prefetch_s = time.perf_counter() - started
        mailbox.last_sync_at = utcnow()
        db.session.commit()
        count = db.session.scalar(select(func.count()).select_from(CachedMessage))
        bodies = db.session.scalar(select(func.count()).select_from(CachedBody))
        lines.append(f"our mailbox on the peer's account: {count:,} messages synced in {synced:.2f} s, "
                     f"full-text index filled in {indexed:.2f} s, {prefetched} bodies of recent and unread "
                     f"mail prefetched in {prefetch_s:.2f} s ({bodies} bodies cached)")
        mailbox_id = mailbox.id
        db.session.remove()
    return mailbox_id, lines


def pk_by_uid(app, mailbox_id: int, folder: str = "INBOX") -> dict[int, int]:
    from sqlalchemy import select

    from hostapp.extensions import db
    from tricoma_mail_plugin.models import CachedFolder, CachedMessage

    with app.app_context():
        rows = db.session.execute(
            select(CachedMessage.uid, CachedMessage.id).join(CachedFolder, CachedFolder.id == CachedMessage.folder_id)
            .where(CachedFolder.mailbox_id == mailbox_id, CachedFolder.name == folder)).all()
        db.session.remove()
    return dict(rows)


def cached_body_pks(app) -> set[int]:
    from sqlalchemy import select

    from hostapp.extensions import db
    from tricoma_mail_plugin.models import CachedBody

    with app.app_context():
        found = set(db.session.scalars(select(CachedBody.message_pk)))
        db.session.remove()
    return found


# ================================================================================================
# Rows
# ================================================================================================


@dataclass
class Row:
    label: str
    target: float | None  # the highest ratio ours ÷ Roundcube that passes; None: information
    roundcube: Callable[[], object]
    ours: Callable[[], object]
    times: dict = field(default_factory=lambda: {"roundcube": [], "ours": []})
    note: str = ""


def open_ours(client: Ours, base: str, pk: int) -> None:
    """The reading view, and its body frame as the browser asks for it right after when the frame
    loads the body from the body route (a body above the inline limit; below it the page carries
    the body in the frame's ``srcdoc``: one request)."""
    page = client.get(f"{base}/messages/{pk}", 'class="mail-message"').text
    frame = re.search(r'<iframe class="mail-body" src="([^"]+)"', page)
    if frame:
        client.get(unescape(frame.group(1)), "<body>")


def open_ours_lean(client: Lean, base: str, pk: int) -> None:
    """:func:`open_ours` through the lean client."""
    page = client.get(f"{base}/messages/{pk}", 'class="mail-message"').decode()
    frame = re.search(r'<iframe class="mail-body" src="([^"]+)"', page)
    if frame:
        client.get(unescape(frame.group(1)), "<body>")


def median_ms(row: Row, client: str) -> float:
    return statistics.median(row.times[client]) * 1000


def rotating(values: list, action: Callable[[object], None]) -> Callable[[], None]:
    state = {"next": 0}

    def run() -> None:
        value = values[state["next"] % len(values)]
        state["next"] += 1
        action(value)
    return run


def run_rows(rows: list[Row], reps: int, warmup: int) -> None:
    for row in rows:
        log(f"{row.label} ...")
        for _ in range(warmup):
            row.roundcube()
            row.ours()
        for _ in range(reps):
            for name, action in (("roundcube", row.roundcube), ("ours", row.ours)):
                started = time.perf_counter()
                action()
                row.times[name].append(time.perf_counter() - started)


def requests_per_second(make_session: Callable[[], object], request: Callable[[object], None],
                        clients: int, seconds: float) -> tuple[float, int]:
    """``clients`` threads, each with its own logged-in session, asking as fast as answers come
    for ``seconds``; (requests per second, errors)."""
    sessions = [make_session() for _ in range(clients)]
    for session in sessions:
        request(session)  # warm: each session's first request
    counts, errors = [0] * clients, [0] * clients
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def work(index: int) -> None:
        start.wait()
        while time.perf_counter() < stop_at[0]:
            try:
                request(sessions[index])
                counts[index] += 1
            except Exception:  # noqa: BLE001 - counted, the run goes on
                errors[index] += 1

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - began), sum(errors)


# ================================================================================================
# Report
# ================================================================================================


def report(rows: list[Row], concurrency: list[tuple[str, float, int, float, int]], info: list[str],
           reps: int, warmup: int) -> bool:
    lines = []
    verdicts = []
    for row in rows:
        rc, ours = [t * 1000 for t in row.times["roundcube"]], [t * 1000 for t in row.times["ours"]]
        ratio = statistics.median(ours) / statistics.median(rc)
        verdict = "info"
        if row.target:
            ok = ratio <= row.target
            verdict = "PASS" if ok else "FAIL"
            verdicts.append(ok)
        lines.append((row.label, statistics.median(rc), percentile(rc, 95), statistics.median(ours), percentile(ours, 95), ratio,
                      f"≤ {row.target:.2f}" if row.target else "—", verdict))
    width = max(len(line[0]) for line in lines + [("concurrency",)])
    header = (f"{'row':<{width}} | {'Roundcube p50':>13} | {'p95':>7} | {'ours p50':>8} | {'p95':>7} | "
              f"{'ours÷RC':>7} | {'target':>6} | verdict")
    print()
    print(header)
    print("-" * len(header))
    for label, rc50, rc95, o50, o95, ratio, target, verdict in lines:
        print(f"{label:<{width}} | {rc50:>10.1f} ms | {rc95:>7.1f} | {o50:>5.1f} ms | {o95:>7.1f} | "
              f"{ratio:>6.2f}× | {target:>6} | {verdict}")
    if concurrency:
        print()
        header = (f"{'concurrency row':<{width}} | {'Roundcube req/s':>15} | {'errors':>6} | {'ours req/s':>10} | "
                  f"{'errors':>6} | {'ours÷RC':>7} | {'target':>6} | verdict")
        print(header)
        print("-" * len(header))
        for label, rc_rps, rc_errors, our_rps, our_errors in concurrency:
            ratio = our_rps / rc_rps if rc_rps else float("inf")
            ok = ratio >= TARGET_RPS_RATIO and not our_errors
            verdicts.append(ok)
            print(f"{label:<{width}} | {rc_rps:>15.1f} | {rc_errors:>6} | {our_rps:>10.1f} | {our_errors:>6} | "
                  f"{ratio:>6.2f}× | {'≥ ' + format(TARGET_RPS_RATIO, '.1f'):>6} | {'PASS' if ok else 'FAIL'}")
    print()
    print(f"{reps} timed reps per row after {warmup} warm-up reps, Roundcube and ours interleaved; "
          "times are client wall time (request sent → whole body read), keep-alive on.")
    print("Details:")
    for line in info:
        print("  " + line)
    print()
    print(f"Targets: {sum(verdicts)} PASS, {len(verdicts) - sum(verdicts)} FAIL")
    return all(verdicts)


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile ``q`` (0-100) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


# ================================================================================================
# Main of the mode
# ================================================================================================


def run(args) -> int:
    """web_bench.py --roundcube URL: see the module's docstring."""
    sys.path.insert(0, str(REPO))
    from hostapp import create_app
    from hostapp.cli import upgrade_database

    peer = load_peer_bench(Path(args.peer_bench))
    imap_host, _sep, imap_port = args.imap.partition(":")
    imap_port = int(imap_port or 143)
    workdir = Path(tempfile.mkdtemp(prefix="tricoma-web-bench-rc-"))
    db_url = args.database or "sqlite:///" + str(workdir / "side-by-side.sqlite")
    config = app_config(db_url, imap_host, imap_port)
    app = create_app(config)
    with app.app_context():
        upgrade_database()
    info = [(f"Roundcube: {args.roundcube} (list, opens, search), first open against {args.roundcube_default}; "
             f"IMAP account {args.imap_user} on {args.imap}; our database {db_url.split('?')[0]}")]
    mailbox_id, lines = set_up(app, imap_host, imap_port, args.imap_user, args.imap_password)
    info += lines
    uid_to_pk = pk_by_uid(app, mailbox_id)
    server = Gunicorn(config, args.workers, args.threads)
    info.append(f"ours served by {server.description} on {server.base}; Roundcube by nginx + php-fpm")
    try:
        return _measure(args, peer, server, app, mailbox_id, uid_to_pk, info)
    finally:
        server.stop()


def _measure(args, peer, server: Gunicorn, app, mailbox_id: int, uid_to_pk: dict[int, int], info: list[str]) -> int:
    rc = peer.RC(args.roundcube)
    peer.prepare(rc)
    rc_default = peer.RC(args.roundcube_default)
    peer.prepare(rc_default)
    tests, picked = peer.make_tests(rc)
    by_key = {key: fn for key, _label, fn in tests}
    ours = Ours(server.base, "bench")
    base = f"/mail/m/{mailbox_id}"

    # messages neither client opened yet, for the first-open rows: read mail of pages 2-4 of the
    # list (each client its own, alternating, so neither marks the other's read); the ones whose
    # body we prefetched are counted
    listed = peer.rows(peer.check_list(rc.ajax_get("list", {"_layout": "widescreen", "_mbox": "INBOX", "_page": 2})))
    for page in (3, 4):
        listed += peer.rows(peer.check_list(rc.ajax_get("list", {"_layout": "widescreen", "_mbox": "INBOX",
                                                                  "_page": page})))
    fresh = [int(uid) for uid, flags in listed if json.loads(flags).get("seen")]
    fresh_rc, fresh_ours = fresh[0::2], fresh[1::2]
    prefetched = cached_body_pks(app)
    first_reps = min(args.reps, len(fresh_ours), len(fresh_rc))
    info.append(f"first opens: {first_reps} read messages of list pages 2-4 per client, each opened once; "
                f"{sum(1 for uid in fresh_ours[:first_reps] if uid_to_pk[uid] in prefetched)} of ours had their "
                "body prefetched")

    def rc_preview(client, uid):
        r = client.get_page({"_task": "mail", "_caps": peer.CAPS, "_uid": uid, "_mbox": "INBOX", "_framed": 1,
                             "_action": "preview"})
        assert r.status_code == 200 and 'id="messagebody"' in r.text, (r.status_code, r.text[:300])

    def ours_search(query: str):
        return lambda: ours.get(f"{base}/search?folder=INBOX&{query}", '<table class="data messages">')

    rows = [
        Row("folder list: INBOX page 1 (RC list request ↔ our folder page)", TARGET_RATIO,
            lambda: by_key["list_p1"](rc), lambda: ours.get(f"{base}/", '<td class="subject">')),
        Row("folder list as JSON (RC list request ↔ our list API)", TARGET_RATIO,
            lambda: by_key["list_p1"](rc), lambda: ours.get(f"/api/mail/m/{mailbox_id}/messages?folder=INBOX",
                                                           '"messages"')),
    ]
    # The opens twice: through python-requests like every other row (information), and through the
    # lean client, whose ratio is the servers' (the target): each with a session of its own.
    lean_rc_session = peer.RC(args.roundcube)
    peer.prepare(lean_rc_session)
    lean_rc = Lean(args.roundcube, lean_rc_session.s)
    lean_ours = Lean(server.base, Ours(server.base, "bench").s)

    def rc_preview_path(uid) -> str:  # under the base URL's path (Lean puts it in front)
        return "/?" + urlencode(
            {"_task": "mail", "_caps": peer.CAPS, "_uid": uid, "_mbox": "INBOX", "_framed": 1, "_action": "preview"})

    for kind in ("html", "plain", "attach"):
        uid = int(picked[kind])
        rows.append(Row(f"open {kind} (RC preview ↔ our reading view [+ body frame]), uid {uid}", None,
                        lambda uid=uid: rc_preview(rc, uid), lambda uid=uid: open_ours(ours, base, uid_to_pk[uid])))
    for kind in ("html", "plain", "attach"):
        uid = int(picked[kind])
        rows.append(Row(f"open {kind}, lean client (http.client), uid {uid}", TARGET_RATIO,
                        lambda uid=uid: lean_rc.get(rc_preview_path(uid), 'id="messagebody"'),
                        lambda uid=uid: open_ours_lean(lean_ours, base, uid_to_pk[uid])))
    rows += [
        Row("search subject 'invoice'", None, lambda: by_key["search_subject"](rc), ours_search("subject=invoice")),
        Row("search body 'prototype'", None, lambda: by_key["search_body"](rc), ours_search("q=prototype")),
    ]
    run_rows(rows, args.reps, args.warmup)
    plain_requests = next(row for row in rows if row.label.startswith("open plain (RC preview"))
    plain_lean = next(row for row in rows if row.label.startswith("open plain, lean client"))
    info.append("python-requests' own cost per open of the plain message (its median minus the lean client's, "
                f"same message, same run): Roundcube {median_ms(plain_requests, 'roundcube') - median_ms(plain_lean, 'roundcube'):.1f} ms, "
                f"ours {median_ms(plain_requests, 'ours') - median_ms(plain_lean, 'ours'):.1f} ms")

    first = Row("first open of a read message (RC default config ↔ ours)", TARGET_FIRST_OPEN,
                rotating(fresh_rc[:first_reps], lambda uid: rc_preview(rc_default, uid)),
                rotating(fresh_ours[:first_reps], lambda uid: open_ours(ours, base, uid_to_pk[uid])))
    run_rows([first], first_reps, 0)
    rows.append(first)

    concurrency = []
    if args.concurrent_seconds:
        log(f"{CONCURRENT} concurrent clients on the folder list, {args.concurrent_seconds:.0f} s each ...")

        def rc_session():
            session = peer.RC(args.roundcube)
            peer.prepare(session)
            return session

        rc_rps, rc_errors = requests_per_second(rc_session, by_key["list_p1"], CONCURRENT, args.concurrent_seconds)
        our_rps, our_errors = requests_per_second(lambda: Ours(server.base, "bench"),
                                                  lambda s: s.get(f"{base}/", '<td class="subject">'),
                                                  CONCURRENT, args.concurrent_seconds)
        concurrency.append((f"{CONCURRENT} clients: folder list (RC list request ↔ our folder page)",
                            rc_rps, rc_errors, our_rps, our_errors))
    info.insert(0, f"{os.cpu_count()} CPUs; load average at the end {Path('/proc/loadavg').read_text().split()[:3]}")
    print(f"\nCommand: {' '.join([Path(sys.executable).name, *sys.argv])}")
    return 0 if report(rows, concurrency, info, args.reps, args.warmup) else 1
