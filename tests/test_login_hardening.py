"""Logins and sessions that hold up against an attacker with a normal account (issue 18, points
1 to 7): no lockout of others, failures counted per address over a window, sessions the server
ends, no name enumeration by timing, bounded input and bounded hashing, translated Flask-Login
messages, secure cookies, HSTS and no caching of signed-in pages."""
from __future__ import annotations

import importlib
import re
import statistics
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import werkzeug.security
from app_fixtures import PASSWORD, login
from sqlalchemy import select

import hostapp
from hostapp import login_throttle
from hostapp.extensions import db
from hostapp.models import LoginThrottle, User, utcnow

DOCS = Path(__file__).resolve().parent.parent / "docs" / "security.md"


def attempt(client, username: str, password: str, address: str = "192.0.2.1"):
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def waited_seconds(response) -> int:
    match = re.search(r"wait (\d+) seconds", response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)
    return int(match.group(1))


def throttle_rows(app) -> list[LoginThrottle]:
    with app.app_context():
        return list(db.session.scalars(select(LoginThrottle)))


@pytest.fixture
def hash_calls(monkeypatch) -> list[str]:
    """Every password hash werkzeug computes (a check of a stored hash included)."""
    calls: list[str] = []
    original = werkzeug.security._hash_internal

    def counting(method, salt, password):
        calls.append(method)
        return original(method, salt, password)

    monkeypatch.setattr(werkzeug.security, "_hash_internal", counting)
    return calls


