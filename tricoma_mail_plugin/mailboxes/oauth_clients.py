"""Talking to OAuth2 providers: Microsoft Entra ID through msal, Google and any standards-compliant
server through Authlib. Both give the same four operations (start a delegated sign-in with
PKCE, finish it, refresh, get an app-only token) and the same :class:`TokenSet`; a provider's
refusal becomes an :class:`OAuthFailure` with a typed code the connection test shows.

Nothing here touches the database: :mod:`oauth_tokens` stores what these return.
"""
from __future__ import annotations

import hashlib
import secrets
import tempfile
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import msal
import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from ..errors import OAuthFailure

#: Hosts of Microsoft's clouds: msal validates these authorities itself.
MICROSOFT_LOGIN_HOSTS = frozenset({"login.microsoftonline.com", "login.microsoftonline.us",
                                   "login.chinacloudapi.cn", "login.partner.microsoftonline.cn"})
#: Scopes msal adds by itself and refuses to be given.
MSAL_RESERVED_SCOPES = frozenset({"openid", "profile", "offline_access"})
#: Scopes that say nothing about mail access: never "missing".
IDENTITY_SCOPES = MSAL_RESERVED_SCOPES | {"email"}

# Microsoft's AADSTS numbers (in error_description) and OAuth2 error codes → test codes.
_AADSTS_CODES = (
    ("AADSTS7000215", "wrong_client_secret"), ("AADSTS7000222", "wrong_client_secret"),
    ("AADSTS90002", "wrong_tenant"), ("AADSTS900023", "wrong_tenant"), ("AADSTS90023", "wrong_tenant"),
    ("AADSTS700016", "wrong_client_id"), ("AADSTS65001", "consent_missing"), ("AADSTS90094", "consent_missing"),
    ("AADSTS50053", "account_locked"), ("AADSTS50057", "account_locked"), ("AADSTS70011", "missing_scope"),
    ("AADSTS50173", "sign_in_required"), ("AADSTS700082", "sign_in_required"), ("AADSTS70008", "sign_in_required"),
    ("AADSTS50076", "sign_in_required"), ("AADSTS50079", "sign_in_required"),
)
_ERROR_CODES = {
    "invalid_client": "wrong_client_secret", "unauthorized_client": "wrong_client_id",
    "invalid_scope": "missing_scope", "invalid_grant": "sign_in_required", "consent_required": "consent_missing",
    "interaction_required": "sign_in_required", "access_denied": "access_denied",
}
#: Codes after which only a person signing in again helps.
SIGN_IN_CODES = frozenset({"sign_in_required", "consent_missing", "account_locked"})


def classify(error: str, description: str = "") -> str:
    """The test code for a provider's ``error`` and ``error_description``."""
    for number, code in _AADSTS_CODES:
        if number in (description or ""):
            return code
    return _ERROR_CODES.get(error or "", "oauth_error")


@dataclass(frozen=True)
class TokenSet:
    """What a token response gave. ``refresh_token`` is None when the provider sent none (app
    tokens; Google's refresh keeps the old one)."""

    access_token: str = field(repr=False)
    expires_in: int
    refresh_token: str | None = field(default=None, repr=False)
    scope: tuple[str, ...] = ()

    @property
    def expires_at(self) -> float:
        return time.time() + self.expires_in


@dataclass(frozen=True)
class ProviderConfig:
    """A provider's settings as plain values, the client secret decrypted."""

    kind: str  # "microsoft", "google" or "standard"
    client_id: str
    client_secret: str = field(repr=False)
    tenant: str = ""
    authority: str = ""
    authorize_url: str = ""
    token_url: str = ""
    scopes: tuple[str, ...] = ()
    app_scopes: tuple[str, ...] = ()
    ca_file: str | None = None
    timeout: float = 20.0


class OAuthClient(Protocol):
    def start_sign_in(self, redirect_uri: str, login_hint: str = "") -> tuple[str, dict]:
        """The provider's sign-in URL and the flow to keep (secretly) until the redirect."""

    def finish_sign_in(self, flow: dict, params: Mapping[str, str]) -> TokenSet:
        """Exchange the redirect's ``code`` (checked against the flow's ``state``)."""

    def refresh(self, refresh_token: str) -> TokenSet: ...

    def app_token(self) -> TokenSet:
        """An app-only token (client credentials)."""


