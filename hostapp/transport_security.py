"""HTTPS behind a TLS proxy: secure cookies, HSTS and the client's real address.

* ``HOSTAPP_BEHIND_TLS``: the app is reached over HTTPS only. Default: on when
  ``PREFERRED_URL_SCHEME`` is ``https``. When on, the session cookie and the known-device cookie
  carry ``Secure`` and every answer carries ``Strict-Transport-Security`` (an answer to a
  request that came over HTTPS carries it in any case).
* ``HOSTAPP_HSTS_MAX_AGE`` (default 31536000, a year): the header's ``max-age``.
* ``HOSTAPP_TRUSTED_PROXIES`` (default 0): how many reverse proxies in front of the app set
  ``X-Forwarded-For`` and ``X-Forwarded-Proto``. Behind a proxy it must be set: otherwise every
  visitor has the proxy's address, and the login throttle's per-address limit counts everyone
  together.
"""
from __future__ import annotations

from flask import Flask, Response, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix


def init_app(app: Flask) -> None:
    if app.config.get("HOSTAPP_BEHIND_TLS") is None:
        app.config["HOSTAPP_BEHIND_TLS"] = app.config.get("PREFERRED_URL_SCHEME") == "https"
    if app.config["HOSTAPP_BEHIND_TLS"]:
        app.config["SESSION_COOKIE_SECURE"] = True
    proxies = int(app.config.get("HOSTAPP_TRUSTED_PROXIES") or 0)
    if proxies > 0:
        # Not X-Forwarded-Host: a proxy that does not set it would pass a client's own value,
        # and the password reset's links are built from the host.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    app.after_request(_strict_transport_security)


def cookies_secure() -> bool:
    """Whether cookies the host sets must carry ``Secure``."""
    return bool(current_app.config["HOSTAPP_BEHIND_TLS"])


def _strict_transport_security(response: Response) -> Response:
    if current_app.config["HOSTAPP_BEHIND_TLS"] or request.is_secure:
        response.headers.setdefault("Strict-Transport-Security",
                                    f"max-age={int(current_app.config['HOSTAPP_HSTS_MAX_AGE'])}")
    return response