class Clock:
    """``utcnow`` of the throttle and the sessions, moved forward by the test."""

    def __init__(self, monkeypatch) -> None:
        self.offset = timedelta()
        for name in ("hostapp.login_throttle", "hostapp.login_sessions"):
            try:
                module = importlib.import_module(name)
            except ImportError:  # a host without it: what the tests check fails instead
                continue
            monkeypatch.setattr(module, "utcnow", lambda: utcnow() + self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return Clock(monkeypatch)


# -- 1. lockout is no weapon ------------------------------------------------------------------------


def test_guessing_from_many_addresses_does_not_lock_out_the_users_device(app, make_user):
    make_user("ulla", language="en")
    device = app.test_client()
    assert attempt(device, "ulla", PASSWORD, "203.0.113.7").status_code == 302
    device.post("/logout")
    for number in range(40):  # a botnet: a new address for every guess
        assert attempt(app.test_client(), "ulla", "wrong", f"198.51.100.{number}").status_code in (401, 429)
    # The real user, on the device she used before, from any address: straight in.
    assert attempt(device, "ulla", PASSWORD, "203.0.113.99").status_code == 302


def test_a_new_device_waits_only_a_short_delay_for_a_guessed_name(app, make_user):
    make_user("ulla", language="en")
    for number in range(40):
        attempt(app.test_client(), "ulla", "wrong", f"198.51.100.{number}")
    response = attempt(app.test_client(), "ulla", PASSWORD, "203.0.113.8")
    if response.status_code == 429:
        assert waited_seconds(response) <= app.config["HOSTAPP_LOGIN_NAME_MAX_WAIT_SECONDS"] <= 60
        assert int(response.headers["Retry-After"]) <= app.config["HOSTAPP_LOGIN_NAME_MAX_WAIT_SECONDS"]
    else:
        assert response.status_code == 302


def test_one_address_guessing_many_names_is_slowed_and_others_are_not(app, make_user):
    make_user("ulla", language="en")
    statuses = [attempt(app.test_client(), f"victim{number}", "wrong", "198.51.100.1").status_code
                for number in range(app.config["HOSTAPP_LOGIN_FREE_ATTEMPTS_PER_ADDRESS"] + 2)]
    assert statuses[-1] == 429 and statuses.count(401) == app.config["HOSTAPP_LOGIN_FREE_ATTEMPTS_PER_ADDRESS"] + 1
    assert attempt(app.test_client(), "ulla", PASSWORD, "198.51.100.2").status_code == 302


def test_one_name_from_one_address_is_slowed_even_on_a_known_device(app, make_user):
    make_user("ulla", language="en")
    thief = app.test_client()
    assert attempt(thief, "ulla", PASSWORD).status_code == 302  # the device cookie is now there
    thief.post("/logout")
    statuses = [attempt(thief, "ulla", "wrong").status_code
                for _ in range(app.config["HOSTAPP_LOGIN_FREE_ATTEMPTS"] + 2)]
    assert statuses[-1] == 429


def test_a_forged_device_cookie_is_not_a_known_device(app, make_user):
    make_user("ulla", language="en")
    for number in range(40):
        attempt(app.test_client(), "ulla", "wrong", f"198.51.100.{number}")
    forger = app.test_client()
    forger.set_cookie("hostapp_device", "W10.forged.signature", path="/login")
    first = attempt(forger, "ulla", PASSWORD, "203.0.113.9")
    assert first.status_code == 429


def test_docs_say_what_an_attacker_can_and_cannot_do():
    text = DOCS.read_text(encoding="utf-8")
    assert "can" in text and "cannot" in text
    for key in hostapp.DEFAULTS:
        if key.startswith(("HOSTAPP_LOGIN_", "HOSTAPP_SESSION_", "HOSTAPP_KNOWN_DEVICE", "HOSTAPP_BEHIND_TLS",
                           "HOSTAPP_HSTS", "HOSTAPP_TRUSTED_PROXIES")):
            assert f"`{key}`" in text, key


# -- 2. failures per address over a window --------------------------------------------------------


def test_the_attackers_own_logins_do_not_reset_the_count_of_his_address(make_app, make_user):
    app = make_app(HOSTAPP_LOGIN_FREE_ATTEMPTS_PER_ADDRESS=4)
    make_user("mallory", language="en")
    attacker = app.test_client()
    guesses = []
    for number in range(8):
        guesses.append(attempt(attacker, f"victim{number}", "wrong", "198.51.100.66").status_code)
        assert attempt(attacker, "mallory", PASSWORD, "198.51.100.66").status_code == 302
        attacker.post("/logout")
    assert guesses[:5] == [401] * 5 and set(guesses[5:]) == {429}


def test_failures_are_forgotten_after_a_quiet_window(make_app, clock):
    app = make_app(HOSTAPP_LOGIN_FREE_ATTEMPTS_PER_ADDRESS=4, HOSTAPP_LOGIN_WINDOW_SECONDS=600)
    for number in range(4):
        assert attempt(app.test_client(), f"name{number}", "wrong").status_code == 401
    clock.advance(601)
    statuses = [attempt(app.test_client(), f"other{number}", "wrong").status_code for number in range(5)]
    assert statuses == [401] * 5  # counted from zero again: 4 free, the 5th sets the first wait
    assert attempt(app.test_client(), "another", "wrong").status_code == 429


# -- 3. sessions the server ends ------------------------------------------------------------------


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def replay(app, cookie: str):
    client = app.test_client()
    client.set_cookie("session", cookie)
    return client


def test_a_replayed_cookie_after_logout_opens_nothing(app, make_user):
    make_user("ulla", language="en")
    client = app.test_client()
    assert login(client, "ulla").status_code == 302
    assert client.get("/mail/").status_code == 200
    cookie = session_cookie(client)
    assert replay(app, cookie).get("/").status_code == 200  # the copy works while logged in
    assert client.post("/logout").status_code == 302
    stolen = replay(app, cookie)
    for path in ("/", "/mail/", "/mail/outbox/", "/api/mail/addresses?q=ex"):
        response = stolen.get(path)
        assert response.status_code in (302, 401), path
        assert "Ulla" not in response.get_data(as_text=True)


def test_a_password_change_ends_every_session(app, make_user):
    user = make_user("ulla", language="en")
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, "ulla")
    login(phone, "ulla")
    with app.app_context():
        db.session.get(User, user.id).set_password("ein-ganz-neues-passwort")
        db.session.commit()
    assert laptop.get("/").status_code == 302 and phone.get("/").status_code == 302
    assert login(app.test_client(), "ulla", "ein-ganz-neues-passwort").status_code == 302


