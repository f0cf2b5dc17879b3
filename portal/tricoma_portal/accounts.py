"""Customers (tenants) and the people who sign in: customer admins and users, operators."""
from __future__ import annotations

import re
import secrets

from flask_babel import gettext as _
from sqlalchemy import select

from . import user_passwords
from .errors import Conflict, InvalidInput
from .extensions import db
from .models import (
    ROLE_CUSTOMER_ADMIN,
    ROLE_CUSTOMER_USER,
    ROLE_OPERATOR,
    Tenant,
    User,
)

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def _email(value: str) -> str:
    value = (value or "").strip().lower()
    if not EMAIL.match(value) or len(value) > 254:
        raise InvalidInput(_("Please enter a valid e-mail address."))
    return value


def _language(value: str | None) -> str:
    return value if value in ("de", "en") else "de"


def new_login_password() -> str:
    return secrets.token_urlsafe(12)


def _checked_password(password: str) -> str:
    if len(password or "") < user_passwords.MIN_LENGTH:
        raise InvalidInput(_("A password has at least %(count)s characters.",
                             count=user_passwords.MIN_LENGTH))
    return password


def change_password(user: User, current: str, new: str) -> None:
    """The user's own new password, after the current one."""
    if not user_passwords.check_user_password(user, current or ""):
        raise InvalidInput(_("The current password is wrong."))
    user_passwords.set_user_password(user, _checked_password(new))
    db.session.commit()


def create_user(tenant_id: int | None, email: str, role: str, display_name: str = "",
                password: str | None = None, language: str | None = None) -> tuple[User, str]:
    """A user; without ``password`` one is generated. Returns the user and the password."""
    email = _email(email)
    if role not in (ROLE_CUSTOMER_ADMIN, ROLE_CUSTOMER_USER, ROLE_OPERATOR):
        raise InvalidInput(_("Unknown role."))
    if (role == ROLE_OPERATOR) != (tenant_id is None):
        raise InvalidInput(_("Operators belong to no customer; customer users to one."))
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise InvalidInput(_("There is already a user with this e-mail address."))
    password = _checked_password(password or new_login_password())
    user = User(tenant_id=tenant_id, email=email, role=role,
                display_name=(display_name or "").strip()[:200], language=language)
    user_passwords.set_user_password(user, password)
    db.session.add(user)
    db.session.commit()
    return user, password


def create_tenant(name: str, contact_email: str, language: str | None = None,
                  admin_email: str | None = None,
                  admin_password: str | None = None) -> tuple[Tenant, User, str]:
    """A customer with its first customer admin (whose password is returned once)."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput(_("Please enter the customer's name."))
    tenant = Tenant(name=name, contact_email=_email(contact_email), language=_language(language))
    db.session.add(tenant)
    db.session.flush()
    admin, password = create_user(tenant.id, admin_email or contact_email, ROLE_CUSTOMER_ADMIN,
                                  password=admin_password, language=tenant.language)
    return tenant, admin, password


def tenant_users(tenant_id: int) -> list[User]:
    return list(db.session.scalars(select(User).where(User.tenant_id == tenant_id).order_by(User.email)))


def all_tenants() -> list[Tenant]:
    return list(db.session.scalars(select(Tenant).order_by(Tenant.name)))


def delete_user(user: User, acting_user_id: int) -> None:
    if user.id == acting_user_id:
        raise Conflict(_("You cannot remove yourself."))
    db.session.delete(user)
    db.session.commit()
