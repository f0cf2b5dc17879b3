"""Secrets at rest (DKIM private keys, auth codes, integration app passwords), encrypted with the
portal's own Fernet key."""
from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


def _fernet() -> Fernet:
    key = current_app.config.get("TRICOMA_PORTAL_ENCRYPTION_KEY")
    if not key:
        digest = hashlib.sha256(b"tricoma-portal:" + current_app.config["SECRET_KEY"].encode()).digest()
        key = base64.urlsafe_b64encode(digest)
    return Fernet(key)


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    """The plain text; raises ``ValueError`` when the key does not fit (it was changed)."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise ValueError("the portal's encryption key does not open this secret") from error
