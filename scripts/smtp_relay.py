#!/usr/bin/env python3
"""SMTP submission server of the local mail stack (started by scripts/mailstack.py).

Listens on 127.0.0.1 only and never relays to the outside:

* AUTH PLAIN/LOGIN is required (530 without, 535 on a wrong password). Passwords are checked by the
  profile's own Dovecot over its auth-client socket, so SMTP knows exactly the users IMAP knows,
  fixed and SQL-provisioned alike.
* At RCPT time each recipient is offered to the LMTP servers given with ``--lmtp`` in order (the
  own profile's first); the first that accepts it gets the message. A recipient no LMTP server
  knows is refused with 550, so mail between the stack's profiles works and nothing else does.
* Each recipient is delivered in its own LMTP transaction, because ``smtplib.LMTP`` reads only one
  reply after DATA while LMTP sends one per recipient.
* STARTTLS is offered with ``--tls-cert``/``--tls-key`` but not required.
* With ``--oauth`` (the OAuth2 stack, ``scripts/oauth_mailstack.py``) it offers XOAUTH2 and
  OAUTHBEARER instead of PLAIN/LOGIN and hands the token exchange to Dovecot's ``passdb oauth2``.

Stop it with SIGTERM.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import logging
import os
import signal
import socket
import ssl
import sys
import warnings
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from lmtp_route import deliver, probe_recipient

HOST = "127.0.0.1"
AUTH_TIMEOUT = 10.0

log = logging.getLogger("smtp_relay")

# The relay is loopback-only by design; aiosmtpd warns about AUTH without TLS on every connection.
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")


class _DropKnownNoise(logging.Filter):
    """aiosmtpd logs these on every connection or login; they say nothing about this relay."""

    NOISE = ("auth_require_tls == False", "Session.login_data is deprecated")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(noise in message for noise in self.NOISE)


# ------------------------------------------------------------------------------------------------
# Dovecot authentication
# ------------------------------------------------------------------------------------------------


class AuthUnavailable(Exception):
    """Dovecot's auth service could not be asked."""


def dovecot_auth(socket_path: str, user: str, password: str) -> bool:
    """Check a password with Dovecot's auth-client protocol 1.2 (AUTH PLAIN); True when accepted."""
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(AUTH_TIMEOUT)
            sock.connect(socket_path)
            stream = sock.makefile("rwb")
            stream.write(b"VERSION\t1\t2\nCPID\t%d\n" % os.getpid())
            stream.flush()
            while not (line := stream.readline()).startswith(b"DONE"):
                if not line:
                    raise AuthUnavailable("auth service closed the connection during the handshake")
            plain = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode())
            stream.write(b"AUTH\t1\tPLAIN\tservice=smtp\tsecured\trip=%s\tresp=%s\n" % (HOST.encode(), plain))
            stream.flush()
            reply = stream.readline()
    except OSError as exc:
        raise AuthUnavailable(str(exc)) from exc
    return reply.startswith(b"OK\t1")