def test_an_admin_signs_a_user_out_everywhere(app, make_user, admin_client):
    user = make_user("ulla", language="en")
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, "ulla")
    login(phone, "ulla")
    assert laptop.post(f"/admin/users/{user.id}/sign-out").status_code == 403
    overview = admin_client.get("/admin/").get_data(as_text=True)
    assert "Sign out everywhere" in overview
    response = admin_client.post(f"/admin/users/{user.id}/sign-out", follow_redirects=True)
    assert "ulla is signed out everywhere (2 sessions ended)." in response.get_data(as_text=True)
    assert laptop.get("/").status_code == 302 and phone.get("/").status_code == 302
    assert admin_client.get("/").status_code == 200  # the admin's own session goes on


def test_a_session_ends_after_the_idle_timeout(make_app, make_user, clock):
    app = make_app(HOSTAPP_SESSION_IDLE_SECONDS=600, HOSTAPP_SESSION_MAX_SECONDS=7200)
    make_user("ulla", language="en")
    client = app.test_client()
    login(client, "ulla")
    for _ in range(3):  # busy: every request moves the idle deadline
        clock.advance(400)
        assert client.get("/").status_code == 200
    clock.advance(601)
    assert client.get("/").status_code == 302
    assert client.get("/").status_code == 302  # and stays ended


def test_a_session_ends_after_the_absolute_timeout_however_busy(make_app, make_user, clock):
    app = make_app(HOSTAPP_SESSION_IDLE_SECONDS=600, HOSTAPP_SESSION_MAX_SECONDS=1000)
    make_user("ulla", language="en")
    client = app.test_client()
    login(client, "ulla")
    clock.advance(500)
    assert client.get("/").status_code == 200
    clock.advance(450)
    assert client.get("/").status_code == 200
    clock.advance(100)
    assert client.get("/").status_code == 302


def test_timeouts_are_read_from_the_environment(monkeypatch, tricoma_mail_config):
    monkeypatch.setenv("HOSTAPP_SESSION_IDLE_SECONDS", "123")
    monkeypatch.setenv("HOSTAPP_PREFERRED_URL_SCHEME", "https")
    app = hostapp.create_app({key: value for key, value in tricoma_mail_config.items()})
    assert app.config["HOSTAPP_SESSION_IDLE_SECONDS"] == 123
    assert app.config["HOSTAPP_BEHIND_TLS"] is True and app.config["SESSION_COOKIE_SECURE"] is True


# -- 4. no name enumeration by timing -------------------------------------------------------------


def test_an_unknown_name_costs_a_password_hash_as_a_known_one(client, make_user, hash_calls):
    make_user("ulla", language="en")
    attempt(client, "nobody", "wrong", "192.0.2.9")  # the dummy hash is made once, at first use
    hash_calls.clear()
    attempt(client, "ulla", "wrong", "192.0.2.10")
    known = list(hash_calls)
    attempt(client, "nobody-here", "wrong", "192.0.2.11")
    unknown = hash_calls[len(known):]
    assert len(known) == len(unknown) == 1
    assert unknown[0].split("$")[0] == known[0].split("$")[0]  # the same method and cost


def test_unknown_and_known_names_take_about_the_same_time(make_app):
    app = make_app(HOSTAPP_PASSWORD_HASH_METHOD="pbkdf2:sha256:200000",
                   HOSTAPP_LOGIN_FREE_ATTEMPTS=100, HOSTAPP_LOGIN_FREE_ATTEMPTS_PER_ADDRESS=100,
                   HOSTAPP_LOGIN_FREE_ATTEMPTS_PER_NAME=100)
    with app.app_context():
        user = User(username="ulla", display_name="Ulla")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
    attempt(app.test_client(), "nobody", "wrong", "192.0.2.1")  # the dummy hash is made once

    # CPU seconds of this thread (the hashing runs in it), taken in turns, so that other work on
    # the machine does not weigh on one name more than on the other
    times: dict[str, list[float]] = {"ulla": [], "nobody": []}
    for number in range(5):
        for username, spent in times.items():
            started = time.thread_time()
            assert attempt(app.test_client(), username, "wrong", f"192.0.2.{number + 10}").status_code == 401
            spent.append(time.thread_time() - started)
    known, unknown = statistics.median(times["ulla"]), statistics.median(times["nobody"])
    assert 0.6 < unknown / known < 1.6, (known, unknown)


