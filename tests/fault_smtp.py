"""An SMTP server for fault tests, on 127.0.0.1: it misbehaves as told, and forwards what it
accepts to the real local stack's submission server, so delivery can be checked in the
recipient's real INBOX."""
from __future__ import annotations

import smtplib
import socket

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FaultySmtp:
    """``rcpt_4xx``: refuse RCPT with 451 this many times; ``rcpt_5xx``: always 550;
    ``cut_after_data``: deliver, then hang up before replying to the final dot."""

    def __init__(self, relay_port: int, relay_user: str, relay_password: str) -> None:
        self.relay = ("127.0.0.1", relay_port, relay_user, relay_password)
        self.rcpt_4xx = 0
        self.rcpt_5xx = False
        self.cut_after_data = False
        self.delivered = 0
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> "FaultySmtp":
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_5xx:
            return "550 5.1.1 <%s>: recipient refused" % address
        if self.rcpt_4xx > 0:
            self.rcpt_4xx -= 1
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        host, port, user, password = self.relay
        with smtplib.SMTP(host, port, timeout=30) as relay:
            relay.login(user, password)
            relay.sendmail(envelope.mail_from, envelope.rcpt_tos, envelope.original_content)
        self.delivered += 1
        if self.cut_after_data:
            session.peer and server.transport.close()
            return "250 never seen by the client"
        return "250 OK queued"
