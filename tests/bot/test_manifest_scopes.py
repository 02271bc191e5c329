"""Every Slack Web API method the code calls is granted by manifest.yml's bot scopes (issue 20:
conversations.list and conversations.join were called without channels:read / channels:join, so
on a real workspace both failed with `missing_scope` and the bot never joined).

The calls are found by reading bot/, core/ and api/ (AST): `<anything>.<WebClient method>(…)`,
`api_call("method.name")`, and Bolt's `say(…)` in bot/ (chat.postMessage). A WebClient method is
mapped to the API methods it calls by reading slack_sdk's own source (files_upload_v2 calls
files.getUploadURLExternal and files.completeUploadExternal)."""

from __future__ import annotations

import ast
import inspect
import re
from functools import cache
from pathlib import Path

from slack_sdk import WebClient

REPO = Path(__file__).resolve().parents[2]

# Slack's documented bot scope(s) per method (https://api.slack.com/methods/<method>); () when
# the method needs none. conversations.list depends on `types`: see TYPE_SCOPES.
REQUIRED: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "chat.postMessage": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.delete": ("chat:write",),
    "chat.getPermalink": (),
    "conversations.join": ("channels:join",),
    "conversations.list": (),  # per `types`
    "conversations.info": ("channels:read",),
    "conversations.members": ("channels:read",),
    "conversations.history": ("channels:history",),
    "conversations.replies": ("channels:history",),
    "files.upload": ("files:write",),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
    "files.info": ("files:read",),
    "users.info": ("users:read",),
    "users.list": ("users:read",),
    "users.lookupByEmail": ("users:read.email",),
    "views.publish": (),
    "views.open": (),
    "views.update": (),
    "views.push": (),
    "reactions.add": ("reactions:write",),
    "reactions.remove": ("reactions:write",),
    "team.info": ("team:read",),
}
TYPE_SCOPES = {
    "public_channel": "channels:read",
    "private_channel": "groups:read",
    "im": "im:read",
    "mpim": "mpim:read",
}
_API_CALL = re.compile(r"api_call\(\s*\"([A-Za-z.]+)\"")
_SELF_CALL = re.compile(r"self\.([a-z][A-Za-z0-9_]+)\(")