# -- 5. bounded input, expiring rows --------------------------------------------------------------


def test_oversized_fields_are_refused_before_any_work(app, client, make_user, hash_calls):
    make_user("ulla", language="en")
    hash_calls.clear()
    for data in ({"username": "u" * 10_000, "password": "wrong"},
                 {"username": "ulla", "password": "p" * 100_000}):
        response = client.post("/login", data=data)
        assert response.status_code == 400
        assert "too long" in response.get_data(as_text=True)
    assert hash_calls == [] and throttle_rows(app) == []
    german = client.post("/login", data={"username": "u" * 81, "password": "x"},
                         headers={"Accept-Language": "de"})
    assert "zu lang" in german.get_data(as_text=True)
    forgot = client.post("/password/forgot", data={"identifier": "x" * 10_000})
    assert forgot.status_code == 400 and throttle_rows(app) == []


def test_throttle_keys_have_a_fixed_length_and_hold_no_typed_text(app, client):
    typed = "my-secret-password-typed-into-the-name-field"
    attempt(client, typed, "wrong")
    keys = [row.key for row in throttle_rows(app)]
    assert keys and all(typed not in key and len(key) <= 200 for key in keys)


def test_old_throttle_rows_expire(make_app, clock):
    app = make_app(HOSTAPP_LOGIN_WINDOW_SECONDS=600, HOSTAPP_LOGIN_FREE_ATTEMPTS_PER_ADDRESS=100)
    for number in range(5):
        attempt(app.test_client(), f"name{number}", "wrong", f"192.0.2.{number}")
    assert len(throttle_rows(app)) == 15  # a pair, an address and a name each
    clock.advance(300)
    with app.app_context():
        assert login_throttle.expire_old_rows() == 0
    clock.advance(301)
    with app.app_context():
        assert login_throttle.expire_old_rows() == 15
    assert throttle_rows(app) == []


def test_a_row_still_making_someone_wait_is_kept(make_app, clock):
    app = make_app(HOSTAPP_LOGIN_WINDOW_SECONDS=60)
    limit = login_throttle.Limit("pair:test:192.0.2.1", free=0, max_wait=900)
    with app.app_context():
        for _ in range(12):
            login_throttle.record_failure([limit])
    clock.advance(61)  # no failure within the window, but the wait (900 s) is not over
    with app.app_context():
        assert login_throttle.expire_old_rows() == 0
        assert login_throttle.seconds_to_wait([limit]) > 800
    clock.advance(900)
    with app.app_context():
        assert login_throttle.expire_old_rows() == 1


# -- 6. refused before hashing, hashing bounded ---------------------------------------------------


def test_throttled_attempts_are_refused_before_hashing(app, make_user, hash_calls):
    make_user("ulla", language="en")
    hash_calls.clear()
    client = app.test_client()
    for _ in range(app.config["HOSTAPP_LOGIN_FREE_ATTEMPTS"] + 1):
        attempt(client, "ulla", "wrong")
    hashed = len(hash_calls)
    assert attempt(client, "ulla", PASSWORD).status_code == 429
    assert len(hash_calls) == hashed


@pytest.fixture
def slow_hash(monkeypatch):
    """Every password check waits until the test lets it go; ``entered`` counts the waiting."""
    release = threading.Event()
    entered = threading.Semaphore(0)
    original = werkzeug.security._hash_internal

    def blocking(method, salt, password):
        entered.release()
        release.wait(10)
        return original(method, salt, password)

    monkeypatch.setattr(werkzeug.security, "_hash_internal", blocking)
    yield entered, release
    release.set()


def test_password_checks_at_once_are_bounded(make_app, make_user, slow_hash):
    app = make_app(HOSTAPP_LOGIN_HASH_CONCURRENCY=1, HOSTAPP_LOGIN_HASH_QUEUE=0)
    entered, release = slow_hash
    first: list[int] = []
    worker = threading.Thread(target=lambda: first.append(
        attempt(app.test_client(), "someone", "wrong", "192.0.2.20").status_code))
    worker.start()
    assert entered.acquire(timeout=10)  # the first check is running
    started = time.perf_counter()
    busy = attempt(app.test_client(), "someone-else", "wrong", "192.0.2.21")
    assert busy.status_code == 503 and time.perf_counter() - started < 2
    assert busy.headers["Retry-After"] and "try again in a few seconds" in busy.get_data(as_text=True)
    release.set()
    worker.join(10)
    assert first == [401]


