"""A local fake of Slack's Socket Mode (the double at the Slack edge, beside `slack_api`).

`apps.connections.open` answers with a `ws://127.0.0.1:…` URL; the app connects there, gets
`hello`, and every envelope sent with `send()` must come back as an ack carrying its
`envelope_id`. `refresh()` asks the app to reconnect the way Slack does every few hours;
`drop()` cuts the socket the way a network failure does. Either way the app is expected to call
`apps.connections.open` again and reconnect.

The WebSocket side is a small RFC 6455 server (handshake, text/ping/pong/close frames), enough
for slack_sdk's built-in Socket Mode client; no WebSocket library is needed.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import struct
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.doubles.slack_api import FakeSlack

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


@dataclass
class SocketModeSlack(FakeSlack):
    """The fake Web API plus Socket Mode: `ws_url` is what `apps.connections.open` answers."""

    ws_url: str = ""

    def respond(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "apps.connections.open":
            return {"ok": True, "url": self.ws_url}
        return super().respond(method, args)


@dataclass
class FakeSocketMode:
    """The WebSocket endpoint; `acks` maps envelope ids to the ack's payload (or None)."""

    acks: dict[str, Any] = field(default_factory=dict)
    connections: int = 0
    # Connections the app ended with a close frame (a clean close), not by dropping them.
    closed_by_app: int = 0
    url: str = ""
    _current: socket.socket | None = None
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _listener: socket.socket | None = None

    def start(self) -> FakeSocketMode:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"ws://127.0.0.1:{self._listener.getsockname()[1]}/link"
        threading.Thread(target=self._accept_loop, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
        self.drop()

    # --- what tests call -------------------------------------------------------------------

    def wait_connected(self, count: int = 1, timeout: float = 30.0) -> None:
        """Wait until the app has opened `count` connections in all, the last one still open."""
        with self._changed:
            if not self._changed.wait_for(
                lambda: self.connections >= count and self._current is not None, timeout
            ):
                raise AssertionError(f"expected {count} connection(s), saw {self.connections}")

    def send(self, type_: str, payload: dict[str, Any], *, retry_attempt: int = 0) -> str:
        """Deliver one envelope (`slash_commands`, `interactive`, `events_api`); its id."""
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": type_,
            "payload": payload,
            "accepts_response_payload": type_ != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        with self._changed:
            sock = self._current
        if sock is None:
            raise AssertionError("no open Socket Mode connection")
        _send_frame(sock, TEXT, json.dumps(envelope).encode())
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> Any:
        """The ack's payload (None when the ack carried none); fails after `timeout`."""
        with self._changed:
            if not self._changed.wait_for(lambda: envelope_id in self.acks, timeout):
                raise AssertionError(f"envelope {envelope_id} not acknowledged in {timeout} s")
            return self.acks[envelope_id]

    def refresh(self) -> None:
        """Ask the app to reconnect, as Slack does every few hours (a `disconnect` message)."""
        with self._changed:
            sock = self._current
        if sock is None:
            raise AssertionError("no open Socket Mode connection")
        message = {"type": "disconnect", "reason": "refresh_requested"}
        _send_frame(sock, TEXT, json.dumps(message).encode())

    def drop(self) -> None:
        """Cut the current connection without a close frame (the app must reconnect)."""
        with self._changed:
            sock, self._current = self._current, None
            self._changed.notify_all()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    # --- the server --------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            _handshake(sock)
            with self._changed:
                self._current = sock
                self.connections += 1
                self._changed.notify_all()
            hello = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}}
            _send_frame(sock, TEXT, json.dumps(hello).encode())
            while True:
                opcode, data = _read_frame(sock)
                if opcode == TEXT:
                    message = json.loads(data)
                    with self._changed:
                        self.acks[message["envelope_id"]] = message.get("payload")
                        self._changed.notify_all()
                elif opcode == PING:
                    _send_frame(sock, PONG, data)
                elif opcode == CLOSE:
                    _send_frame(sock, CLOSE, data[:2])
                    with self._changed:
                        self.closed_by_app += 1
                        self._changed.notify_all()
                    break
        except (OSError, ConnectionError, ValueError):
            pass
        finally:
            with self._changed:
                if self._current is sock:
                    self._current = None
                self._changed.notify_all()
            sock.close()


def _handshake(sock: socket.socket) -> None:
    request = b""
    while b"\r\n\r\n" not in request:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed during the handshake")
        request += chunk
    headers = {}
    for line in request.split(b"\r\n")[1:]:
        if b":" in line:
            name, value = line.split(b":", 1)
            headers[name.strip().lower()] = value.strip()
    accept = base64.b64encode(
        hashlib.sha1(headers[b"sec-websocket-key"] + WS_GUID, usedforsecurity=False).digest()
    )
    sock.sendall(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("connection closed")
        data += chunk
    return data


def _read_frame(sock: socket.socket) -> tuple[int, bytes]:
    """One whole message (continuation frames joined); client frames are masked."""
    payload, first_opcode = b"", None
    while True:
        b0, b1 = _recv_exact(sock, 2)
        opcode, length = b0 & 0x0F, b1 & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", _recv_exact(sock, 2))
        elif length == 127:
            (length,) = struct.unpack("!Q", _recv_exact(sock, 8))
        mask = _recv_exact(sock, 4) if b1 & 0x80 else b"\0\0\0\0"
        data = bytes(c ^ mask[i % 4] for i, c in enumerate(_recv_exact(sock, length)))
        if opcode in (CLOSE, PING, PONG):
            return opcode, data
        first_opcode = first_opcode if opcode == 0 else opcode
        payload += data
        if b0 & 0x80:
            assert first_opcode is not None
            return first_opcode, payload


_send_lock = threading.Lock()


def _send_frame(sock: socket.socket, opcode: int, data: bytes) -> None:
    """An unmasked (server) frame."""
    n = len(data)
    if n < 126:
        header = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    with _send_lock:
        sock.sendall(header + data)
