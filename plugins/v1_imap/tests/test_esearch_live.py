"""The UIDs of a folder come as ranges where the server offers ESEARCH (RFC 4731: ``UID SEARCH
RETURN (ALL)``, one ``1:10000`` instead of ten thousand numbers for a first sync), and are the
same UIDs as a plain SEARCH gives: gaps, a start past the highest UID, an empty folder (against
the real local Dovecot). A server that says ESEARCH and answers the plain way, or not at all,
still gives its UIDs (unit test): a sync must not take a missing answer for an empty folder."""
from email.message import EmailMessage

import pytest
from app_fixtures import _fresh_account

from hostapp.extensions import db
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.models import Mailbox


def _mail(number: int) -> bytes:
    message = EmailMessage()
    message["From"] = "a@example.test"
    message["To"] = "owner@example.test"
    message["Subject"] = f"Nachricht {number}"
    message.set_content(f"Text {number}")
    return message.as_bytes()


def _answers(backend) -> dict:
    backend.select("INBOX")
    answers = {start: backend.search_uids(start) for start in (1, 6, 21, 31, 100)}
    backend.select("Leer")
    answers["empty"] = backend.search_uids()
    return answers


def test_uids_come_as_ranges_and_are_the_uids_a_plain_search_gives(app, make_mailbox, mailstack, imap_client):
    email, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, email, password)
    client = imap_client(1, email, password)
    client.multiappend("INBOX", [_mail(n) for n in range(30)])
    client.create_folder("Leer")
    client.select_folder("INBOX")
    client.add_flags([5, 6, 7, 20, 30], [b"\\Deleted"])  # gaps, and the highest UID gone
    client.expunge()
    expected = [uid for uid in range(1, 31) if uid not in (5, 6, 7, 20, 30)]

    with app.app_context():
        backend = service.backend_for(db.session.get(Mailbox, mailbox_id))
        with backend:
            assert "ESEARCH" in backend.capabilities()
            imap = backend.client._imap
            commands = []
            send = imap._simple_command
            imap._simple_command = lambda *words: commands.append(words) or send(*words)
            ranged = _answers(backend)
            assert [words[:4] for words in commands if words[:2] == ("UID", "SEARCH")] == \
                [("UID", "SEARCH", "RETURN", "(ALL)")] * 6

            backend._capabilities = backend.capabilities() - {"ESEARCH"}  # as a server without it
            plain = _answers(backend)

    assert ranged == plain
    assert ranged[1] == expected and ranged[6] == expected[4:] and ranged[21] == list(range(21, 30))
    assert ranged[31] == ranged[100] == [] and ranged["empty"] == []


class _Imap:
    """imaplib's side of a server that says ESEARCH and answers otherwise (unit test, no server)."""

    def __init__(self, untagged: dict) -> None:
        self.untagged, self.untagged_responses = untagged, {}

    def _simple_command(self, *words):
        self.untagged_responses.update(self.untagged)
        return "OK", [b"Search completed"]


class _Client:
    def __init__(self, untagged: dict) -> None:
        self._imap = _Imap(untagged)
        self.plain_searches = []

    def search(self, criteria):
        self.plain_searches.append(criteria)
        return [3, 9]


def _backend_of(untagged: dict):
    from tricoma_mail_v1_imap.imap_backend import ImapBackend

    backend = ImapBackend.__new__(ImapBackend)
    backend._client, backend._capabilities = _Client(untagged), frozenset({"ESEARCH"})
    return backend


@pytest.mark.db_independent
def test_a_plain_answer_to_the_ranged_search_is_read_and_no_answer_is_not_taken_for_none():
    plain = _backend_of({"SEARCH": [b"4 5 7"]})
    assert plain.search_uids(5) == [5, 7] and plain._client.plain_searches == []
    silent = _backend_of({})  # neither ESEARCH nor SEARCH came back: asked again, the plain way
    assert silent.search_uids() == [3, 9] and silent._client.plain_searches == [["UID", "1:*"]]
    nothing = _backend_of({"ESEARCH": [b'(TAG "A7") UID']})  # ESEARCH without ALL: no match
    assert nothing.search_uids() == [] and nothing._client.plain_searches == []