def client_for(config: ProviderConfig) -> OAuthClient:
    return MsalClient(config) if config.kind == "microsoft" else StandardClient(config)


def check_granted(requested: tuple[str, ...], tokens: TokenSet) -> TokenSet:
    """Refuse a token that lacks a requested mail scope (the provider may grant less than asked
    when the admin did not consent to everything). A response without ``scope`` grants all."""
    if tokens.scope:
        granted = {scope.lower() for scope in tokens.scope}
        missing = [scope for scope in requested if scope.lower() not in granted
                   and scope.lower() not in IDENTITY_SCOPES and not scope.endswith("/.default")]
        if missing:
            raise OAuthFailure("missing_scope", detail="not granted: " + " ".join(missing))
    return tokens


def _token_set(response: Mapping[str, Any]) -> TokenSet:
    scope = response.get("scope") or ""
    return TokenSet(str(response["access_token"]), int(response.get("expires_in") or 3600),
                    response.get("refresh_token") or None,
                    tuple(scope.split() if isinstance(scope, str) else scope))


def _failure(error: str, description: str = "") -> OAuthFailure:
    # The description names the cause (AADSTS…) and never a secret; shown to admins as detail.
    return OAuthFailure(classify(error, description), detail=f"{error}: {description}"[:300])


def ca_bundle(ca_file: str | None) -> str | bool:
    """What ``requests`` should verify against: the public CAs plus ``ca_file`` (a private CA,
    a test server), written once to a file of their own."""
    if not ca_file:
        return True
    extra = Path(ca_file).read_bytes()
    public = Path(requests.certs.where()).read_bytes()
    combined = public + b"\n" + extra
    path = Path(tempfile.gettempdir()) / f"tricoma-mail-ca-{hashlib.sha256(combined).hexdigest()[:16]}.pem"
    if not path.exists():
        partial = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
        partial.write_bytes(combined)
        partial.replace(path)
    return str(path)


class _ProviderSession(requests.Session):
    """Every request verifies against :func:`ca_bundle` and has a timeout, whatever the caller
    (msal, Authlib) passes; an explicit ``verify`` also keeps REQUESTS_CA_BUNDLE from replacing it."""

    def __init__(self, config: ProviderConfig) -> None:
        super().__init__()
        self._verify = ca_bundle(config.ca_file)
        self._timeout = config.timeout

    def request(self, method, url, **kwargs):
        kwargs["verify"] = self._verify
        kwargs.setdefault("timeout", self._timeout)
        try:
            return super().request(method, url, **kwargs)
        except requests.RequestException as error:
            raise OAuthFailure("provider_unreachable", detail=f"{urlsplit(url).netloc}: {type(error).__name__}") \
                from None


