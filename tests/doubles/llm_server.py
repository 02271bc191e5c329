"""A local OpenAI-compatible HTTP server with scripted replies that records every request.

It is the double at the LLM network edge: the product's real OpenAI client talks real HTTP to it.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.doubles import SHUTDOWN_POLL_S

Reply = str | dict[str, Any] | Callable[[dict[str, Any]], "str | dict[str, Any]"]


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    @property
    def text(self) -> str:
        """Every message's content joined: what the model was shown."""
        parts = []
        for m in self.messages:
            c = m.get("content")
            parts.append(c if isinstance(c, str) else json.dumps(c))
        return "\n".join(parts)


@dataclass
class ScriptedLLM:
    """Replies are served in order; `default` (if set) answers once the script is used up.

    Like a real server, a reply stops at the request's `max_tokens` (4 characters a token,
    `finish_reason: "length"`); `report_usage=False` answers without a `usage` object, as some
    OpenAI-compatible servers do.
    """

    replies: deque[Reply] = field(default_factory=deque)
    requests: list[RecordedRequest] = field(default_factory=list)
    default: Reply | None = None
    delay_s: float = 0.0
    report_usage: bool = True
    # False: a `json_schema` response format is refused with a 400, as servers without
    # structured outputs do (the reply script is not consumed).
    json_schema_supported: bool = True
    # False: a request with `tools` is refused with a 400, as servers without tool calls do.
    tools_supported: bool = True
    # False: `max_tokens` is refused with OpenAI's 400 for reasoning models.
    max_tokens_supported: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def script(self, *replies: Reply) -> None:
        with self.lock:
            self.replies.extend(replies)

    def next_reply(self, body: dict[str, Any]) -> str | dict[str, Any]:
        with self.lock:
            if self.replies:
                reply = self.replies.popleft()
            elif self.default is not None:
                reply = self.default
            else:
                raise LookupError("the scripted LLM has no reply left")
        return reply(body) if callable(reply) else reply


def tool_calls(*calls: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """A scripted reply that calls tools: `tool_calls(("search_nodes", {"query": "x"}))`."""
    return {"__tool_calls__": [{"name": n, "arguments": a} for n, a in calls]}


def _completion(
    content: str | None,
    body: dict[str, Any],
    *,
    report_usage: bool,
    calls: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    prompt_chars = sum(len(str(m.get("content", ""))) for m in body.get("messages", []))
    prompt_tokens = max(1, prompt_chars // 4)
    if calls:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": f"call_{i}_{time.time_ns()}",
                    "type": "function",
                    "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])},
                }
                for i, c in enumerate(calls)
            ],
        }
        reply = _envelope(body, message, "tool_calls")
        if report_usage:
            used = max(1, len(json.dumps(calls)) // 4)
            reply["usage"] = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": used,
                "total_tokens": prompt_tokens + used,
            }
        return reply
    content = content or ""
    finish_reason = "stop"
    max_tokens = body.get("max_tokens", body.get("max_completion_tokens"))
    if isinstance(max_tokens, int) and len(content) > 4 * max_tokens:
        content, finish_reason = content[: 4 * max_tokens], "length"
    completion_tokens = max(1, len(content) // 4)
    reply = _envelope(body, {"role": "assistant", "content": content}, finish_reason)
    if report_usage:
        reply["usage"] = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
    return reply


def _envelope(body: dict[str, Any], message: dict[str, Any], finish: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{time.time_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "scripted"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
    }


def start_llm_server(llm: ScriptedLLM) -> tuple[ThreadingHTTPServer, str]:
    """Serve `llm` on a free loopback port; returns the server and its OpenAI base URL (…/v1)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                self._send(400, {"error": {"message": "invalid JSON"}})
                return
            llm.requests.append(RecordedRequest(self.path, dict(self.headers), body))
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(404, {"error": {"message": f"unknown path {self.path}"}})
                return
            response_format = body.get("response_format") or {}
            if not llm.json_schema_supported and response_format.get("type") == "json_schema":
                self._send(
                    400,
                    {"error": {"message": "response_format json_schema is not supported"}},
                )
                return
            if not llm.tools_supported and body.get("tools"):
                self._send(400, {"error": {"message": "tools is not supported by this server"}})
                return
            if not llm.max_tokens_supported and "max_tokens" in body:
                self._send(
                    400,
                    {
                        "error": {
                            "message": "Unsupported parameter: 'max_tokens' is not supported "
                            "with this model. Use 'max_completion_tokens' instead.",
                            "type": "invalid_request_error",
                            "param": "max_tokens",
                        }
                    },
                )
                return
            if llm.delay_s:
                time.sleep(llm.delay_s)
            try:
                reply = llm.next_reply(body)
            except LookupError as e:
                self._send(500, {"error": {"message": str(e)}})
                return
            if isinstance(reply, dict) and "__status__" in reply:
                self._send(int(reply["__status__"]), reply.get("body", {}))
                return
            if isinstance(reply, dict) and "__tool_calls__" in reply:
                payload = _completion(
                    None, body, report_usage=llm.report_usage, calls=reply["__tool_calls__"]
                )
                self._send(200, payload)
                return
            content = reply if isinstance(reply, str) else json.dumps(reply)
            self._send(200, _completion(content, body, report_usage=llm.report_usage))

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(SHUTDOWN_POLL_S,), daemon=True).start()
    llm.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    return server, llm.url