def manifest_bot_scopes() -> set[str]:
    """The `oauth_config.scopes.bot` list of manifest.yml (read without a YAML dependency)."""
    lines = (REPO / "manifest.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "bot:")
    indent = len(lines[start]) - len(lines[start].lstrip())
    scopes: set[str] = set()
    for line in lines[start + 1 :]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        item = re.match(r"\s*-\s*([a-z][a-z._:]*)", line)
        if item:
            scopes.add(item.group(1))
    return scopes


@cache
def api_methods(client_method: str) -> tuple[str, ...]:
    """The Web API methods a slack_sdk WebClient method calls (following its `self.x(` calls)."""
    source = inspect.getsource(getattr(WebClient, client_method))
    found = list(_API_CALL.findall(source))
    for inner in _SELF_CALL.findall(source):
        if inner != client_method and inner != "api_call" and _is_api_method(inner):
            found.extend(api_methods(inner))
    return tuple(dict.fromkeys(found))


def _is_api_method(name: str) -> bool:
    attr = getattr(WebClient, name, None)
    return callable(attr) and "_" in name and not name.startswith("_") and name != "api_call"


def _keyword(call: ast.Call, name: str) -> str | None:
    for kw in call.keywords:
        if kw.arg == name and isinstance(kw.value, ast.Constant):
            return str(kw.value.value)
    return None


def calls_in_code() -> list[tuple[str, str, tuple[str, ...]]]:
    """(API method, where, extra scopes) for each Slack call in bot/, core/ and api/."""
    out: list[tuple[str, str, tuple[str, ...]]] = []
    for root in ("bot", "core", "api"):
        for path in sorted((REPO / root).rglob("*.py")):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                where = f"{path.relative_to(REPO)}:{node.lineno}"
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                methods: tuple[str, ...] = ()
                if name == "api_call" and node.args and isinstance(node.args[0], ast.Constant):
                    methods = (str(node.args[0].value),)
                elif isinstance(func, ast.Attribute) and _is_api_method(name):
                    methods = api_methods(name)
                elif name == "say" and root == "bot":
                    methods = ("chat.postMessage",)
                extra: tuple[str, ...] = ()
                if "conversations.list" in methods:
                    types = _keyword(node, "types") or "public_channel"
                    extra = tuple(TYPE_SCOPES.get(t.strip(), t.strip()) for t in types.split(","))
                out.extend((m, where, extra) for m in methods)
    return out


def test_the_scan_sees_the_calls_it_must_check() -> None:
    methods = {m for m, _, _ in calls_in_code()}
    assert {"chat.postMessage", "conversations.join", "conversations.list"} <= methods
    assert {"files.getUploadURLExternal", "files.completeUploadExternal"} <= methods


def test_every_slack_method_the_code_calls_is_granted_by_the_manifest() -> None:
    granted = manifest_bot_scopes()
    assert {"chat:write", "commands"} <= granted
    missing, unknown = [], []
    for method, where, extra in calls_in_code():
        if method not in REQUIRED:
            unknown.append(f"{method} ({where})")
            continue
        for scope in (*REQUIRED[method], *extra):
            if scope not in granted:
                missing.append(f"{method} ({where}) needs {scope}")
    assert not unknown, (
        "Slack methods without a known scope: add each to REQUIRED in this test with the scope "
        "Slack documents at https://api.slack.com/methods/<method>: " + ", ".join(unknown)
    )
    assert not missing, "manifest.yml lacks bot scopes: " + "; ".join(missing)


# The bot scope(s) Slack requires to deliver each event (https://api.slack.com/events/<event>).
EVENT_SCOPES: dict[str, tuple[str, ...]] = {
    "app_mention": ("app_mentions:read",),
    "app_home_opened": (),
    "message.channels": ("channels:history",),
    "message.groups": ("groups:history",),
    "message.im": ("im:history",),
    "reaction_added": ("reactions:read",),
    "member_joined_channel": ("channels:read", "groups:read"),
    "member_left_channel": ("channels:read", "groups:read"),
}
_EVENT_LISTENER = re.compile(r"""app\.event\(\s*["']([a-z_]+)["']""")


def manifest_list(key: str) -> list[str]:
    """The items of a YAML list under `key:` in manifest.yml (comments dropped)."""
    lines = (REPO / "manifest.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"{key}:")
    indent = len(lines[start]) - len(lines[start].lstrip())
    items = []
    for line in lines[start + 1 :]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        item = re.match(r"\s*-\s*([A-Za-z][\w.:]*)", line)
        if item:
            items.append(item.group(1))
    return items


def test_every_subscribed_event_has_its_scopes_and_every_listened_event_is_subscribed() -> None:
    granted = manifest_bot_scopes()
    events = manifest_list("bot_events")
    assert {"reaction_added", "member_joined_channel", "member_left_channel"} <= set(events)
    for event in events:
        assert event in EVENT_SCOPES, f"add the scopes Slack documents for {event} to this test"
        missing = [s for s in EVENT_SCOPES[event] if s not in granted]
        assert not missing, f"manifest.yml subscribes to {event} without {', '.join(missing)}"
    listened = set()
    for path in sorted((REPO / "bot").rglob("*.py")):
        listened |= set(_EVENT_LISTENER.findall(path.read_text()))
    subscribed = {e.split(".")[0] for e in events}
    assert listened - subscribed == set(), "listeners for events the manifest never sends"


def test_the_message_shortcut_is_declared_with_the_callback_id_the_bot_listens_to() -> None:
    text = (REPO / "manifest.yml").read_text()
    shortcut = re.search(
        r"- name: Run a workflow on this message\s+type: message\s+callback_id: (\S+)", text
    )
    assert shortcut is not None, "manifest.yml declares no message shortcut"
    callback = shortcut.group(1)
    code = "\n".join(p.read_text() for p in (REPO / "bot").rglob("*.py"))
    assert f'"{callback}"' in code, f"no listener for the shortcut {callback}"
