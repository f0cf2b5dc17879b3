"""A small asyncio IMAP client that does one thing: watch one folder and say when it changed.

It speaks just enough IMAP4rev1 for that (greeting, STARTTLS, LOGIN or XOAUTH2, CAPABILITY,
EXAMINE, IDLE/DONE from RFC 2177, NOOP), so thousands of watchers share one event loop: a watcher
is a coroutine and two stream objects, not a thread. Changes come as untagged ``EXISTS``,
``EXPUNGE``, ``VANISHED`` and ``FETCH`` responses (RFC 3501 §7.3-7.4, RFC 7162); the client does
not parse them further, since the caller syncs the folder through core anyway.
"""
from __future__ import annotations

import asyncio
import base64
import ssl
from collections.abc import Awaitable, Callable

from tricoma_mail_plugin import ServerSettings, is_loopback, tls_context

#: untagged responses that mean "the folder changed", by the word after the number
CHANGE_WORDS = {b"EXISTS": "new", b"EXPUNGE": "expunged", b"FETCH": "flags", b"RECENT": "new"}
MAX_LINE = 1 << 20


class IdleError(Exception):
    """The server refused a command or the connection broke; the watcher reconnects."""


def quoted(text: str) -> str:
    """An IMAP quoted string (RFC 3501 §4.3)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def change_kind(line: bytes) -> str | None:
    """What an untagged line says changed (``"new"``, ``"expunged"``, ``"flags"``), or ``None``."""
    if not line.startswith(b"* "):
        return None
    words = line[2:].split(None, 2)
    if len(words) >= 2 and words[0].isdigit():
        return CHANGE_WORDS.get(words[1].upper())
    if words and words[0].upper() == b"VANISHED":
        return "expunged"
    return None


class IdleConnection:
    """One connection, one watched folder. ``await connect()``, then ``await idle(...)`` or
    ``await poll(...)``; ``await close()`` at the end."""

    def __init__(self, server: ServerSettings, folder: str = "INBOX") -> None:
        self.server = server
        self.folder = folder
        self.capabilities: frozenset[str] = frozenset()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._tag = 0

    @property
    def supports_idle(self) -> bool:
        return "IDLE" in self.capabilities

    # -- connection ------------------------------------------------------------------------
    async def connect(self) -> None:
        server = self.server
        if server.security == "none" and not is_loopback(server.host):
            raise IdleError("unencrypted connections are allowed only to this machine")
        loop = asyncio.get_running_loop()
        # The address policy decides which addresses may be reached (docs/security.md).
        addresses = await loop.run_in_executor(None, server.policy.resolve, server.host, server.port)
        context = tls_context(server.ca_file) if server.security != "none" else None
        address = addresses[0][4][0]
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel that comes
        # as its awaitable finishes, and a watcher told to stop would go on watching
        async with asyncio.timeout(server.timeout):
            self._reader, self._writer = await asyncio.open_connection(
                address, server.port, limit=MAX_LINE,
                ssl=context if server.security == "tls" else None,
                server_hostname=server.host if server.security == "tls" else None)
        greeting = await self._line(server.timeout)
        if not greeting.startswith(b"* OK"):
            raise IdleError(f"unexpected greeting {greeting[:80]!r}")
        if server.security == "starttls":
            await self.command("STARTTLS")
            await self._writer.start_tls(context, server_hostname=server.host)
        await self._login()
        await self.command("CAPABILITY")
        await self.command(f"EXAMINE {quoted(self.folder)}")

    async def _login(self) -> None:
        server = self.server
        if server.auth == "xoauth2":
            token = f"user={server.username}\x01auth=Bearer {server.password}\x01\x01"
            await self.command("AUTHENTICATE XOAUTH2 " + base64.b64encode(token.encode()).decode())
        else:
            await self.command(f"LOGIN {quoted(server.username)} {quoted(server.password)}")

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is None:
            return
        try:
            writer.write(b"z LOGOUT\r\n")
            async with asyncio.timeout(2):
                await writer.drain()
        except (TimeoutError, OSError, ssl.SSLError):
            pass
        writer.close()
        try:
            async with asyncio.timeout(2):
                await writer.wait_closed()
        except (TimeoutError, OSError, ssl.SSLError):
            pass

    # -- commands --------------------------------------------------------------------------
    async def command(self, text: str, on_untagged: Callable[[bytes], None] | None = None) -> list[bytes]:
        """Send one command and read up to its tagged answer; untagged lines are returned (and
        handed to ``on_untagged``). A NO or BAD answer raises :class:`IdleError`."""
        self._tag += 1
        tag = f"w{self._tag}".encode()
        self._send(tag + b" " + text.encode() + b"\r\n")
        untagged = []
        while True:
            line = await self._line(self.server.timeout)
            if line.startswith(tag + b" "):
                if not line[len(tag) + 1:].upper().startswith(b"OK"):
                    raise IdleError(f"{text.split()[0]} refused: {line[:200]!r}")
                self._remember_capabilities(line)
                return untagged
            if line.startswith(b"+") and text.startswith("STARTTLS"):
                continue
            self._remember_capabilities(line)
            untagged.append(line)
            if on_untagged:
                on_untagged(line)

    async def idle(self, on_change: Callable[[str], Awaitable[None] | None], renew_after: float) -> None:
        """Stay in IDLE, calling ``on_change(kind)`` for each change the server announces, and
        leave it after ``renew_after`` seconds (before the server's 30-minute limit, RFC 2177)
        so the caller can IDLE again. Returns when the IDLE was ended cleanly."""
        self._tag += 1
        tag = f"w{self._tag}".encode()
        self._send(tag + b" IDLE\r\n")
        line = await self._line(self.server.timeout)
        if not line.startswith(b"+"):
            raise IdleError(f"IDLE refused: {line[:200]!r}")
        deadline = asyncio.get_running_loop().time() + renew_after
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                break
            try:
                line = await self._line(left)
            except TimeoutError:
                break
            await _announce(line, on_change)
        self._send(b"DONE\r\n")
        while True:
            line = await self._line(self.server.timeout)
            if line.startswith(tag + b" "):
                if not line[len(tag) + 1:].upper().startswith(b"OK"):
                    raise IdleError(f"IDLE ended with {line[:200]!r}")
                return
            await _announce(line, on_change)

    async def poll(self, on_change: Callable[[str], Awaitable[None] | None]) -> None:
        """One NOOP: a server without IDLE reports the folder's changes in its answer."""
        for line in await self.command("NOOP"):
            await _announce(line, on_change)

    # -- lines -----------------------------------------------------------------------------
    def _send(self, data: bytes) -> None:
        if self._writer is None:
            raise IdleError("not connected")
        self._writer.write(data)

    async def _line(self, timeout: float) -> bytes:
        if self._reader is None:
            raise IdleError("not connected")
        async with asyncio.timeout(timeout):
            line = await self._reader.readline()
        if not line:
            raise IdleError("the server closed the connection")
        return line.rstrip(b"\r\n")

    def _remember_capabilities(self, line: bytes) -> None:
        upper = line.upper()
        start = upper.find(b"CAPABILITY ")
        if start < 0 or not (upper.startswith(b"* CAPABILITY") or b"[CAPABILITY " in upper):
            return
        words = upper[start + len(b"CAPABILITY "):].split(b"]", 1)[0].split()
        self.capabilities = frozenset(word.decode("ascii", "replace") for word in words)


async def _announce(line: bytes, on_change: Callable[[str], Awaitable[None] | None]) -> None:
    kind = change_kind(line)
    if kind is not None:
        result = on_change(kind)
        if asyncio.iscoroutine(result):
            await result
