"""pytest plugin: the hosting stack (scripts/hostingstack.py) for the portal's live tests.

The root conftest lists it in ``pytest_plugins``. It gives

* ``hostingstack`` (session): Postfix + Dovecot "hosted" + OpenDKIM + NSD on 127.0.0.1, state dir
  ``/tmp/tricoma-hostingstack-test-<offset>`` (env TRICOMA_HOSTINGSTACK_TEST_DIR), ports moved by
  TRICOMA_MAILSTACK_TEST_PORT_OFFSET (default 300) so it runs beside the demo's stack. It reads
  the portal's tables from one database made for the session: a SQLite file in the state dir,
  or with TRICOMA_TEST_DATABASE_URL a schema ``hosting_test_<offset>`` in that PostgreSQL
  database. Wiped and started at first use, stopped at session end; if it cannot start, every
  test using it errors (live tests never skip for want of the stack).
* ``hosted_domain()``: a new active domain of the session's tenant; ``hosted_mailbox(domain,
  local_part, addresses=...)``: a mailbox row (not yet active) with its addresses and password.

Tests using ``hostingstack`` get the ``live`` marker. Clients for them: ``imap_session``,
``submission``, ``inbox_messages`` (import them from this module).
"""
from __future__ import annotations

import contextlib
import imaplib
import os
import smtplib
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest

SCRIPTS_DIR = Path(__file__).resolve().parent.parent / "scripts"
if str(SCRIPTS_DIR) not in sys.path:
    sys.path.insert(0, str(SCRIPTS_DIR))

import hostingstack as stack_script

TEST_PORT_OFFSET = int(os.environ.get("TRICOMA_MAILSTACK_TEST_PORT_OFFSET", "300"))
DELIVERY_TIMEOUT = 10.0
TEST_STATE_DIR = os.environ.get("TRICOMA_HOSTINGSTACK_TEST_DIR", f"/tmp/tricoma-hostingstack-test-{TEST_PORT_OFFSET}")


@dataclass
class LiveHostingStack:
    """The session's stack: the daemons (``daemons``), the database they read and the portal's
    client (``client``, a tricoma_portal HostingStack) bound to it."""

    daemons: stack_script.HostingStack
    database_url: str
    db_schema: str | None
    engine: object  # sqlalchemy Engine, with the schema mapped in on PostgreSQL
    client: object  # tricoma_portal.hosting.provisioning.HostingStack
    tenant_id: int

    @property
    def ports(self) -> dict[str, int]:
        return self.daemons.ports

    @property
    def host(self) -> str:
        return stack_script.HOST


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "hostingstack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.live)


@pytest.fixture(scope="session")
def hostingstack(mailstack_lock: None) -> Iterator[LiveHostingStack]:
    """The running hosting stack of the test session (its port offset is the mail stack's)."""
    # The portal is a distribution of its own: the root suite collects without importing it.
    from sqlalchemy import create_engine, text
    from tricoma_portal.hosting.provisioning import HostingStack as PortalClient
    from tricoma_portal.models import Base, Tenant

    daemons = stack_script.HostingStack(TEST_STATE_DIR, TEST_PORT_OFFSET)
    daemons.destroy()  # what an aborted earlier session left behind
    pg_url = os.environ.get("TRICOMA_TEST_DATABASE_URL")
    schema = None
    if pg_url:
        schema = f"hosting_test_{TEST_PORT_OFFSET}"
        admin = create_engine(pg_url)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        engine = admin.execution_options(schema_translate_map={None: schema})
        database_url = pg_url
    else:
        db_file = Path(TEST_STATE_DIR) / "db" / "portal.sqlite"
        db_file.parent.mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite:///{db_file}"
        engine = create_engine(database_url)
    Base.metadata.create_all(engine)
    daemons = stack_script.HostingStack(TEST_STATE_DIR, TEST_PORT_OFFSET, database_url, schema or "")
    daemons.start()
    try:
        with engine.begin() as conn:
            tenant_id = conn.execute(
                Tenant.__table__.insert().values(name="Hosting tests", contact_email="ops@hosting.test", language="de")
            ).inserted_primary_key[0]
        client = PortalClient(TEST_STATE_DIR, engine)
        yield LiveHostingStack(daemons, database_url, schema, engine, client, tenant_id)
    finally:
        daemons.stop()
        if schema:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            admin.dispose()


