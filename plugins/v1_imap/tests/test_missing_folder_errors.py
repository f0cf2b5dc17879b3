"""A server's "no such folder" in the words of several servers is FolderNotFound (a move to a
folder gone meanwhile is then undone instead of replayed by every sync: cache/intents.py)."""
from __future__ import annotations

import imaplib

import pytest

from tricoma_mail_plugin.errors import FolderNotFound, MailError
from tricoma_mail_v1_imap.errors import translated_imap_errors


@pytest.mark.parametrize("refusal", [
    "UID MOVE command error: BAD [b'[TRYCREATE] No folder Projekte (Failure)']",  # Gmail
    "COPY failed: [TRYCREATE] Mailbox does not exist.",  # Exchange, RFC 3501
    "select failed: [NONEXISTENT] Mailbox doesn't exist: Projekte (0.001 + 0.000 secs).",  # Dovecot
    "MOVE failed: Mailbox does not exist",  # Cyrus
])
def test_a_missing_folder_in_any_servers_words(refusal):
    with pytest.raises(FolderNotFound):
        with translated_imap_errors("Projekte"):
            raise imaplib.IMAP4.error(refusal)


def test_another_refusal_stays_a_mail_error():
    with pytest.raises(MailError) as raised:
        with translated_imap_errors("Projekte"):
            raise imaplib.IMAP4.error("MOVE failed: [OVERQUOTA] Quota exceeded")
    assert not isinstance(raised.value, FolderNotFound)
