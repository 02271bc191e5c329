"""Connect an OAuth2 account from Slack: the waiting run's message shows "Connect <service>", the
click answers privately with the single-use link, the browser consents (local OAuth2 provider,
real n8n), the connect job says "connected as …" in the run's thread and the run deploys; App
Home lists the account; `/clixen connect SERVICE` gives a link too. Scripted LLM, real n8n and
database, Slack faked at the network edge."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.testclient import TestClient

from api.connect import connect_routes, link_opener
from bot.notifier import SlackNotifier
from bot.services import BotServices
from bot.slack_client import SlackClient
from core.connect.apps import set_oauth_app
from core.kernel.models import ConnectRequest, PipelineRun
from core.kernel.vocabulary import RunState
from core.n8n import N8nClient, N8nNotFound
from core.n8n.session import N8nUserSession
from core.scheduler.jobs import finish_connects
from core.workspace.policy import set_project_policy
from core.workspace.projects import default_project
from tests.bot.conftest import TEAM, SlackSender, bot_settings, make_sender
from tests.bot.test_credentials_flow import _elements, _save
from tests.builders import delete_deployed, pipeline_services
from tests.conftest import N8nStack
from tests.doubles.llm_server import ScriptedLLM
from tests.doubles.oauth_provider import OAuthProvider
from tests.doubles.slack_api import FakeSlack
from tests.e2e.test_connect_account import fetch_from_provider
from tests.workflows import answer

PUBLIC = "https://clixen.example.test"


@pytest.fixture
def connect_bot(
    slack: FakeSlack,
    database_url: str,
    session_factory: sessionmaker[Session],
    llm: ScriptedLLM,
    n8n: N8nStack,
    n8n_client: N8nClient,
    n8n_user: N8nUserSession,
) -> Iterator[tuple[SlackSender, BotServices]]:
    settings = bot_settings(
        slack, database_url, OPENAI_BASE_URL=llm.url, OPENAI_API_KEY="test", N8N_URL=n8n.url,
        N8N_API_KEY=n8n.api_key, CLIXEN_PUBLIC_URL=PUBLIC, N8N_OWNER_EMAIL=n8n_user._email,
        N8N_OWNER_PASSWORD=n8n_user._password,
    )  # fmt: skip
    pipeline = pipeline_services(session_factory, n8n_client, llm.url, settings=settings)
    services = BotServices(
        settings=settings, session_factory=session_factory, pipeline=pipeline, n8n=n8n_client
    )
    try:
        for sender in make_sender(settings, services, slack):
            yield sender, services
    finally:
        delete_deployed(session_factory, n8n_client)
        with session_factory() as s:
            ids = {c for (c,) in s.query(ConnectRequest.n8n_credential_id) if c}
        for cid in ids:
            n8n_client.delete_credential(cid)


def _respond_with(slack: FakeSlack, needle: str, timeout: float = 30.0) -> dict[str, Any]:
    """The newest message sent to a response_url that contains `needle` (waits for it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in reversed(slack.named("respond")):
            if needle in json.dumps(call.args):
                return call.args
        time.sleep(0.05)
    raise AssertionError(f"no response_url message containing {needle!r}")


def test_connect_button_link_consent_then_the_run_deploys_and_home_lists_the_account(
    connect_bot: tuple[SlackSender, BotServices],
    slack: FakeSlack,
    llm: ScriptedLLM,
    n8n_user: N8nUserSession,
    session_factory: sessionmaker[Session],
) -> None:
    bot, services = connect_bot
    settings = services.settings
    with OAuthProvider() as provider:
        with session_factory.begin() as s:
            project = default_project(session=s, team_id=TEAM, user_id="U1")
            set_project_policy(
                session=s, project_id=project.id, actor_user_id="U1", allow_hosts=["127.0.0.1"]
            )
            set_oauth_app(
                session=s, provider="oauth2", client_id=provider.client_id,
                client_secret=provider.client_secret, key=str(settings.secret_key),
                actor="operator", auth_url=f"{provider.base_url}/authorize",
                token_url=f"{provider.base_url}/token", scope="openid email",
                allowed_hosts=["127.0.0.1"],
            )  # fmt: skip
        llm.script(answer(fetch_from_provider(provider, "slack-whoami"), "Asks the API."))
        assert bot.command("create when called, ask the API who I am")

        # Waiting: the message offers "Connect OAuth2", not a form to paste into.
        waiting = slack.wait_for_text("chat.update", "needs your").args
        _save("connect-1-waiting", {"text": waiting["text"], "blocks": waiting["blocks"]})
        elements = _elements(waiting["blocks"])
        assert "credential_open" not in elements
        connect = elements["account_connect"]
        assert connect["text"]["text"] == "Connect OAuth2"

        # Connect: the link comes back privately (response_url, ephemeral), never in a channel.
        bot.action({"action_id": "account_connect", "type": "button", "value": connect["value"]})
        link_message = _respond_with(slack, "consent page")
        _save("connect-2-link", link_message)
        assert link_message["response_type"] == "ephemeral"
        link_button = _elements(link_message["blocks"])["account_connect_open"]
        link = link_button["url"]
        assert link.startswith(f"{PUBLIC}/oauth/start?state=")
        assert link not in json.dumps([c.args for c in slack.named("chat.postMessage")])

        # The browser: Clixen's route → provider consent → n8n's callback.
        opener = link_opener(settings=settings, session_factory=session_factory, n8n=services.n8n)
        route = TestClient(Starlette(routes=connect_routes(opener)), follow_redirects=False)
        consent = route.get(link.removeprefix(PUBLIC))
        assert consent.status_code == 302
        provider.consent(consent.headers["location"])

        # Connected: the job binds it, says so in the run's thread, the run deploys.
        notifier = SlackNotifier(SlackClient(token="xoxb-test-token", base_url=slack.url), services)
        summary = finish_connects(
            services=services.pipeline, n8n_session=n8n_user, notifier=notifier,
            key=str(settings.secret_key),
        )  # fmt: skip
        assert summary["connected"] == 1 and summary["resumed"][0]["state"] == "succeeded"
        # The thread says which service; whose mailbox is said to the connecting user only.
        [said] = [
            c.args for c in slack.named("chat.postMessage") if "is connected" in json.dumps(c.args)
        ]
        _save("connect-3-connected", said)
        assert "OAuth2" in said["text"] and said.get("thread_ts")
        assert provider.email not in json.dumps([c.args for c in slack.named("chat.postMessage")])
        [private] = [
            c.args
            for c in slack.named("chat.postEphemeral")
            if provider.email in json.dumps(c.args)
        ]
        assert private["user"] == "U1" and private["thread_ts"] == said["thread_ts"]
        done = slack.wait_for_text("chat.update", "is active").args
        _save("connect-4-deployed", {"text": done["text"], "blocks": done["blocks"]})
        with session_factory() as s:
            assert s.query(PipelineRun).one().state == RunState.succeeded

        # App Home lists the account: service, who, when, last use, Reconnect.
        bot.event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"})
        home = slack.wait_for("views.publish")[-1].args["view"]
        _save("connect-5-home", home)
        shown = json.dumps(home)
        assert "Connected accounts" in shown and provider.email in shown and "<@U1>" in shown
        assert "Reconnect" in shown
        disconnect = _elements(home["blocks"])["account_disconnect"]
        assert "confirm" in disconnect  # Slack asks before deleting the token
        with session_factory() as s:
            credential_id = str(s.query(ConnectRequest.n8n_credential_id).one()[0])
        published = len(slack.named("views.publish"))
        bot.home_action(
            {"action_id": "account_disconnect", "type": "button", "value": disconnect["value"]}
        )
        home = slack.wait_for("views.publish", count=published + 1)[-1].args["view"]
        assert provider.email not in json.dumps(home) and "None yet" in json.dumps(home)
        with pytest.raises(N8nNotFound):
            n8n_user.oauth2_connection(credential_id)

        # `/clixen connect SERVICE` of a provider without an OAuth app says so before any link.
        assert bot.command("connect google-sheets")
        again = _respond_with(slack, "Google Sheets")
        assert again["response_type"] == "ephemeral"
        assert "no OAuth app is registered for google" in json.dumps(again)
        assert "/oauth/start" not in json.dumps(again)
        assert provider.tokens()
        assert not any(token in slack.all_text() for token in provider.tokens())
