#!/usr/bin/env python3
"""Login flood benchmark: how slow a logged-in user's page gets while others flood the login form
(issue 18, point 6; target: p95 during the flood ≤ 3× the quiet p95).

Usage::

    .venv/bin/python bench/login_flood.py [--requests 300] [--rate 100] [--connections 32]
                                          [--page /mail/] [--unbounded]

What it does (no mail stack needed):

1. builds the real app (host app + extension, CSRF on, production password hashing: scrypt,
   background jobs off) on a fresh, migrated SQLite database in a temporary folder, with one
   user, and ``HOSTAPP_TRUSTED_PROXIES=1`` so that a flood can come "from" many addresses
   through ``X-Forwarded-For``;
2. serves it from a child process with werkzeug's threaded server on a free loopback port;
3. logs in through the real form (with its CSRF token) and times GETs of ``--page`` over one
   keep-alive connection: the quiet figures (``--requests`` per row in all, measured in
   ``--rounds`` rounds of quiet, flood, flood, so that other load on the machine during the run
   touches every row alike);
4. starts a bounded flood in another child process: ``--connections`` keep-alive connections,
   together at most ``--rate`` login attempts per second, each with a wrong password (and a valid
   CSRF token, as a real attacker gets one), and times the page again while it runs. Two floods:
   *many addresses* (a new address and a new user name for every attempt: nothing is throttled,
   every attempt costs a password check, the worst case for the CPU) and *one address* (the
   throttle refuses it after a few attempts, before any hashing);
5. prints a table: page p50/p95 quiet and under each flood, the p95 ratio against the target,
   and what the flood got (attempts per second, answers by status). ``--unbounded`` adds the
   rows with the bound on concurrent password checks lifted, for comparison.

Progress goes to stderr; the report to stdout.
"""
from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PASSWORD = "bench-password-123"
TARGET_RATIO = 3.0
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the app --------------------------------------------------------------------------------------


def app_config(database_url: str, bounded: bool) -> dict:
    config = {
        "SECRET_KEY": "login-flood-bench",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "HOSTAPP_TRUSTED_PROXIES": 1,
        "TRICOMA_MAIL_LOAD_ENTRYPOINTS": False,
        "TRICOMA_MAIL_SYNC_INTERVAL": 0,  # no background thread competing with the measurement
        "TRICOMA_MAIL_OUTBOX_POLL_SECONDS": 0,
    }
    if not bounded:
        config.update({"HOSTAPP_LOGIN_HASH_CONCURRENCY": 1000, "HOSTAPP_LOGIN_HASH_QUEUE": 0})
    return config


def prepare_database(database_url: str) -> None:
    from hostapp import create_app
    from hostapp.cli import upgrade_database
    from hostapp.extensions import db
    from hostapp.models import User

    app = create_app(app_config(database_url, True))
    with app.app_context():
        upgrade_database()
        user = User(username="bench", display_name="Bench User", email="bench@example.test")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        db.engine.dispose()


def serve(database_url: str, bounded: bool, ports: multiprocessing.Queue) -> None:
    import logging

    from werkzeug.serving import make_server

    from hostapp import create_app

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = create_app(app_config(database_url, bounded))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    ports.put(server.port)
    server.serve_forever()


class Server:
    """The app in a child process on a loopback port."""

    def __init__(self, database_url: str, bounded: bool) -> None:
        ports: multiprocessing.Queue = multiprocessing.Queue()
        self.process = multiprocessing.Process(target=serve, args=(database_url, bounded, ports),
                                               daemon=True)
        self.process.start()
        self.port = ports.get(timeout=60)
        self.gate = "bounded" if bounded else "unbounded"

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(10)


# -- HTTP -----------------------------------------------------------------------------------------


