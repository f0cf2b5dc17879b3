"""A local OAuth2 authorization server for the tests, built with Authlib (issue 13).

It plays Microsoft Entra ID and Google for the product's OAuth2 clients (msal and Authlib) and
answers Dovecot's ``passdb oauth2`` token introspection, all on 127.0.0.1:

* ``/authorize``: a login and consent form (ids ``#username #password #allow #deny`` for
  Playwright); authorization code with PKCE (S256, required for every client).
* ``/token``: ``authorization_code``, ``refresh_token`` (rotated on every use; reusing a rotated
  one revokes the whole grant, as Entra and Google do) and ``client_credentials``.
* ``/introspect`` (RFC 7662, for Dovecot: ``client_secret_post``) and ``/revoke`` (RFC 7009).
* Microsoft's shape for msal: ``/<tenant>/v2.0/.well-known/openid-configuration`` and
  ``/<tenant>/oauth2/v2.0/{authorize,token}``; msal needs https, so the server listens on an
  http port (Dovecot's introspection) and an https port (the product's clients) at once.

Access tokens are opaque random strings; introspection tells the mailbox in ``email`` (Dovecot's
``username_attribute``). A client-credentials token carries the mailbox its app was granted
(``Client.mailbox``), as Exchange Online's service principal with mailbox permission does.
Lifetimes are set per server (``access_ttl``) and can change while it runs.
"""
from __future__ import annotations

import hmac
import secrets
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from flask import Flask, jsonify, request
from markupsafe import escape
from werkzeug.serving import make_server

HOST = "127.0.0.1"
AUDIENCE = "mail"


@dataclass
class Client(ClientMixin):
    """A registered app. ``secret`` None: a public client (PKCE only)."""

    client_id: str
    secret: str | None
    redirect_uris: list[str] = field(default_factory=list)
    scopes: frozenset[str] = frozenset({"mail", "openid", "profile", "email", "offline_access"})
    grant_types: frozenset[str] = frozenset({"authorization_code", "refresh_token", "client_credentials"})
    mailbox: str | None = None  # the mailbox an app-only token may open

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope):
        # Like real providers: grant what the app may have and report it in "scope"; when it
        # may have none of what it asked for, refuse with invalid_scope (None).
        allowed = " ".join(item for item in (scope or "").split() if item in self.scopes)
        return allowed if allowed or not scope else None

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret):
        return self.secret is not None and hmac.compare_digest(client_secret or "", self.secret)

    def check_endpoint_auth_method(self, method, endpoint):
        if self.secret is None:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type in self.grant_types


@dataclass
class Token:
    client_id: str
    email: str | None
    scope: str
    access_token: str
    refresh_token: str | None
    issued_at: float
    expires_in: int
    grant: str  # one id per sign-in: a rotated family shares it
    access_revoked: bool = False
    refresh_revoked: bool = False

    def check_client(self, client):
        return client.client_id == self.client_id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return self.expires_in

    def is_expired(self):
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self):
        return self.access_revoked


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    email: str
    code_challenge: str | None
    code_challenge_method: str | None
    created: float = field(default_factory=time.time)

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def is_expired(self):
        return time.time() > self.created + 300


@dataclass(frozen=True)
class User:
    email: str


LOGIN_PAGE = """<!doctype html><html><head><title>Sign in - Local IdP</title></head><body>
<h1>Sign in</h1><p id="client">{client}</p><p id="scope">{scope}</p>
<form method="post">
<label>User <input id="username" name="username"></label>
<label>Password <input id="password" name="password" type="password"></label>
<label><input id="consent" name="consent" type="checkbox" value="yes"> Allow access to your mail</label>
<button id="allow" name="decision" value="allow">Allow</button>
<button id="deny" name="decision" value="deny">Deny</button>
</form></body></html>"""


