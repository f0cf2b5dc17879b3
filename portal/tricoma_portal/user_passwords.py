"""Passwords of portal users (not of mailboxes: those are the hosting stack's)."""
from __future__ import annotations

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from .models import User

MIN_LENGTH = 10


def set_user_password(user: User, password: str) -> None:
    method = current_app.config["TRICOMA_PORTAL_PASSWORD_HASH_METHOD"]
    user.password_hash = generate_password_hash(password, method=method)


def check_user_password(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)
