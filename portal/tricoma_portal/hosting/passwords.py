"""Passwords in the form Dovecot checks them, and app passwords with the selector scheme.

Dovecot reads ``mailboxes.password_hash`` and ``app_passwords.password_hash`` as
``{SHA512-CRYPT}$6$rounds=…$salt$hash``. The cost is deliberate: 50,000 rounds (ten times glibc's
default) take Dovecot about 25 ms per login, slow enough to hurt guessing from a leaked table,
fast enough for IMAP clients that log in often (passlib's default 656,000 would take 0.4 s).

An app password is ``selector + secret``: the 8-character selector is not secret, it lets
Dovecot's SQL passdb pick the one row (Dovecot 2.3 refuses several), and the stored hash covers
the whole string.
"""
from __future__ import annotations

import secrets
import string

from passlib.hash import sha512_crypt

SCHEME_PREFIX = "{SHA512-CRYPT}"
ROUNDS = 50_000
SELECTOR_LENGTH = 8
# no look-alikes (0/O, 1/l/I): people read these passwords off the screen once
_PASSWORD_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")
_SELECTOR_ALPHABET = string.ascii_lowercase + string.digits
PASSWORD_LENGTH = 20  # about 114 bits
APP_SECRET_LENGTH = 24


def hash_password(plain: str, rounds: int = ROUNDS) -> str:
    """``{SHA512-CRYPT}`` hash of ``plain`` as Dovecot's passdb expects it."""
    return SCHEME_PREFIX + sha512_crypt.using(rounds=rounds).hash(plain)


def verify_password(plain: str, stored: str) -> bool:
    """True when ``plain`` matches a hash made by :func:`hash_password`."""
    if not stored.startswith(SCHEME_PREFIX):
        return False
    return sha512_crypt.verify(plain, stored.removeprefix(SCHEME_PREFIX))


def new_password(length: int = PASSWORD_LENGTH) -> str:
    """A strong random mailbox password (letters and digits without look-alikes)."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))


def new_app_password() -> tuple[str, str]:
    """``(selector, full_password)``: store the selector and the hash of the full password."""
    selector = "".join(secrets.choice(_SELECTOR_ALPHABET) for _ in range(SELECTOR_LENGTH))
    return selector, selector + new_password(APP_SECRET_LENGTH)


def selector_of(app_password: str) -> str:
    """The selector part of an app password (what Dovecot's query matches)."""
    return app_password[:SELECTOR_LENGTH]