class LocalAuthorizationServer:
    """The server with its users, clients and tokens in memory; ``start()`` serves it on an
    http and an https port of 127.0.0.1 in threads of this process."""

    def __init__(self, cert: str, key: str, access_ttl: int = 3600) -> None:
        self.cert, self.key = cert, key
        self.access_ttl = access_ttl
        self.users: dict[str, str] = {}
        self.clients: dict[str, Client] = {}
        self.tokens: list[Token] = []
        self.codes: dict[str, AuthorizationCode] = {}
        self.grants_issued: Counter[str] = Counter()  # grant type → tokens issued
        self.token_errors: Counter[str] = Counter()
        self._lock = threading.RLock()
        self.app = self._make_app()
        self._servers: list = []
        self.http_port = self.https_port = 0

    # -- administration by the tests -----------------------------------------------------------
    def add_user(self, email: str, password: str) -> None:
        self.users[email.lower()] = password

    def add_client(self, client: Client) -> Client:
        self.clients[client.client_id] = client
        return client

    def revoke_grants_of(self, email: str) -> int:
        """Revoke every sign-in of ``email``, refresh and access tokens (consent withdrawn,
        password changed). Returns how many tokens were live."""
        with self._lock:
            hit = [t for t in self.tokens if t.email == email.lower() and not t.refresh_revoked]
            for token in hit:
                self._revoke_grant(token.grant)
            return len(hit)

    def secrets_issued(self) -> set[str]:
        """Every access and refresh token issued so far and every client secret."""
        issued = {t.access_token for t in self.tokens} | {t.refresh_token for t in self.tokens if t.refresh_token}
        return issued | {c.secret for c in self.clients.values() if c.secret}

    def live_tokens(self) -> list[Token]:
        return [t for t in self.tokens if not t.is_expired() and not t.access_revoked]

    @property
    def http_url(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    @property
    def https_url(self) -> str:
        return f"https://{HOST}:{self.https_port}"

    # -- serving ---------------------------------------------------------------------------------
    def start(self) -> LocalAuthorizationServer:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        for ssl_context in (None, context):
            server = make_server(HOST, 0, self.app, threaded=True, ssl_context=ssl_context)
            threading.Thread(target=server.serve_forever, name="oauth-server", daemon=True).start()
            self._servers.append(server)
        self.http_port = self._servers[0].server_port
        self.https_port = self._servers[1].server_port
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    # -- the Flask app ---------------------------------------------------------------------------
    def _make_app(self) -> Flask:
        app = Flask("local_oauth_server")
        app.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = True
        server = AuthorizationServer(app, query_client=self.clients.get, save_token=self._save_token)
        server.register_token_generator("default", BearerTokenGenerator(
            lambda **_: secrets.token_urlsafe(32), lambda **_: secrets.token_urlsafe(32),
            lambda client, grant_type: self.access_ttl))
        outer = self

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")

            def save_authorization_code(self, code, req):
                data = req.payload.data
                outer.codes[code] = AuthorizationCode(
                    code, req.client.client_id, req.payload.redirect_uri, req.scope, req.user.email,
                    data.get("code_challenge"), data.get("code_challenge_method"))

            def query_authorization_code(self, code, client):
                found = outer.codes.get(code)
                if found and found.client_id == client.client_id and not found.is_expired():
                    return found
                return None

            def delete_authorization_code(self, authorization_code):
                outer.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code):
                return User(authorization_code.email)

        class RefreshGrant(grants.RefreshTokenGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
            INCLUDE_NEW_REFRESH_TOKEN = True

            def authenticate_refresh_token(self, refresh_token):
                with outer._lock:
                    token = next((t for t in outer.tokens if t.refresh_token == refresh_token), None)
                    if token is None:
                        return None
                    if token.refresh_revoked:
                        outer._revoke_grant(token.grant)  # reuse of a rotated token: kill the family
                        return None
                    self.request.grant_id = token.grant
                    return token

            def authenticate_user(self, refresh_token):
                return User(refresh_token.email) if refresh_token.email else None

            def revoke_old_credential(self, refresh_token):
                refresh_token.refresh_revoked = True

        class ClientCredentialsGrant(grants.ClientCredentialsGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic", "client_secret_post")

        class Introspection(IntrospectionEndpoint):
            CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post")

            def query_token(self, token, token_type_hint):
                return next((t for t in outer.tokens if t.access_token == token), None)

            def introspect_token(self, token):
                return {"active": True, "client_id": token.client_id, "token_type": "Bearer",
                        "scope": token.scope, "email": token.email, "username": token.email,
                        "sub": token.email or token.client_id, "aud": AUDIENCE, "iss": outer.http_url,
                        "exp": int(token.issued_at + token.expires_in), "iat": int(token.issued_at)}

            def check_permission(self, token, client, req):
                return client.client_id == "dovecot"

        class Revocation(RevocationEndpoint):
            CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")

            def query_token(self, token, token_type_hint):
                return next((t for t in outer.tokens if token in (t.access_token, t.refresh_token)), None)

            def revoke_token(self, token, req):
                outer._revoke_grant(token.grant)

        server.register_grant(CodeGrant, [CodeChallenge(required=True)])
        server.register_grant(RefreshGrant)
        server.register_grant(ClientCredentialsGrant)
        server.register_endpoint(Introspection)
        server.register_endpoint(Revocation)

        def authorize():
            if request.method == "GET":
                grant = server.get_consent_grant(end_user=None)
                return LOGIN_PAGE.format(client=escape(grant.client.client_id),
                                         scope=escape(grant.request.scope or ""))
            email = request.form.get("username", "").strip().lower()
            known = hmac.compare_digest(self.users.get(email, "\0"), request.form.get("password", ""))
            if request.form.get("decision") != "allow" or not request.form.get("consent") or not known:
                return server.create_authorization_response(grant_user=None)
            return server.create_authorization_response(grant_user=User(email))

        def token():
            response = server.create_token_response()
            if response.status_code != 200:
                self.token_errors[response.get_json().get("error", "?")] += 1
            return response

        app.add_url_rule("/authorize", "authorize", authorize, methods=["GET", "POST"])
        app.add_url_rule("/<tenant>/oauth2/v2.0/authorize", "ms_authorize", lambda tenant: authorize(),
                         methods=["GET", "POST"])
        app.add_url_rule("/token", "token", token, methods=["POST"])
        app.add_url_rule("/<tenant>/oauth2/v2.0/token", "ms_token", lambda tenant: token(), methods=["POST"])
        app.add_url_rule("/introspect", "introspect",
                         lambda: server.create_endpoint_response(IntrospectionEndpoint.ENDPOINT_NAME),
                         methods=["POST"])
        app.add_url_rule("/revoke", "revoke",
                         lambda: server.create_endpoint_response(RevocationEndpoint.ENDPOINT_NAME),
                         methods=["POST"])
        app.add_url_rule("/.well-known/openid-configuration", "discovery", lambda: jsonify(self._discovery("")))
        app.add_url_rule("/<tenant>/v2.0/.well-known/openid-configuration", "ms_discovery",
                         lambda tenant: jsonify(self._discovery(f"/{tenant}/oauth2/v2.0")))
        return app

    def _discovery(self, prefix: str) -> dict:
        base = request.host_url.rstrip("/")
        return {"issuer": base, "authorization_endpoint": f"{base}{prefix}/authorize",
                "token_endpoint": f"{base}{prefix}/token", "introspection_endpoint": f"{base}/introspect",
                "revocation_endpoint": f"{base}/revoke", "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"]}

    def _save_token(self, token: dict, req) -> None:
        grant_type = req.payload.grant_type
        client = req.client
        email = req.user.email if req.user else (client.mailbox or None)
        grant = getattr(req, "grant_id", None) or secrets.token_hex(8)
        with self._lock:
            self.tokens.append(Token(client.client_id, email, token.get("scope", ""), token["access_token"],
                                     token.get("refresh_token"), time.time(), token["expires_in"], grant))
            self.grants_issued[grant_type] += 1

    def _revoke_grant(self, grant: str) -> None:
        with self._lock:
            for token in self.tokens:
                if token.grant == grant:
                    token.access_revoked = token.refresh_revoked = True
