"""A loopback TCP proxy for fault tests: it forwards between a client and a real server on
127.0.0.1, and when the client sends a line containing ``trigger`` it lets ``cut_after`` more
bytes of the server's answer through, then ends the connection with a FIN (``"fin"``), a reset
(``"rst"``) or by going silent (``"stall"``) while keeping the socket open. ``hide`` takes words
out of what the server says (``b" CONDSTORE"``), to play a server without those capabilities.
``passed`` counts the server's bytes that reached the client after the trigger."""
from __future__ import annotations

import socket
import struct
import threading


class FaultProxy:
    def __init__(self, target_port: int, trigger: bytes, cut_after: int | None = 0, mode: str = "fin",
                 hide: tuple[bytes, ...] = ()) -> None:
        if mode not in ("fin", "rst", "stall"):
            raise ValueError(mode)
        self.target_port, self.trigger, self.cut_after, self.mode = target_port, trigger, cut_after, mode
        self.hide = hide
        self.cuts = 0
        self.passed = 0
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self.port = self._listener.getsockname()[1]
        self._open: list[socket.socket] = []
        self._closed = threading.Event()

    def __enter__(self) -> "FaultProxy":
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._closed.set()
        self._listener.close()
        for sock in self._open:
            try:
                sock.close()
            except OSError:
                pass

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            self._open += [client, server]
            left = self.cut_after if self.cut_after is not None else float("inf")
            state = {"armed": False, "left": left, "cut": False}
            state["reader"] = threading.Thread(target=self._client_to_server, args=(client, server, state),
                                               daemon=True)
            state["reader"].start()
            threading.Thread(target=self._server_to_client, args=(server, client, state), daemon=True).start()

    def _client_to_server(self, client, server, state) -> None:
        while True:
            try:
                data = client.recv(65536)
            except OSError:
                return
            if not data or state["cut"]:
                return
            if self.trigger in data:
                state["armed"] = True
            try:
                server.sendall(data)
            except OSError:
                return

    def _server_to_client(self, server, client, state) -> None:
        while True:
            try:
                data = server.recv(65536)
            except OSError:
                return
            if not data:
                client.close()
                return
            for word in self.hide:
                data = data.replace(word, b"")
            if state["armed"]:
                self.passed += min(len(data), state["left"])
                if len(data) >= state["left"]:
                    try:
                        client.sendall(data[:state["left"]])
                    except OSError:
                        pass
                    self._cut(client, server, state)
                    return
                state["left"] -= len(data)
            try:
                client.sendall(data)
            except OSError:
                return

    def _cut(self, client, server, state) -> None:
        state["cut"] = True
        self.cuts += 1
        if self.mode == "stall":
            return  # both sockets stay open; nothing more reaches the client
        if self.mode == "rst":
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # close() alone does nothing while the reader thread sits in recv() on the same socket:
        # wake it (SHUT_RD sends nothing), let it leave, then close (FIN, or RST with linger 0).
        client.shutdown(socket.SHUT_RD)
        state["reader"].join(5)
        if self.mode == "fin":
            client.shutdown(socket.SHUT_WR)
        client.close()
        server.close()