class MsalClient:
    """Microsoft Entra ID (Exchange Online) through msal."""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        authority = f"{(config.authority or 'https://login.microsoftonline.com').rstrip('/')}/" \
                    f"{config.tenant or 'organizations'}"
        known = urlsplit(authority).hostname in MICROSOFT_LOGIN_HOSTS
        try:
            self._app = msal.ConfidentialClientApplication(
                config.client_id, client_credential=config.client_secret, authority=authority,
                http_client=_ProviderSession(config), validate_authority=known, instance_discovery=known,
                token_cache=msal.TokenCache())
        except ValueError as error:  # msal reads the tenant's discovery document here
            raise OAuthFailure("wrong_tenant", detail=str(error)[:300]) from None

    def _scopes(self, scopes: tuple[str, ...]) -> list[str]:
        return [scope for scope in scopes if scope.lower() not in MSAL_RESERVED_SCOPES]

    def _result(self, response: Mapping[str, Any], requested: tuple[str, ...]) -> TokenSet:
        if "access_token" not in response:
            raise _failure(response.get("error", ""), response.get("error_description", ""))
        return check_granted(requested, _token_set(response))

    def start_sign_in(self, redirect_uri: str, login_hint: str = "") -> tuple[str, dict]:
        with warnings.catch_warnings():  # msal recommends form_post; the callback reads the query
            warnings.simplefilter("ignore")
            flow = self._app.initiate_auth_code_flow(self._scopes(self.config.scopes), redirect_uri=redirect_uri,
                                                     login_hint=login_hint or None)
        return flow["auth_uri"], dict(flow)

    def finish_sign_in(self, flow: dict, params: Mapping[str, str]) -> TokenSet:
        if params.get("error"):
            raise _failure(params["error"], params.get("error_description", ""))
        try:
            response = self._app.acquire_token_by_auth_code_flow(flow, dict(params),
                                                                  scopes=self._scopes(self.config.scopes))
        except ValueError as error:  # state mismatch: msal raises
            raise OAuthFailure("state_mismatch", detail=str(error)[:300]) from None
        return self._result(response, self.config.scopes)

    def refresh(self, refresh_token: str) -> TokenSet:
        response = self._app.acquire_token_by_refresh_token(refresh_token, self._scopes(self.config.scopes))
        return self._result(response, self.config.scopes)

    def app_token(self) -> TokenSet:
        response = self._app.acquire_token_for_client(list(self.config.app_scopes))
        return self._result(response, self.config.app_scopes)


class StandardClient:
    """Google and any RFC 6749 server (authorization code with PKCE, refresh, client
    credentials) through Authlib's requests client."""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config

    def _session(self, scopes: tuple[str, ...], **kwargs) -> OAuth2Session:
        session = OAuth2Session(self.config.client_id, self.config.client_secret, scope=" ".join(scopes),
                                code_challenge_method="S256", **kwargs)
        provider_session = _ProviderSession(self.config)
        session.verify, session.trust_env = provider_session._verify, False
        self._timeout = provider_session._timeout
        return session

    def _call(self, requested: tuple[str, ...], action) -> TokenSet:
        try:
            response = action()
        except OAuthError as error:
            raise _failure(error.error or "", error.description or "") from None
        except requests.RequestException as error:
            raise OAuthFailure("provider_unreachable", detail=type(error).__name__) from None
        if "access_token" not in response:
            raise _failure(response.get("error", ""), response.get("error_description", ""))
        return check_granted(requested, _token_set(response))

    def start_sign_in(self, redirect_uri: str, login_hint: str = "") -> tuple[str, dict]:
        verifier = generate_token(64)
        extra = {"access_type": "offline", "prompt": "consent"} if self.config.kind == "google" else {}
        if login_hint:
            extra["login_hint"] = login_hint
        session = self._session(self.config.scopes, redirect_uri=redirect_uri)
        url, state = session.create_authorization_url(self.config.authorize_url, code_verifier=verifier, **extra)
        return url, {"state": state, "code_verifier": verifier, "redirect_uri": redirect_uri}

    def finish_sign_in(self, flow: dict, params: Mapping[str, str]) -> TokenSet:
        if not flow or not secrets.compare_digest(str(params.get("state", "")), str(flow.get("state", ""))):
            raise OAuthFailure("state_mismatch")
        if params.get("error"):
            raise _failure(params["error"], params.get("error_description", ""))
        session = self._session(self.config.scopes, redirect_uri=flow["redirect_uri"], state=flow["state"])
        return self._call(self.config.scopes, lambda: session.fetch_token(
            self.config.token_url, code=params.get("code", ""), code_verifier=flow["code_verifier"],
            timeout=self._timeout))

    def refresh(self, refresh_token: str) -> TokenSet:
        session = self._session(self.config.scopes)
        return self._call(self.config.scopes, lambda: session.refresh_token(
            self.config.token_url, refresh_token=refresh_token, timeout=self._timeout))

    def app_token(self) -> TokenSet:
        session = self._session(self.config.app_scopes)
        return self._call(self.config.app_scopes, lambda: session.fetch_token(
            self.config.token_url, grant_type="client_credentials", timeout=self._timeout))
