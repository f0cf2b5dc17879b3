"""pytest plugin: the project's local mail stack (scripts/mailstack.py) for live tests.

tests/conftest.py lists it as ``pytest_plugins = ["mailstack_fixture"]``. It gives

* ``mailstack`` (session): a running stack of its own, state dir
  ``/tmp/tricoma-mailstack-test-<offset>`` and port offset 300 (env TRICOMA_MAILSTACK_TEST_DIR,
  TRICOMA_MAILSTACK_TEST_PORT_OFFSET), so it runs beside the demo's stack. It is wiped and started
  at the first use and stopped at session end. If Dovecot cannot be installed or started, every
  test using it errors: live tests never skip for want of the stack.
* ``mailstack_lock`` (session): held by every session that uses the test offset, so a second
  test session on the same machine waits for the first instead of wiping its running stack.
  Two sessions side by side need different TRICOMA_MAILSTACK_TEST_PORT_OFFSET values.
* ``imap_client(profile, user, password, security=...)``: logged-in imapclient clients, logged
  out at teardown;
* ``smtp_client(profile, user, password, security=...)``: authenticated smtplib clients;
* ``fresh_user(profile)``: a new SQL-provisioned user with an empty mailbox, removed at teardown.

Every test that uses ``mailstack`` (directly or through these) gets the ``live`` marker.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import smtplib
import ssl
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient

SCRIPTS_DIR = Path(__file__).resolve().parent.parent / "scripts"
if str(SCRIPTS_DIR) not in sys.path:
    sys.path.insert(0, str(SCRIPTS_DIR))

from mailstack import MailStack, Profile  # noqa: E402  (scripts/ is not a package)

TEST_PORT_OFFSET = int(os.environ.get("TRICOMA_MAILSTACK_TEST_PORT_OFFSET", "300"))
TEST_STATE_DIR = os.environ.get("TRICOMA_MAILSTACK_TEST_DIR", f"/tmp/tricoma-mailstack-test-{TEST_PORT_OFFSET}")
SECURITY_MODES = ("plain", "starttls", "ssl")
LOCK_WAIT = 300.0  # a whole other test session may have to finish first

ImapFactory = Callable[..., IMAPClient]
SmtpFactory = Callable[..., smtplib.SMTP]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "live: talks to the local Dovecot + SMTP stack")


@pytest.hookimpl(tryfirst=True)  # before -m deselects, so `-m "not live"` sees the marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "mailstack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.live)


def _resolve(stack: MailStack, profile: int | Profile) -> Profile:
    return stack.profile(profile) if isinstance(profile, int) else profile


def _credentials(profile: Profile, user: str | None, password: str | None) -> tuple[str, str]:
    """``user`` defaults to the profile's first fixed user, ``password`` to a fixed user's own."""
    user = user or next(iter(profile.users))
    if password is None:
        if user not in profile.users:
            raise ValueError(f"{user} is not a fixed user of profile {profile.number}; pass its password")
        password = profile.users[user]
    return user, password


def open_imap(profile: Profile, security: str = "plain", ssl_context: ssl.SSLContext | None = None) -> IMAPClient:
    """An IMAP connection, not logged in: ``plain``, ``starttls`` (plain port) or ``ssl`` (IMAPS)."""
    if security not in SECURITY_MODES:
        raise ValueError(f"security must be one of {SECURITY_MODES}, not {security!r}")
    if security == "ssl":
        return IMAPClient(profile.host, port=profile.imaps_port, ssl=True, ssl_context=ssl_context, timeout=30)
    client = IMAPClient(profile.host, port=profile.imap_port, ssl=False, timeout=30)
    if security == "starttls":
        client.starttls(ssl_context)
    return client


def open_smtp(profile: Profile, security: str = "plain", ssl_context: ssl.SSLContext | None = None) -> smtplib.SMTP:
    """An SMTP submission connection, not authenticated: ``plain`` or ``starttls``."""
    if security not in ("plain", "starttls"):
        raise ValueError(f"the relay offers plain and starttls, not {security!r}")
    client = smtplib.SMTP(profile.host, profile.smtp_port, timeout=30)
    if security == "starttls":
        client.starttls(context=ssl_context)
    return client


@pytest.fixture(scope="session")
def mailstack_lock() -> Iterator[None]:
    """Exclusive use of the test port offset (and the state dirs named after it) for this session."""
    with open(f"{TEST_STATE_DIR}.lock", "w") as lock:
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"another test session holds {TEST_STATE_DIR}.lock for {LOCK_WAIT:.0f} s; "
                        "set TRICOMA_MAILSTACK_TEST_PORT_OFFSET to run beside it"
                    ) from None
                time.sleep(0.5)
        yield


@pytest.fixture(scope="session")
def mailstack(mailstack_lock: None) -> Iterator[MailStack]:
    """A running mail stack of the test session (port offset 300), stopped at the end."""
    stack = MailStack(TEST_STATE_DIR, TEST_PORT_OFFSET)
    stack.destroy()  # what an aborted earlier session left behind
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def imap_client(mailstack: MailStack) -> Iterator[ImapFactory]:
    """Factory: ``imap_client(profile=1, user=None, password=None, security="plain", ssl_context=None)``.

    Returns a logged-in client; TLS modes default to a context that trusts the stack's certificate.
    """
    clients: list[IMAPClient] = []

    def connect(
        profile: int | Profile = 1,
        user: str | None = None,
        password: str | None = None,
        security: str = "plain",
        ssl_context: ssl.SSLContext | None = None,
    ) -> IMAPClient:
        prof = _resolve(mailstack, profile)
        user, password = _credentials(prof, user, password)
        client = open_imap(prof, security, ssl_context or mailstack.ssl_context())
        clients.append(client)
        client.login(user, password)
        return client

    yield connect
    for client in clients:
        with contextlib.suppress(Exception):
            client.logout()


@pytest.fixture
def smtp_client(mailstack: MailStack) -> Iterator[SmtpFactory]:
    """Factory: ``smtp_client(profile=1, user=None, password=None, security="plain")``, authenticated."""
    clients: list[smtplib.SMTP] = []

    def connect(
        profile: int | Profile = 1,
        user: str | None = None,
        password: str | None = None,
        security: str = "plain",
        ssl_context: ssl.SSLContext | None = None,
    ) -> smtplib.SMTP:
        prof = _resolve(mailstack, profile)
        user, password = _credentials(prof, user, password)
        client = open_smtp(prof, security, ssl_context or mailstack.ssl_context())
        clients.append(client)
        client.login(user, password)
        return client

    yield connect
    for client in clients:
        with contextlib.suppress(Exception):
            client.quit()


@pytest.fixture
def fresh_user(mailstack: MailStack) -> Iterator[Callable[[int], tuple[str, str]]]:
    """Factory: ``fresh_user(profile=1)`` → (email, password) of a new user with an empty mailbox."""
    created: list[tuple[str, int]] = []

    def make(profile: int = 1) -> tuple[str, str]:
        email = f"t-{uuid.uuid4().hex[:12]}@{mailstack.profile(profile).domain}"
        password = uuid.uuid4().hex
        mailstack.add_user(email, password, profile)
        created.append((email, profile))
        return email, password

    yield make
    for email, profile in created:
        mailstack.remove_user(email, profile)
