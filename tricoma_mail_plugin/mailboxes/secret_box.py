"""Secrets at rest: mailbox passwords and tokens, encrypted with Fernet keys from config.

``TRICOMA_MAIL_SECRET_KEYS`` lists Fernet keys, newest first: the first encrypts, all decrypt,
so a new key can be put in front and ``flask mail rotate-keys`` re-encrypts every secret with it.
Without that setting a key is derived from the app's ``SECRET_KEY`` (then changing the
``SECRET_KEY`` makes the stored secrets unreadable: set explicit keys in production).
"""
from __future__ import annotations

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

from ..errors import MailError


class SecretUnreadable(MailError):
    """A stored secret cannot be decrypted with any configured key."""

    default_message = "A stored password cannot be decrypted; enter it again."


def derived_key(secret_key: str) -> bytes:
    digest = hashlib.sha256(b"tricoma-mail secrets\0" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest)


class SecretBox:
    """Encrypts and decrypts small dicts of secrets with a list of Fernet keys."""

    def __init__(self, keys: list[bytes | str]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    @classmethod
    def from_app(cls) -> "SecretBox":
        keys = current_app.config.get("TRICOMA_MAIL_SECRET_KEYS") or [
            derived_key(current_app.config["SECRET_KEY"])
        ]
        return cls(list(keys))

    def encrypt(self, secrets: dict[str, str]) -> str:
        return self._fernet.encrypt(json.dumps(secrets).encode()).decode()

    def decrypt(self, token: str) -> dict[str, str]:
        if not token:
            return {}
        try:
            return json.loads(self._fernet.decrypt(token.encode()))
        except (InvalidToken, ValueError):
            raise SecretUnreadable() from None

    def rotate(self, token: str) -> str:
        """Re-encrypt ``token`` with the newest key."""
        if not token:
            return token
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise SecretUnreadable() from None
