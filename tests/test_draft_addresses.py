"""A draft keeps its recipients as typed, half an address included (Thunderbird saves what is
typed; the autosave failed with 'ali is not a valid e-mail address' while a name was being
typed); the mail is checked when it is sent."""
from __future__ import annotations

from email import message_from_bytes
from email.policy import default

import pytest

from tricoma_mail_plugin.mime.build import HeaderInjection, InvalidMessage, OutgoingMessage, build_message

TYPED = OutgoingMessage(to=("ali", "bob@example.test"), cc=("carol.example.test",), bcc=("Jörg Mü",),
                        subject="Angebot", text="Hallo")


def test_a_draft_keeps_what_was_typed():
    built = build_message(TYPED, "Vertrieb", "vertrieb@example.test", draft=True)
    read = message_from_bytes(built.message.as_bytes(), policy=default)
    assert "ali" in str(read["To"]) and "bob@example.test" in str(read["To"])
    assert str(read["Cc"]) == "carol.example.test" and "Jörg Mü" in str(read["Bcc"])
    assert built.bcc == ()  # nothing goes out with a draft


def test_the_mail_itself_is_still_checked():
    with pytest.raises(InvalidMessage) as refused:
        build_message(TYPED, "Vertrieb", "vertrieb@example.test")
    assert refused.value.field == "to" and "ali" in refused.value.user_message


def test_a_line_break_is_refused_in_a_draft_too():
    with pytest.raises(HeaderInjection):
        build_message(OutgoingMessage(to=("ali\r\nBcc: x@evil.test",), subject="x", text="y"),
                      "", "vertrieb@example.test", draft=True)
