"""Password hashes in Dovecot's form and app passwords with the selector scheme (pure logic; the
live tests prove Dovecot accepts them)."""
from __future__ import annotations

import pytest
from tricoma_portal.hosting.passwords import (
    ROUNDS,
    SELECTOR_LENGTH,
    hash_password,
    new_app_password,
    new_password,
    selector_of,
    verify_password,
)

pytestmark = pytest.mark.db_independent


def test_hash_is_sha512_crypt_with_the_chosen_cost_and_a_fresh_salt():
    first, second = hash_password("Geheim-1"), hash_password("Geheim-1")
    assert first.startswith(f"{{SHA512-CRYPT}}$6$rounds={ROUNDS}$")
    assert first != second
    assert verify_password("Geheim-1", first) and not verify_password("geheim-1", first)
    assert not verify_password("Geheim-1", first.removeprefix("{SHA512-CRYPT}"))


def test_new_passwords_are_long_random_and_readable():
    passwords = {new_password() for _ in range(50)}
    assert len(passwords) == 50
    assert all(len(p) == 20 and p.isalnum() and not set(p) & set("0O1lI") for p in passwords)


def test_app_password_starts_with_its_selector():
    selector, full = new_app_password()
    assert len(selector) == SELECTOR_LENGTH and selector.isalnum() and selector == selector.lower()
    assert full.startswith(selector) and len(full) > SELECTOR_LENGTH + 20
    assert selector_of(full) == selector
    assert new_app_password()[0] != selector
