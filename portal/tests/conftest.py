"""Fixtures of the portal's tests: an app on a fresh database per test (an SQLite file, or a
schema of its own on ``TRICOMA_TEST_DATABASE_URL``), customers with their users, an operator,
and signed-in clients.

The live tests build their app on the hosting stack's database instead (``live_portal``)."""
from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from portal_testing import PASSWORD, TEST_CONFIG
from tricoma_portal import accounts, create_app
from tricoma_portal.extensions import db
from tricoma_portal.models import ROLE_CUSTOMER_USER, ROLE_OPERATOR


def with_search_path(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture
def portal_database_url(tmp_path) -> Iterator[str]:
    postgres_url = os.environ.get("TRICOMA_TEST_DATABASE_URL")
    if not postgres_url:
        yield f"sqlite:///{tmp_path / 'portal.sqlite'}"
        return
    schema = f"portal_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    yield with_search_path(postgres_url, schema)
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def portal_app(portal_database_url):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": portal_database_url})
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@dataclass
class Customer:
    tenant_id: int
    admin_email: str
    user_email: str


@pytest.fixture
def make_customer(portal_app):
    """Factory: a tenant with a customer admin and a customer user (password PASSWORD)."""
    def make(name: str, contact_email: str | None = None, language: str = "en") -> Customer:
        slug = name.lower().replace(" ", "")
        with portal_app.app_context():
            tenant, admin, _ = accounts.create_tenant(
                name, contact_email or f"contact@{slug}.test", language=language,
                admin_email=f"admin@{slug}.test", admin_password=PASSWORD)
            admin.language = language
            user, _ = accounts.create_user(tenant.id, f"user@{slug}.test", ROLE_CUSTOMER_USER,
                                           password=PASSWORD, language=language)
            db.session.commit()
            return Customer(tenant.id, admin.email, user.email)
    return make


@pytest.fixture
def make_operator(portal_app):
    def make(email: str = "operator@hoster.test") -> str:
        with portal_app.app_context():
            accounts.create_user(None, email, ROLE_OPERATOR, password=PASSWORD, language="en")
        return email
    return make


@pytest.fixture
def live_portal(hostingstack):
    """The portal on the hosting stack's database and stack: what it creates is live in Postfix
    and Dovecot. The session's database is shared, so tests name their tenants and domains
    uniquely (``unique``)."""
    url = hostingstack.database_url
    if hostingstack.db_schema:
        url = with_search_path(url, hostingstack.db_schema)
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url,
                      "TRICOMA_PORTAL_HOSTING_STATE_DIR": str(hostingstack.client.state_dir)})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:8]
