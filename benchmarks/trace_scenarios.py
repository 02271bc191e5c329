"""The two requests `request_trace.py` follows, as pytest scenarios on the tests' own fixtures
(the bot's real app and database, the real n8n, the scripted LLM, the Slack and OAuth provider
fakes). Not a test suite: `request_trace.py` runs this file inside the tree under test and reads
what the tracer recorded. Every call into a product module (core/, bot/, cli/, api/) made while a
scenario's window is open is recorded, in every thread, as (nearest product caller, callee).

    scenario slash_command: `/clixen every morning post RSS items to #news` until the run's
        message says the workflow is active (the project already holds a Slack secret).
    scenario connect_resume: a request whose node needs an OAuth2 account waits for it, the user
        clicks "Connect", opens the link, consents; the connect job binds the account and the run
        resumes and deploys.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

import core

ROOT = Path(core.__file__).resolve().parent.parent
PRODUCT = ("core", "bot", "cli", "api")
OUT = Path(os.environ.get("CLIXEN_TRACE_OUT", "/tmp/clixen-trace"))


class Tracer:
    """Distinct cross-module calls (caller module:function -> callee module:function), in the
    order first seen, with how often each happened."""

    def __init__(self) -> None:
        self.on = False
        self.edges: dict[tuple[str, str, str, str], int] = {}
        self.lock = threading.Lock()
        self._mods: dict[str, str | None] = {}

    def module(self, filename: str) -> str | None:
        mod = self._mods.get(filename, "")
        if mod != "":
            return mod
        mod = None
        path = Path(filename)
        if path.is_absolute() and path.suffix == ".py":
            try:
                rel = path.resolve().relative_to(ROOT)
            except ValueError:
                rel = None
            if rel is not None and rel.parts[0] in PRODUCT:
                parts = list(rel.with_suffix("").parts)
                if parts[-1] == "__init__":
                    parts.pop()
                mod = ".".join(parts)
        self._mods[filename] = mod
        return mod

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if not self.on or event != "call":
            return
        callee = self.module(frame.f_code.co_filename)
        if callee is None:
            return
        back = frame.f_back
        caller = None
        while back is not None:
            caller = self.module(back.f_code.co_filename)
            if caller is not None:
                break
            back = back.f_back
        if caller == callee:
            return
        key = (
            caller or "<outside>",
            back.f_code.co_name if back is not None and caller else "",
            callee,
            frame.f_code.co_name,
        )
        with self.lock:
            self.edges[key] = self.edges.get(key, 0) + 1

    @contextmanager
    def window(self, name: str) -> Iterator[None]:
        self.edges = {}
        self.on = True
        try:
            yield
        finally:
            self.on = False
            OUT.mkdir(parents=True, exist_ok=True)
            rows = [[*k, n] for k, n in self.edges.items()]
            (OUT / f"{name}.json").write_text(json.dumps({"root": str(ROOT), "edges": rows}))


TRACER = Tracer()
# Installed at collection, before any fixture starts a thread: every thread the bot starts is
# traced (the window decides what is recorded).
threading.setprofile(TRACER)
sys.setprofile(TRACER)

# The tests' fixtures (`full_bot`: the bot with the pipeline; `connect_bot`: with OAuth connect)
# come from tests.bot.conftest and tests.bot.test_connect_flow, loaded as plugins (`-p`).
from tests.bot.test_connect_flow import PUBLIC, _respond_with  # noqa: E402
from tests.bot.test_credentials_flow import _elements  # noqa: E402
from tests.core.test_credentials import rss_to_slack  # noqa: E402
from tests.workflows import answer  # noqa: E402

SECRET_KEY = "test-secret-key-for-the-bot-tests-0123456789"


@pytest.fixture(scope="session")
def n8n_user(n8n: Any) -> Iterator[Any]:
    """The n8n owner's session from N8N_OWNER_EMAIL / N8N_OWNER_PASSWORD (as the shared stack's
    n8n.env gives them): a tree checked out elsewhere has no .stack of its own to read."""
    from core.n8n.session import N8nUserSession

    with N8nUserSession(
        n8n.url, os.environ["N8N_OWNER_EMAIL"], os.environ["N8N_OWNER_PASSWORD"]
    ) as session:
        yield session


def _every_morning() -> dict[str, Any]:
    wf = rss_to_slack()
    trigger = wf["nodes"][0]
    trigger["parameters"] = {"rule": {"interval": [{"field": "days", "triggerAtHour": 8}]}}
    wf["name"] = "Morning RSS to #news"
    return wf


@pytest.mark.integration
def test_slash_command(full_bot: Any, slack: Any, llm: Any, session_factory: Any) -> None:
    from core.credentials import secrets
    from core.workspace.projects import default_project

    with session_factory.begin() as s:
        project = default_project(session=s, team_id="T0TEAM", user_id="U1")
        secrets.set_secret(
            session=s, project_id=project.id, name="SLACK_NEWS", value="xoxb-news",
            key=SECRET_KEY, actor_user_id="U1", credential_type="slackApi",
        )  # fmt: skip
    llm.script(answer(_every_morning(), "Posts new RSS items to #news every morning."))
    with TRACER.window("slash_command"):
        assert full_bot.command("every morning post RSS items to #news")
        slack.wait_for_text("chat.update", "is active")
        full_bot.settle()


@pytest.mark.integration
def test_connect_resume(
    connect_bot: Any, slack: Any, llm: Any, n8n_user: Any, session_factory: Any
) -> None:
    from slack_sdk import WebClient
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from api.connect import connect_routes, link_opener
    from bot.notifier import SlackNotifier
    from core.connect.apps import set_oauth_app
    from core.scheduler.jobs import finish_connects
    from core.workspace.policy import set_project_policy
    from core.workspace.projects import default_project
    from tests.doubles.oauth_provider import OAuthProvider
    from tests.e2e.test_connect_account import fetch_from_provider

    bot, services = connect_bot
    settings = services.settings
    with OAuthProvider() as provider:
        # Since issue 26 a generic OAuth2 app names the hosts its tokens may reach; an older
        # tree's set_oauth_app takes no such argument.
        takes_hosts = "allowed_hosts" in inspect.signature(set_oauth_app).parameters
        hosts = {"allowed_hosts": ["127.0.0.1"]} if takes_hosts else {}
        with session_factory.begin() as s:
            project = default_project(session=s, team_id="T0TEAM", user_id="U1")
            set_project_policy(
                session=s, project_id=project.id, actor_user_id="U1", allow_hosts=["127.0.0.1"]
            )
            set_oauth_app(
                session=s, provider="oauth2", client_id=provider.client_id,
                client_secret=provider.client_secret, key=str(settings.secret_key),
                actor="operator", auth_url=f"{provider.base_url}/authorize",
                token_url=f"{provider.base_url}/token", scope="openid email",
                **hosts,
            )  # fmt: skip
        llm.script(answer(fetch_from_provider(provider, "trace-whoami"), "Asks the API."))
        opener = link_opener(settings=settings, session_factory=session_factory, n8n=services.n8n)
        route = TestClient(Starlette(routes=connect_routes(opener)), follow_redirects=False)
        notifier = SlackNotifier(WebClient(token="xoxb-test-token", base_url=slack.url), services)
        with TRACER.window("connect_resume"):
            assert bot.command("create when called, ask the API who I am")
            waiting = slack.wait_for_text("chat.update", "needs your").args
            connect = _elements(waiting["blocks"])["account_connect"]
            bot.action(
                {"action_id": "account_connect", "type": "button", "value": connect["value"]}
            )
            link = _elements(_respond_with(slack, "consent page")["blocks"])[
                "account_connect_open"
            ]["url"]
            consent = route.get(link.removeprefix(PUBLIC))
            provider.consent(consent.headers["location"])
            summary = finish_connects(
                services=services.pipeline, n8n_session=n8n_user, notifier=notifier,
                key=str(settings.secret_key),
            )  # fmt: skip
            assert summary["resumed"][0]["state"] == "succeeded", summary
            slack.wait_for_text("chat.update", "is active")
            bot.settle()
