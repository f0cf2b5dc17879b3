"""Conversations (pure logic): threads by References and In-Reply-To across folders, with the
subject as the fallback only for mail linked to nothing."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from tricoma_mail_v2_hosted.conversations import base_subject, group

pytestmark = pytest.mark.db_independent

START = datetime(2026, 11, 1, 9, tzinfo=UTC)


@dataclass(frozen=True)
class Listed:
    id: int
    folder: str
    subject: str
    message_id: str = ""
    in_reply_to: str = ""
    references: str = ""
    seen: bool = True

    @property
    def date(self):
        return START + timedelta(hours=self.id)


def test_a_thread_across_inbox_and_sent_is_one_conversation():
    mails = [
        Listed(1, "INBOX", "Projekt", "<a@x>"),
        Listed(2, "Sent", "Re: Projekt", "<b@x>", "<a@x>", "<a@x>"),
        Listed(3, "INBOX", "AW: Projekt", "<c@x>", "<b@x>", "<a@x> <b@x>", seen=False),
        Listed(4, "Sent", "Re: AW: Projekt", "<d@x>", "<c@x>", "<a@x> <b@x> <c@x>"),
        Listed(5, "INBOX", "AW: Projekt", "<e@x>", "<d@x>", "<a@x> <b@x> <c@x> <d@x>"),
        Listed(6, "INBOX", "Liefertermin", "<f@x>"),
    ]
    threads = group(reversed(mails))
    assert [len(t.messages) for t in threads] == [1, 5]  # newest conversation first
    thread = threads[1]
    assert [m.id for m in thread.messages] == [1, 2, 3, 4, 5]
    assert thread.folders == ("INBOX", "Sent") and thread.unread == 1 and thread.latest.id == 5


def test_a_reply_whose_parent_is_missing_still_joins_by_references():
    mails = [Listed(1, "INBOX", "Angebot", "<a@x>"),
             Listed(3, "INBOX", "Re: Angebot", "<c@x>", "<b@x>", "<a@x> <b@x>")]  # <b@x> not listed
    assert [len(t.messages) for t in group(mails)] == [2]


def test_the_subject_joins_only_mail_without_headers():
    mails = [
        Listed(1, "INBOX", "Rechnung", "<a@x>"),
        Listed(2, "INBOX", "Re: Rechnung", "<b@x>", "<a@x>", "<a@x>"),
        Listed(3, "INBOX", "Rechnung", "<c@x>"),  # a new, separate thread…
        Listed(4, "INBOX", "Re: Rechnung", "<d@x>", "<c@x>", "<c@x>"),  # …that has its own reply
        Listed(5, "INBOX", "AW: Rechnung"),  # a reply whose client dropped the headers
    ]
    sizes = sorted(len(t.messages) for t in group(mails))
    assert sizes == [2, 3]  # two threads stay apart; the headerless reply joins one of them


def test_base_subject_drops_german_and_english_prefixes():
    assert base_subject("AW: Re: WG: Fwd:  Projekt  Zahnrad") == "projekt zahnrad"
    assert base_subject("Re[2]: Angebot") == "angebot"
