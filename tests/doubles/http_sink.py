"""A local HTTP server that records the requests n8n's HTTP Request nodes send it (path and
headers), for tests that check what a live workflow actually sent."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.doubles import SHUTDOWN_POLL_S


@dataclass(frozen=True)
class SinkRequest:
    """One request received; header names in lower case."""

    method: str
    path: str
    headers: dict[str, str]


class HttpSink:
    """Serves `{"ok": true}` to any GET or POST on 127.0.0.1 and records each request.

    Use as a context manager; `url(path)` is where n8n should send its requests.
    """

    def __init__(self) -> None:
        self.requests: list[SinkRequest] = []
        self._arrived = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                with sink._arrived:
                    sink.requests.append(
                        SinkRequest(
                            self.command, self.path, {k.lower(): v for k, v in self.headers.items()}
                        )
                    )
                    sink._arrived.notify_all()
                body = b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(
            target=self._server.serve_forever, args=(SHUTDOWN_POLL_S,), daemon=True
        ).start()

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def wait_for(self, count: int, timeout_s: float = 30) -> list[SinkRequest]:
        """The requests received once there are `count` of them (or when `timeout_s` ran out)."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.requests) >= count, timeout=timeout_s)
            return list(self.requests)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HttpSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
