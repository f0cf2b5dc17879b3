"""Logging in with an OAuth2 access token: XOAUTH2 (Microsoft, Google) or OAUTHBEARER (RFC 7628),
chosen by what the server offers, with one retry on a fresh token when the server refuses.

IMAP and SMTP backends call :func:`token_login` with their own login step; this module knows
nothing of either protocol's library.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from .._i18n import _l
from ..errors import OAuthFailure
from .backend import ServerSettings, TokenSource

#: In order of preference: every provider that speaks OAuth2 for mail speaks XOAUTH2.
TOKEN_MECHANISMS = ("XOAUTH2", "OAUTHBEARER")


class StaticToken:
    """A token handed over as it is (``ServerSettings.auth == "xoauth2"``): nothing to refresh."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get(self, force_refresh: bool = False) -> str:
        return self._token


def uses_token(server: ServerSettings) -> bool:
    return server.auth in ("oauth2", "xoauth2")


def token_source_of(server: ServerSettings) -> TokenSource:
    return server.token_source if server.token_source is not None else StaticToken(server.password)


def choose_mechanism(offered: Iterable[str]) -> str | None:
    """The first of :data:`TOKEN_MECHANISMS` among ``offered`` (mechanism names, any case)."""
    names = {name.upper() for name in offered}
    return next((name for name in TOKEN_MECHANISMS if name in names), None)


def imap_mechanisms(capabilities: Iterable[str | bytes]) -> list[str]:
    """The SASL mechanisms in an IMAP capability list (``AUTH=XOAUTH2`` …)."""
    names = [c.decode() if isinstance(c, bytes) else str(c) for c in capabilities]
    return [name[5:] for name in names if name.upper().startswith("AUTH=")]


def initial_response(mechanism: str, user: str, token: str, host: str = "", port: int = 0) -> str:
    """The client's first message for ``mechanism`` (before base64)."""
    if mechanism == "XOAUTH2":
        return f"user={user}\x01auth=Bearer {token}\x01\x01"
    host_part = f"host={host}\x01port={port}\x01" if host else ""
    return f"n,a={user},\x01{host_part}auth=Bearer {token}\x01\x01"


def token_login(server: ServerSettings, offered: Iterable[str], login: Callable[[str, str], None],
                refused: tuple[type[BaseException], ...]) -> str:
    """Log in with ``login(mechanism, token)``. When it raises one of ``refused`` (the server
    turned the token down), ask for a fresh token and try once more; the second refusal is
    the caller's to translate. Returns the mechanism used.

    Raises :class:`OAuthFailure` (``oauth_not_offered``) when the server offers neither
    mechanism, and whatever the token source raises (``SignInRequired``, ``OAuthFailure``).
    """
    mechanism = choose_mechanism(offered)
    if mechanism is None:
        raise OAuthFailure("oauth_not_offered", str(_l("The server does not offer OAuth2 login (XOAUTH2 or "
                                                         "OAUTHBEARER) on this port.")),
                           detail="offered: " + " ".join(sorted(offered)))
    source = token_source_of(server)
    try:
        login(mechanism, source.get())
    except refused:
        login(mechanism, source.get(force_refresh=True))
    return mechanism