class DovecotAuthenticator:
    """aiosmtpd authenticator that asks Dovecot."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode("utf-8", "replace")
        try:
            ok = dovecot_auth(self.socket_path, user, auth_data.password.decode("utf-8", "replace"))
        except AuthUnavailable as exc:
            log.error("auth service unavailable: %s", exc)
            return AuthResult(success=False, handled=False, message="454 4.7.0 Temporary authentication failure")
        log.info("AUTH %s %s", user, "ok" if ok else "failed")
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)


class DovecotSaslExchange:
    """One SASL exchange with Dovecot's auth-client protocol for a token mechanism (XOAUTH2,
    OAUTHBEARER): the client's initial response goes in; Dovecot answers OK, FAIL, or CONT with
    an error challenge the client must answer (with an empty line) before the final FAIL."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self._sock: socket.socket | None = None
        self._stream = None

    def start(self, mechanism: str, initial: bytes) -> tuple[str, bytes]:
        """Send the initial response; returns ("ok", user), ("fail", b"") or ("cont", challenge)."""
        try:
            self._sock = socket.socket(socket.AF_UNIX)
            self._sock.settimeout(AUTH_TIMEOUT)
            self._sock.connect(self.socket_path)
            self._stream = self._sock.makefile("rwb")
            self._stream.write(b"VERSION\t1\t2\nCPID\t%d\n" % os.getpid())
            self._stream.flush()
            while not (line := self._stream.readline()).startswith(b"DONE"):
                if not line:
                    raise AuthUnavailable("auth service closed the connection during the handshake")
            self._stream.write(b"AUTH\t1\t%s\tservice=smtp\tsecured\trip=%s\tresp=%s\n"
                               % (mechanism.encode(), HOST.encode(), base64.b64encode(initial)))
            self._stream.flush()
            return self._reply()
        except OSError as exc:
            self.close()
            raise AuthUnavailable(str(exc)) from exc

    def answer(self, response: bytes) -> tuple[str, bytes]:
        try:
            self._stream.write(b"CONT\t1\t%s\n" % base64.b64encode(response))
            self._stream.flush()
            return self._reply()
        except OSError as exc:
            self.close()
            raise AuthUnavailable(str(exc)) from exc

    def _reply(self) -> tuple[str, bytes]:
        fields = self._stream.readline().rstrip(b"\n").split(b"\t")
        if fields[0] == b"OK":
            user = next((f[5:] for f in fields[2:] if f.startswith(b"user=")), b"")
            return "ok", user
        if fields[0] == b"CONT":
            return "cont", base64.b64decode(fields[2]) if len(fields) > 2 else b""
        return "fail", b""

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class TokenMechanisms:
    """XOAUTH2 and OAUTHBEARER for aiosmtpd (``--oauth``): the token is checked by Dovecot's
    ``passdb oauth2``, and a refusal passes Dovecot's error challenge to the client first."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        return await self._exchange(server, "XOAUTH2", args)

    async def auth_OAUTHBEARER(self, server: SMTP, args: list[str]) -> AuthResult:
        return await self._exchange(server, "OAUTHBEARER", args)

    async def _exchange(self, server: SMTP, mechanism: str, args: list[str]) -> AuthResult:
        loop = asyncio.get_running_loop()
        if len(args) > 1:
            initial = base64.b64decode(args[1])
        else:
            answer = await server.challenge_auth(b"", encode_to_b64=False)
            if not isinstance(answer, bytes):
                return AuthResult(success=False, handled=True)
            initial = answer
        exchange = DovecotSaslExchange(self.socket_path)
        try:
            state, data = await loop.run_in_executor(None, exchange.start, mechanism, initial)
            while state == "cont":
                answer = await server.challenge_auth(data)
                if not isinstance(answer, bytes):
                    return AuthResult(success=False, handled=True)
                state, data = await loop.run_in_executor(None, exchange.answer, answer)
        except AuthUnavailable as exc:
            log.error("auth service unavailable: %s", exc)
            return AuthResult(success=False, handled=False, message="454 4.7.0 Temporary authentication failure")
        finally:
            exchange.close()
        user = data.decode("utf-8", "replace") if state == "ok" else None
        log.info("AUTH %s %s", mechanism, f"ok {user}" if user else "failed")
        return AuthResult(success=state == "ok", handled=False, auth_data=user)


# ------------------------------------------------------------------------------------------------
# LMTP routing and delivery
# ------------------------------------------------------------------------------------------------


class LmtpRouter:
    """aiosmtpd handler: route recipients at RCPT time and deliver at DATA."""

    def __init__(self, lmtp_ports: list[int]) -> None:
        self.lmtp_ports = lmtp_ports

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        loop = asyncio.get_running_loop()
        verdict = await loop.run_in_executor(None, probe_recipient, self.lmtp_ports, address)
        if verdict.port is None:
            log.info("RCPT <%s> refused: %s", address, verdict.reply)
            return verdict.reply
        _routes(envelope)[address] = verdict.port
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return verdict.reply

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        loop = asyncio.get_running_loop()
        routes = _routes(envelope)
        content = envelope.original_content or b""
        failed = {}
        for rcpt in envelope.rcpt_tos:
            error = await loop.run_in_executor(None, deliver, routes[rcpt], envelope.mail_from or "", rcpt, content)
            if error:
                failed[rcpt] = error
            log.info(
                "from <%s> to <%s> via LMTP %d: %s", envelope.mail_from, rcpt, routes[rcpt], error or "delivered"
            )
        if failed and len(failed) == len(envelope.rcpt_tos):
            return f"451 4.3.0 delivery failed: {'; '.join(failed.values())}"[:500]
        if failed:
            return f"250 2.0.0 OK, but not delivered to {', '.join(failed)}"
        return "250 2.0.0 OK delivered"


class OAuthLmtpRouter(LmtpRouter, TokenMechanisms):
    """The router of an ``--oauth`` relay: tokens instead of passwords."""

    def __init__(self, lmtp_ports: list[int], socket_path: str) -> None:
        LmtpRouter.__init__(self, lmtp_ports)
        TokenMechanisms.__init__(self, socket_path)


def _routes(envelope: Envelope) -> dict[str, int]:
    """The recipient → LMTP port map kept on the envelope (a new envelope per transaction)."""
    routes: dict[str, int] | None = getattr(envelope, "lmtp_routes", None)
    if routes is None:
        routes = {}
        envelope.lmtp_routes = routes  # type: ignore[attr-defined]
    return routes


# ------------------------------------------------------------------------------------------------
# Main
# ------------------------------------------------------------------------------------------------


def _tls_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    if not cert or not key:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="submission port on 127.0.0.1")
    parser.add_argument("--auth-socket", required=True, help="Dovecot auth-client unix socket")
    parser.add_argument("--lmtp", type=int, action="append", required=True, help="LMTP port (repeat; own first)")
    parser.add_argument("--hostname", default="localhost", help="name in the greeting")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--oauth", action="store_true",
                        help="offer XOAUTH2 and OAUTHBEARER only (tokens checked by Dovecot's passdb oauth2)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    logging.getLogger("mail.log").addFilter(_DropKnownNoise())
    # Block the stop signals before the server thread starts so that only sigwait() sees them.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    handler = OAuthLmtpRouter(args.lmtp, args.auth_socket) if args.oauth else LmtpRouter(args.lmtp)
    controller = Controller(
        handler,
        hostname=HOST,
        port=args.port,
        server_hostname=args.hostname,
        authenticator=DovecotAuthenticator(args.auth_socket),
        auth_required=True,
        auth_require_tls=False,
        tls_context=_tls_context(args.tls_cert, args.tls_key),
        require_starttls=False,
        auth_exclude_mechanism=("PLAIN", "LOGIN") if args.oauth else None,
    )
    controller.start()
    log.info("listening on %s:%d, LMTP routes %s, pid %d", HOST, args.port, args.lmtp, os.getpid())
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    controller.stop()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
