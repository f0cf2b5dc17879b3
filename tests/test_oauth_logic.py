"""Pure logic of OAuth2 sign-in (issue 13): the mechanism chosen from what a server offers, the
client's first SASL message, Microsoft's and RFC 6749's errors as typed test codes, the check
of granted scopes, and the retry on a fresh token. Fakes only stand in for a server here; the
protocols are proven against Dovecot in test_oauth_live.py."""
from __future__ import annotations

import pytest

from tricoma_mail_plugin.errors import OAuthFailure
from tricoma_mail_plugin.mailboxes.backend import ServerSettings
from tricoma_mail_plugin.mailboxes.oauth_clients import (
    TokenSet,
    check_granted,
    classify,
)
from tricoma_mail_plugin.mailboxes.sasl import (
    choose_mechanism,
    imap_mechanisms,
    initial_response,
    token_login,
)

pytestmark = pytest.mark.db_independent


@pytest.mark.parametrize(("offered", "chosen"), [
    (["PLAIN", "XOAUTH2", "OAUTHBEARER"], "XOAUTH2"),
    (["oauthbearer", "plain"], "OAUTHBEARER"),
    (["PLAIN", "LOGIN"], None),
    ([], None),
])
def test_the_mechanism_follows_the_servers_offer(offered, chosen):
    assert choose_mechanism(offered) == chosen


def test_imap_capabilities_name_the_offered_mechanisms():
    capabilities = (b"IMAP4REV1", b"SASL-IR", b"AUTH=XOAUTH2", b"auth=OAUTHBEARER", b"LOGINDISABLED")
    assert imap_mechanisms(capabilities) == ["XOAUTH2", "OAUTHBEARER"]


def test_initial_responses_of_both_mechanisms():
    assert initial_response("XOAUTH2", "a@example.test", "tok") == "user=a@example.test\x01auth=Bearer tok\x01\x01"
    assert initial_response("OAUTHBEARER", "a@example.test", "tok", "imap.example.test", 993) == (
        "n,a=a@example.test,\x01host=imap.example.test\x01port=993\x01auth=Bearer tok\x01\x01")


@pytest.mark.parametrize(("error", "description", "code"), [
    # Microsoft Entra ID's real answers (error, error_description start)
    ("invalid_client", "AADSTS7000215: Invalid client secret provided.", "wrong_client_secret"),
    ("invalid_request", "AADSTS90002: Tenant 'nope' not found.", "wrong_tenant"),
    ("unauthorized_client", "AADSTS700016: Application with identifier 'x' was not found in the directory",
     "wrong_client_id"),
    ("invalid_grant", "AADSTS65001: The user or administrator has not consented to use the application",
     "consent_missing"),
    ("invalid_grant", "AADSTS50053: The account is locked", "account_locked"),
    ("invalid_grant", "AADSTS700082: The refresh token has expired due to inactivity.", "sign_in_required"),
    ("invalid_grant", "AADSTS50173: The provided grant has expired due to it being revoked", "sign_in_required"),
    ("invalid_scope", "AADSTS70011: The provided value for the input parameter 'scope' is not valid.",
     "missing_scope"),
    # RFC 6749 answers (Google, any server)
    ("invalid_grant", "Token has been expired or revoked.", "sign_in_required"),
    ("invalid_client", "Unauthorized", "wrong_client_secret"),
    ("access_denied", "", "access_denied"),
    ("temporarily_unavailable", "", "oauth_error"),
])
def test_provider_errors_become_typed_codes(error, description, code):
    assert classify(error, description) == code


def test_a_token_without_a_requested_mail_scope_is_refused():
    granted = TokenSet("at", 3600, "rt", ("openid", "offline_access"))
    with pytest.raises(OAuthFailure) as refused:
        check_granted(("https://outlook.office.com/IMAP.AccessAsUser.All", "offline_access"), granted)
    assert refused.value.code == "missing_scope"
    assert check_granted(("mail", "offline_access"), TokenSet("at", 60, None, ("MAIL",))).access_token == "at"
    assert check_granted(("https://outlook.office365.com/.default",), TokenSet("at", 60, None, ("x",)))
    assert check_granted(("mail",), TokenSet("at", 60)).access_token == "at"  # no scope in the answer


class _Tokens:
    def __init__(self) -> None:
        self.calls: list[bool] = []

    def get(self, force_refresh: bool = False) -> str:
        self.calls.append(force_refresh)
        return f"token{len(self.calls)}"


class _Refused(Exception):
    pass


def test_a_refused_token_is_refreshed_once_and_tried_again():
    tokens = _Tokens()
    server = ServerSettings("imap.example.test", 993, "tls", "a@example.test", auth="oauth2", token_source=tokens)
    tried: list[tuple[str, str]] = []

    def login(mechanism: str, token: str) -> None:
        tried.append((mechanism, token))
        if token == "token1":
            raise _Refused()

    assert token_login(server, ["XOAUTH2"], login, (_Refused,)) == "XOAUTH2"
    assert tokens.calls == [False, True] and tried == [("XOAUTH2", "token1"), ("XOAUTH2", "token2")]

    def always_refused(mechanism: str, token: str) -> None:
        raise _Refused()

    with pytest.raises(_Refused):  # the second refusal is the caller's
        token_login(server, ["OAUTHBEARER"], always_refused, (_Refused,))
    with pytest.raises(OAuthFailure) as missing:
        token_login(server, ["PLAIN"], login, (_Refused,))
    assert missing.value.code == "oauth_not_offered"
