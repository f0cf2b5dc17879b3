"""A draft keeps its recipients as typed, half an address included (Thunderbird saves what is
typed; the autosave failed with 'ali is not a valid e-mail address' while a name was being
typed); the mail is checked when it is sent."""
from __future__ import annotations

from email import message_from_bytes
from email.policy import SMTP, default

import pytest

from tricoma_mail_plugin.mail.reply_prefill import _join_typed, split_recipients
from tricoma_mail_plugin.mime.build import (HeaderInjection, InvalidAddresses, InvalidMessage, OutgoingMessage,
                                            build_message)
from tricoma_mail_plugin.mime.parse import parse_message

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


def test_sending_names_every_address_that_is_not_valid_at_once():
    """Not only the first: the user fixes them all before sending again."""
    with pytest.raises(InvalidAddresses) as refused:
        typed = OutgoingMessage(to=split_recipients("ali, bob@example.test, carol@"), cc=("carol.example.test",),
                                bcc=("dora@example..test", "ali"), subject="x", text="y")
        build_message(typed, "Vertrieb", "vertrieb@example.test")
    assert refused.value.field == "to"  # the first field that holds one
    assert refused.value.addresses == ["ali", "carol@", "carol.example.test", "dora@example..test"]
    assert refused.value.user_message == ("These are not valid e-mail addresses: "
                                          "ali; carol@; carol.example.test; dora@example..test.")
    with pytest.raises(InvalidAddresses) as one:
        build_message(OutgoingMessage(cc=split_recipients("bob@example.test, carol@"), subject="x", text="y"),
                      "", "v@example.test")
    assert (one.value.field, one.value.user_message) == ("cc", "carol@ is not a valid e-mail address.")
    with pytest.raises(InvalidAddresses) as pasted:  # a pasted list of thousands: the first 20, then a count
        build_message(OutgoingMessage(to=tuple(f"kunde{n}" for n in range(3000)), subject="x", text="y"),
                      "", "v@example.test")
    assert pasted.value.user_message == ("These are not valid e-mail addresses: "
                                         + "; ".join(f"kunde{n}" for n in range(20)) + " and 2980 more.")


def test_a_line_break_is_refused_in_a_draft_too():
    with pytest.raises(HeaderInjection):
        build_message(OutgoingMessage(to=("ali\r\nBcc: x@evil.test",), subject="x", text="y"),
                      "", "vertrieb@example.test", draft=True)


def _reopened_to(typed: str) -> str:
    """What the To field holds after "Save draft" (the form's path: split_recipients) and
    reopening the draft (reply_prefill.prefill with mode "draft" reads the stored bytes so)."""
    outgoing = OutgoingMessage(to=split_recipients(typed), subject="Angebot", text="Hallo")
    built = build_message(outgoing, "Vertrieb", "vertrieb@example.test", draft=True)
    return _join_typed(parse_message(built.message.as_bytes(policy=SMTP)).to)


def test_a_half_typed_name_with_an_umlaut_comes_back_as_typed():
    assert _reopened_to("bob@example.test, Jörg") == "bob@example.test, Jörg"  # not =?utf-8?q?J=C3=B6rg?=


def test_a_typo_in_one_recipient_keeps_the_others():
    assert "bob@example.test" in _reopened_to("bob@example.test, a@b@c.test")  # the field came back empty


def test_sending_refuses_an_address_cut_short_instead_of_dropping_it():
    # 'carol@' vanished and the mail went to bob alone without a word
    assert split_recipients("bob@example.test, carol@") == ("bob@example.test", "carol@")
    with pytest.raises(InvalidMessage) as refused:
        build_message(OutgoingMessage(to=split_recipients("bob@example.test, carol@"), subject="x", text="y"),
                      "", "vertrieb@example.test")
    assert "carol@" in refused.value.user_message


def test_a_quoted_name_with_a_comma_stays_one_recipient():
    assert split_recipients('"Müller, Jörg" <j@example.test>; anna@example.test') == (
        '"Müller, Jörg" <j@example.test>', "anna@example.test")
