"""A local fake of the Slack Web API that records every call (the double at the Slack edge).

Point `bot.slack_client.SlackClient(base_url=…)` (or SLACK_API_URL) at `FakeSlack.url`.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.doubles import SHUTDOWN_POLL_S
from tests.waiting import wait_until


@dataclass
class SlackCall:
    method: str
    args: dict[str, Any]
    headers: dict[str, str]


@dataclass
class FakeSlack:
    calls: list[SlackCall] = field(default_factory=list)
    url: str = ""
    # The workspace the bot is installed in (auth.test): requests of any other are refused.
    team_id: str = "T0TEAM"
    lock: threading.Lock = field(default_factory=threading.Lock)
    uploads: dict[str, bytes] = field(default_factory=dict)
    # users.info: each user's `tz` ("UTC" when unlisted); None answers `missing_scope`.
    timezones: dict[str, str | None] = field(default_factory=dict)
    # conversations.list / conversations.join: public channels by name → id (others: not found).
    public_channels: dict[str, str] = field(default_factory=dict)
    # Slack triggers: private channels by name → id (conversations.list/info), channel id →
    # member ids (conversations.members), (channel, ts) → message (conversations.history/replies).
    private_channels: dict[str, str] = field(default_factory=dict)
    members: dict[str, set[str]] = field(default_factory=dict)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    # Channels (ids) the bot is not in (conversations.info/list say `is_member: false`).
    bot_outside: set[str] = field(default_factory=set)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def named(self, method: str) -> list[SlackCall]:
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def all_text(self) -> str:
        """Every argument of every call, serialised: for asserting something never reached Slack."""
        with self.lock:
            return "\n".join(json.dumps(c.args, default=str) for c in self.calls)

    def wait_for(self, method: str, count: int = 1, timeout: float = 30.0) -> list[SlackCall]:
        """The `method` calls once there are at least `count` of them."""

        def found() -> list[SlackCall] | None:
            calls = self.named(method)
            return calls if len(calls) >= count else None

        return wait_until(
            found,
            timeout,
            lambda: f"expected {count} {method} call(s), got {len(self.named(method))}",
        )

    def wait_for_text(
        self,
        method: str,
        needle: str,
        *,
        after: int = 0,
        timeout: float = 60.0,
        message: str | Callable[[], str] | None = None,
    ) -> SlackCall:
        """The first `method` call (counting from the `after`-th) whose arguments contain
        `needle`; `message` says what went wrong when none came."""

        def found() -> SlackCall | None:
            for call in self.named(method)[after:]:
                if needle in json.dumps(call.args, ensure_ascii=False):
                    return call
            return None

        return wait_until(found, timeout, message or f"no {method} containing {needle!r}")

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()

    def respond(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        channel = args.get("channel") or args.get("channel_id") or "C0FAKE"
        if method == "chat.postMessage":
            return {"ok": True, "channel": channel, "ts": ts, "message": {"ts": ts, **args}}
        if method in ("chat.update", "chat.postEphemeral"):
            return {"ok": True, "channel": channel, "ts": args.get("ts", ts), "message_ts": ts}
        if method in ("views.publish", "views.open", "views.update", "views.push"):
            return {"ok": True, "view": {"id": f"V{next(self._ts)}", **_jsonish(args.get("view"))}}
        if method == "files.getUploadURLExternal":
            fid = f"F{next(self._ts)}"
            return {"ok": True, "upload_url": f"{self.url}upload/{fid}", "file_id": fid}
        if method == "files.completeUploadExternal":
            return {"ok": True, "files": [{"id": f["id"]} for f in _jsonish(args.get("files"))]}
        if method == "auth.test":
            return {
                "ok": True,
                "user_id": "UBOT",
                "bot_id": "BBOT",
                "team_id": self.team_id,
                "url": "https://fake.slack.com/",
            }
        if method == "conversations.list":
            channels: list[dict[str, Any]] = [
                {"id": i, "name": n, "is_member": i not in self.bot_outside}
                for n, i in self.public_channels.items()
            ]
            if "private_channel" in str(args.get("types") or ""):
                channels += [
                    {"id": i, "name": n, "is_private": True, "is_member": i not in self.bot_outside}
                    for n, i in self.private_channels.items()
                ]
            return {"ok": True, "channels": channels}
        if method in ("conversations.info", "conversations.members"):
            return self._conversation(method, str(channel))
        if method in ("conversations.history", "conversations.replies"):
            ts = str(args.get("latest") or args.get("ts") or "")
            found = self.messages.get((str(channel), ts))
            return {"ok": True, "messages": [found] if found else [], "has_more": False}
        if method == "chat.getPermalink":
            ts = str(args.get("message_ts") or "")
            link = f"https://fake.slack.com/archives/{channel}/p{ts.replace('.', '')}"
            return {"ok": True, "channel": channel, "permalink": link}
        if method == "conversations.join":
            if channel not in self.public_channels.values():
                return {"ok": False, "error": "method_not_supported_for_channel_type"}
            self.bot_outside.discard(str(channel))
            return {"ok": True, "channel": {"id": channel}}
        if method == "users.info":
            user = str(args.get("user"))
            tz = self.timezones.get(user, "UTC")
            if tz is None:
                return {"ok": False, "error": "missing_scope", "needed": "users:read"}
            return {"ok": True, "user": {"id": user, "tz": tz, "name": "user"}}
        return {"ok": True}

    def _conversation(self, method: str, channel: str) -> dict[str, Any]:
        names = {i: (n, False) for n, i in self.public_channels.items()}
        names.update({i: (n, True) for n, i in self.private_channels.items()})
        if channel.startswith("D"):
            info: dict[str, Any] = {"id": channel, "is_im": True}
        elif channel in names:
            name, private = names[channel]
            info = {
                "id": channel,
                "name": name,
                "is_private": private,
                "is_member": channel not in self.bot_outside,
            }
        else:
            return {"ok": False, "error": "channel_not_found"}
        if method == "conversations.info":
            return {"ok": True, "channel": info}
        members = sorted(self.members.get(channel, set()))
        return {"ok": True, "members": members, "response_metadata": {"next_cursor": ""}}


def _jsonish(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value if value is not None else {}


def start_fake_slack(fake: FakeSlack) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            path = urlparse(self.path).path
            if "/upload/" in path:  # upload_url lives under the base URL (…/api/upload/F…)
                fake.uploads[path.rsplit("/", 1)[-1]] = raw
                self._send({"ok": True}, "text/plain")
                return
            method = path.rsplit("/", 1)[-1]
            ctype = self.headers.get("Content-Type", "")
            if "json" in ctype:
                args = json.loads(raw or b"{}")
            else:
                args = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            for k in ("blocks", "view", "attachments", "files"):
                if k in args:
                    args[k] = _jsonish(args[k])
            with fake.lock:
                fake.calls.append(SlackCall(method, args, dict(self.headers)))
            self._send(fake.respond(method, args))

        do_GET = do_POST

        def _send(self, payload: dict[str, Any], ctype: str = "application/json") -> None:
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(SHUTDOWN_POLL_S,), daemon=True).start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/api/"
    return server
