"""Helpers the portal's tests import (conftest holds the fixtures)."""
from __future__ import annotations

from sqlalchemy import select
from tricoma_portal import domain_orders
from tricoma_portal.extensions import db
from tricoma_portal.models import User

PASSWORD = "correct horse battery"

TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "portal-test-secret",
    "WTF_CSRF_ENABLED": False,
    "TRICOMA_PORTAL_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    "TRICOMA_PORTAL_PURGE_INTERVAL": 0,
}


def sign_in(app, email: str, password: str = PASSWORD):
    """A test client signed in through the login page."""
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.data
    return client


def active_domain(admin_email: str, operator_email: str, name: str) -> int:
    """Order ``name`` as the customer admin and complete it as the operator (inside an app
    context); returns the domain's id."""
    admin = db.session.scalar(select(User).where(User.email == admin_email))
    operator = db.session.scalar(select(User).where(User.email == operator_email))
    order = domain_orders.order_domain(admin.tenant_id, admin.id, name)
    domain_orders.complete(order, operator.id)
    return order.domain_id