class Browser:
    """One keep-alive connection with a cookie jar of one cookie (the session)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookie = ""
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, body: str | None = None,
                headers: dict | None = None) -> tuple[int, str]:
        headers = dict(headers or {})
        if self.cookie:
            headers["Cookie"] = self.cookie
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in range(2):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read().decode("utf-8", "replace")
                break
            except (http.client.HTTPException, ConnectionError):
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt:
                    raise
        for header, value in response.getheaders():
            if header.lower() == "set-cookie" and value.startswith("session="):
                self.cookie = value.split(";", 1)[0]
        return response.status, data

    def csrf_token(self) -> str:
        status, page = self.request("GET", "/login")
        match = TOKEN.search(page)
        if not match:
            raise RuntimeError(f"no CSRF token on the login page (HTTP {status})")
        return match.group(1)

    def log_in(self) -> None:
        token = self.csrf_token()
        status, _ = self.request("POST", "/login", urlencode(
            {"csrf_token": token, "username": "bench", "password": PASSWORD}))
        if status != 302:
            raise RuntimeError(f"the bench user could not log in (HTTP {status})")


def time_page(browser: Browser, page: str, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        status, _ = browser.request("GET", page)
        times.append(time.perf_counter() - started)
        if status != 200:
            raise RuntimeError(f"{page} answered HTTP {status}")
    return times


# -- the flood ------------------------------------------------------------------------------------


def flood(port: int, connections: int, rate: float, many_addresses: bool,
          stop: multiprocessing.Event, results: multiprocessing.Queue) -> None:
    """Login attempts from ``connections`` threads, together at most ``rate`` per second."""
    statuses: Counter = Counter()
    lock = threading.Lock()
    interval = connections / rate
    started = time.monotonic()

    def attacker(number: int) -> None:
        browser = Browser(port)
        token = browser.csrf_token()
        chance = random.Random(number)
        next_at = time.monotonic() + chance.random() * interval
        while not stop.is_set():
            pause = next_at - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            next_at = max(next_at + interval, time.monotonic())
            if many_addresses:
                address = f"10.{chance.randrange(256)}.{chance.randrange(256)}.{chance.randrange(1, 255)}"
                name = f"guess-{chance.getrandbits(40):x}"
            else:
                address, name = "10.66.66.66", f"guess-{chance.getrandbits(40):x}"
            try:
                status, _ = browser.request("POST", "/login", urlencode(
                    {"csrf_token": token, "username": name, "password": "wrong"}),
                    {"X-Forwarded-For": address})
            except OSError:
                status = "error"
            with lock:
                statuses[status] += 1

    threads = [threading.Thread(target=attacker, args=(number,), daemon=True) for number in range(connections)]
    for thread in threads:
        thread.start()
    stop.wait()
    for thread in threads:
        thread.join(70)
    results.put((dict(statuses), time.monotonic() - started))


class Flood:
    def __init__(self, port: int, connections: int, rate: float, many_addresses: bool) -> None:
        self.stop_event = multiprocessing.Event()
        self.results: multiprocessing.Queue = multiprocessing.Queue()
        self.process = multiprocessing.Process(
            target=flood, args=(port, connections, rate, many_addresses, self.stop_event, self.results),
            daemon=True)
        self.process.start()

    def stop(self) -> tuple[dict, float]:
        self.stop_event.set()
        statuses, seconds = self.results.get(timeout=120)
        self.process.join(10)
        return statuses, seconds


# -- the report -----------------------------------------------------------------------------------


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=100)[94]


def measure(database_url: str, args, bounded: bool) -> list[tuple]:
    """Quiet, then each flood, ``--rounds`` times over, so that a change in the machine's other
    load during the run touches every row alike."""
    server = Server(database_url, bounded)
    per_round = max(20, args.requests // args.rounds)
    loads = {"quiet": None, "flood, many addresses": True, "flood, one address": False}
    times: dict[str, list[float]] = {label: [] for label in loads}
    answers: dict[str, Counter] = {label: Counter() for label in loads}
    seconds: dict[str, float] = {label: 0.0 for label in loads}
    try:
        browser = Browser(server.port)
        browser.log_in()
        time_page(browser, args.page, 20)  # warm-up: templates, plugin hooks, connections
        for round_number in range(1, args.rounds + 1):
            for label, many in loads.items():
                log(f"[{server.gate}] round {round_number}/{args.rounds}: {per_round} × GET {args.page}, {label}")
                if many is None:
                    times[label] += time_page(browser, args.page, per_round)
                    continue
                running = Flood(server.port, args.connections, args.rate, many)
                time.sleep(args.warmup)
                times[label] += time_page(browser, args.page, per_round)
                statuses, flood_seconds = running.stop()
                answers[label].update(statuses)
                seconds[label] += flood_seconds
                time.sleep(1)  # let the last attempts drain
        return [(server.gate, label, times[label], dict(answers[label]) if loads[label] is not None else None,
                 seconds[label]) for label in loads]
    finally:
        server.stop()


def report(rows: list[tuple], args) -> bool:
    quiet_p95 = {gate: p95(times) for gate, label, times, *_ in rows if label == "quiet"}
    print()
    print(f"Logged-in page GET {args.page}: {args.requests} requests per row in {args.rounds} rounds, "
          "one keep-alive connection")
    print(f"Flood: {args.connections} connections, ≤ {args.rate:g} wrong logins/s; "
          f"password hashing: scrypt; CPUs: {os.cpu_count()}; Python {platform.python_version()}")
    print()
    header = f"| {'hash gate':<9} | {'load':<22} | {'p50 ms':>7} | {'p95 ms':>7} | {'p95 ratio':>9} | {'logins/s':>8} | answers |"
    print(header)
    print("|" + "|".join("-" * (len(part)) for part in header.split("|")[1:-1]) + "|")
    passed = True
    for gate, label, times, statuses, seconds in rows:
        ratio = p95(times) / quiet_p95[gate]
        attempts = sum(statuses.values()) / seconds if statuses else 0.0
        answers = ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items(), key=str)) \
            if statuses else "—"
        verdict = ""
        if statuses and gate == "bounded":
            ok = ratio <= TARGET_RATIO
            passed &= ok
            verdict = " PASS" if ok else " FAIL"
        print(f"| {gate:<9} | {label:<22} | {statistics.median(times) * 1000:7.1f} | "
              f"{p95(times) * 1000:7.1f} | {ratio:8.2f}×{verdict} | {attempts:8.1f} | {answers} |")
    print()
    print(f"Target: p95 during a flood ≤ {TARGET_RATIO:g}× the quiet p95 (bounded gate): "
          f"{'PASS' if passed else 'FAIL'}")
    return passed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="page requests per row")
    parser.add_argument("--rate", type=float, default=100.0, help="login attempts per second, at most")
    parser.add_argument("--connections", type=int, default=32, help="flood connections")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of quiet and flood rows")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of flood before timing")
    parser.add_argument("--page", default="/mail/", help="the logged-in page to time")
    parser.add_argument("--unbounded", action="store_true",
                        help="also measure with the bound on concurrent password checks lifted")
    args = parser.parse_args()
    multiprocessing.set_start_method("fork")
    with tempfile.TemporaryDirectory(prefix="login-flood-") as folder:
        database_url = "sqlite:///" + os.path.join(folder, "bench.sqlite")
        log(f"preparing the database in {folder}")
        prepare_database(database_url)
        rows = measure(database_url, args, bounded=True)
        if args.unbounded:
            rows += measure(database_url, args, bounded=False)
    return 0 if report(rows, args) else 1


if __name__ == "__main__":
    sys.exit(main())