def test_a_waiting_check_gets_its_turn(make_app, slow_hash):
    app = make_app(HOSTAPP_LOGIN_HASH_CONCURRENCY=1, HOSTAPP_LOGIN_HASH_QUEUE=1,
                   HOSTAPP_LOGIN_HASH_WAIT_SECONDS=10)
    entered, release = slow_hash
    results: list[int] = []
    workers = [threading.Thread(target=lambda number=number: results.append(
        attempt(app.test_client(), f"someone{number}", "wrong", f"192.0.2.{30 + number}").status_code))
        for number in range(2)]
    for worker in workers:
        worker.start()
    assert entered.acquire(timeout=10)
    assert not entered.acquire(timeout=0.3)  # the second waits for the gate, not in the hash
    third = attempt(app.test_client(), "someone3", "wrong", "192.0.2.40")
    assert third.status_code == 503  # the queue is full
    release.set()
    for worker in workers:
        worker.join(10)
    assert results == [401, 401]


# -- 7. translated Flask-Login messages, HTTPS, no caching ----------------------------------------


def test_flask_login_asks_to_log_in_in_the_pages_language(client):
    german = client.get("/mail/", headers={"Accept-Language": "de"}, follow_redirects=True)
    assert "Bitte melden Sie sich an, um diese Seite zu öffnen." in german.get_data(as_text=True)
    assert "Please log in" not in german.get_data(as_text=True)
    english = client.get("/", headers={"Accept-Language": "en"}, follow_redirects=True)
    assert "Please log in to access this page." in english.get_data(as_text=True)


@pytest.mark.parametrize("config", [{"HOSTAPP_BEHIND_TLS": True}, {"PREFERRED_URL_SCHEME": "https"}])
def test_behind_tls_cookies_are_secure_and_hsts_is_sent(make_app, make_user, config):
    app = make_app(**config)
    make_user("ulla", language="en")
    client = app.test_client()
    response = login(client, "ulla")
    cookies = response.headers.getlist("Set-Cookie")
    assert any(c.startswith("session=") and "Secure" in c for c in cookies)
    assert any(c.startswith("hostapp_device=") and "Secure" in c and "HttpOnly" in c for c in cookies)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert client.get("/login").headers["Strict-Transport-Security"] == "max-age=31536000"


def test_over_plain_http_by_default_no_secure_cookie_and_no_hsts_but_hsts_over_https(app, make_user):
    make_user("ulla", language="en")
    response = login(app.test_client(), "ulla")
    assert not any("Secure" in c for c in response.headers.getlist("Set-Cookie"))
    assert "Strict-Transport-Security" not in response.headers
    over_https = app.test_client().get("/login", base_url="https://localhost")
    assert "Strict-Transport-Security" in over_https.headers


def test_the_client_address_behind_a_trusted_proxy(make_app):
    app = make_app(HOSTAPP_TRUSTED_PROXIES=1, HOSTAPP_LOGIN_FREE_ATTEMPTS_PER_ADDRESS=1)
    proxy = "10.0.0.1"
    for number in range(3):  # many visitors through one proxy are not one address
        response = app.test_client().post(
            "/login", data={"username": f"n{number}", "password": "x"},
            environ_base={"REMOTE_ADDR": proxy}, headers={"X-Forwarded-For": f"198.51.100.{number}"})
        assert response.status_code == 401


def test_no_signed_in_page_is_cached(app, admin_client):
    checked = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.endpoint == "static":
            continue
        response = admin_client.get(rule.rule)
        if response.status_code == 200 and response.mimetype in ("text/html", "application/json"):
            assert "no-store" in response.headers.get("Cache-Control", ""), rule.rule
            checked.append(rule.rule)
    assert {"/", "/admin/", "/mail/", "/mail/outbox/"} <= set(checked), checked