@pytest.fixture
def hosted_domain(hostingstack: LiveHostingStack) -> Callable[[], str]:
    """Factory: ``hosted_domain()`` → the name of a new active domain (unique per call)."""
    from tricoma_portal.models import Domain

    def make() -> str:
        name = f"d{uuid.uuid4().hex[:10]}.test"
        with hostingstack.engine.begin() as conn:
            conn.execute(Domain.__table__.insert().values(
                name=name, active=1, tenant_id=hostingstack.tenant_id, state="active", source="external"))
        return name

    return make


@dataclass(frozen=True)
class HostedMailbox:
    id: int
    login: str
    password: str
    addresses: tuple[str, ...]


@pytest.fixture
def hosted_mailbox(hostingstack: LiveHostingStack) -> Callable[..., HostedMailbox]:
    """Factory: ``hosted_mailbox(domain, local_part, addresses=(), quota=…)`` → a mailbox row in
    state provisioning (``active = 0``) with a new password and its addresses (the login first)."""
    from tricoma_portal.hosting.passwords import hash_password, new_password
    from tricoma_portal.models import Alias, Mailbox

    def make(domain: str, local_part: str, addresses: tuple[str, ...] = (), quota: int = 100 * 2**20) -> HostedMailbox:
        password = new_password()
        login = f"{local_part}@{domain}"
        everything = (login, *(a for a in addresses if a != login))
        with hostingstack.engine.begin() as conn:
            mailbox_id = conn.execute(Mailbox.__table__.insert().values(
                domain=domain, local_part=local_part, password_hash=hash_password(password), quota=quota,
                active=0, tenant_id=hostingstack.tenant_id, state="provisioning")).inserted_primary_key[0]
            conn.execute(Alias.__table__.insert(), [
                {"address": a, "mailbox_id": mailbox_id, "active": 1, "tenant_id": hostingstack.tenant_id}
                for a in everything])
        return HostedMailbox(mailbox_id, login, password, everything)

    return make


# --------------------------------------------------------------------------------------------
# Clients


@contextlib.contextmanager
def imap_session(stack: LiveHostingStack, login: str, password: str) -> Iterator[imaplib.IMAP4]:
    """A logged-in IMAP client over STARTTLS (raises imaplib.IMAP4.error when the login fails)."""
    client = imaplib.IMAP4(stack.host, stack.ports["imap"], timeout=10)
    try:
        client.starttls(stack.client.ssl_context())
        client.login(login, password)
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.logout()


@contextlib.contextmanager
def submission(stack: LiveHostingStack, login: str, password: str) -> Iterator[smtplib.SMTP]:
    """An authenticated SMTP submission client (raises SMTPAuthenticationError on a wrong login)."""
    client = smtplib.SMTP(stack.host, stack.ports["submission"], timeout=10)
    try:
        client.starttls(context=stack.client.ssl_context())
        client.login(login, password)
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.quit()


def message(sender: str, recipient: str, subject: str, body: str = "Hallo,\n\nein Test.\n") -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, recipient, subject
    msg.set_content(body)
    return msg


def inbox_messages(stack: LiveHostingStack, login: str, password: str, subject: str | None = None, wait_for: int = 0) -> list[bytes]:
    """The raw messages in INBOX (those with ``subject`` if given), waiting until there are at
    least ``wait_for`` of them or DELIVERY_TIMEOUT passed."""
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while True:
        with imap_session(stack, login, password) as client:
            client.select("INBOX", readonly=True)
            criteria = ("SUBJECT", f'"{subject}"') if subject else ("ALL",)
            numbers = client.search(None, *criteria)[1][0].split()
            raw = [client.fetch(n, "(BODY.PEEK[])")[1][0][1] for n in numbers]
        if len(raw) >= wait_for or time.monotonic() > deadline:
            return raw
        time.sleep(0.1)
