"""The portal's address as the import accepts it, and answers that are not the portal's."""
from __future__ import annotations

import pytest
from tricoma_mail_v2_hosted.portal_client import (
    PortalAddressInvalid,
    PortalWrongAddress,
    normal_address,
    parse_mailboxes,
)


def test_only_https_or_loopback_http_when_allowed():
    assert normal_address(" https://portal.example.com/kunden/ ") == "https://portal.example.com/kunden"
    assert normal_address("http://127.0.0.1:8080/", http_loopback=True) == "http://127.0.0.1:8080"
    for refused in ("http://127.0.0.1:8080", "http://portal.example.com", "ftp://portal.example.com",
                    "https://user:pw@portal.example.com", "https://portal.example.com/?token=x",
                    "https://portal.example.com:port", "portal.example.com"):
        with pytest.raises(PortalAddressInvalid):
            normal_address(refused)
    with pytest.raises(PortalAddressInvalid):
        normal_address("http://portal.example.com", http_loopback=True)  # loopback only


def test_an_answer_that_is_not_the_portals_is_a_wrong_address():
    for body in (b"<html>Willkommen</html>", b'{"mailboxes": [{"id": "x"}]}', b'{"items": []}', b"[]"):
        with pytest.raises(PortalWrongAddress):
            parse_mailboxes(body)
    (entry,) = parse_mailboxes(
        b'{"mailboxes": [{"id": 3, "login": "a@b.test", "display_name": "", "state": "provisioning",'
        b' "addresses": ["a@b.test"], "imap": {"host": "h", "port": 143, "security": "starttls"},'
        b' "smtp": {"host": "h", "port": 587, "security": "starttls"}, "credentials": null}]}')
    assert entry.id == 3 and not entry.usable
