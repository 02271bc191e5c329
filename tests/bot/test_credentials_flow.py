"""A request whose workflow needs a credential, from Slack: the run's message asks for it (a
button opening a form built from n8n's schema of the credential type, a select of the project's
secrets), the form's submission through /slack/events stores it encrypted, and the run resumes,
binds it and deploys. Scripted LLM, real n8n and database, Slack faked at the network edge."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.models import PipelineRun, Secret, Workflow
from core.kernel.vocabulary import RunState
from core.n8n import N8nClient
from tests.bot.conftest import SlackSender
from tests.core.test_credentials import rss_to_slack
from tests.doubles.llm_server import ScriptedLLM
from tests.doubles.slack_api import FakeSlack
from tests.workflows import answer

TOKEN = "xoxb-9999-from-the-form"


def _elements(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}


def _save(name: str, payload: Any) -> None:
    """Keep the Block Kit of the flow for the closing note, when asked to."""
    out = os.environ.get("CLIXEN_BLOCK_KIT_OUT")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")


def _deployed_credential(
    session_factory: sessionmaker[Session], n8n: N8nClient, name: str
) -> tuple[str, str | None]:
    with session_factory() as s:
        wf = s.scalars(select(Workflow)).one()
        secret = s.scalars(select(Secret).where(Secret.name == name)).one()
        n8n_id, credential_id = str(wf.n8n_workflow_id), secret.n8n_credential_id
    [slack_node] = [n for n in n8n.get_workflow(n8n_id)["nodes"] if n["name"] == "Post to Slack"]
    return slack_node["credentials"]["slackApi"]["id"], credential_id


def test_slack_asks_for_the_credential_and_the_form_resumes_the_run(
    full_bot: SlackSender,
    slack: FakeSlack,
    llm: ScriptedLLM,
    n8n_client: N8nClient,
    session_factory: sessionmaker[Session],
) -> None:
    llm.script(answer(rss_to_slack(), "Posts new RSS items to #news."))
    assert full_bot.command("create post new items of https://example.com/feed.xml to #news")
    waiting = slack.wait_for_text("chat.update", "needs a").args
    _save("1-run-waiting-for-credentials", {"text": waiting["text"], "blocks": waiting["blocks"]})
    shown = json.dumps(waiting["blocks"])
    assert "Post to Slack" in shown and "slackApi" in shown
    with session_factory() as s:
        run = s.scalars(select(PipelineRun)).one()
        assert run.state == RunState.awaiting_credentials and run.workflow_id is None
    add = _elements(waiting["blocks"])["credential_open"]
    assert "credential_choose" not in _elements(waiting["blocks"])  # no slackApi secret yet

    full_bot.action({"action_id": add["action_id"], "type": "button", "value": add["value"]})
    form = slack.wait_for("views.open")[0].args["view"]
    _save("2-credential-form", form)
    inputs = {b["block_id"]: b for b in form["blocks"] if b["type"] == "input"}
    assert inputs["field:accessToken"]["label"]["text"] == "Access token (secret)"
    assert inputs["field:accessToken"]["optional"] is False
    assert "Slack has no password field" in json.dumps(form)
    assert inputs["secret_name"]["element"]["initial_value"] == "SLACK_API"

    view = copy.deepcopy(form)
    view["state"] = {
        "values": {
            "secret_name": {"value": {"type": "plain_text_input", "value": "SLACK_API"}},
            "field:accessToken": {"value": {"type": "plain_text_input", "value": TOKEN}},
            "field:signatureSecret": {"value": {"type": "plain_text_input", "value": None}},
        }
    }
    response = full_bot.view_submission(view)
    assert response.status_code == 200 and response.text == "", response.text
    done = slack.wait_for_text("chat.update", "is active").args
    _save("3-deployed", {"text": done["text"], "blocks": done["blocks"]})
    bound, credential_id = _deployed_credential(session_factory, n8n_client, "SLACK_API")
    assert bound == credential_id
    assert len(llm.requests) == 1  # resumed where it stopped
    assert TOKEN not in slack.all_text()
    with session_factory() as s:
        row = s.scalars(select(Secret)).one()
        assert row.credential_type == "slackApi" and TOKEN.encode() not in bytes(row.ciphertext)
    n8n_client.delete_credential(str(credential_id))


def test_an_existing_secret_of_the_type_can_be_chosen(
    full_bot: SlackSender,
    slack: FakeSlack,
    llm: ScriptedLLM,
    n8n_client: N8nClient,
    session_factory: sessionmaker[Session],
) -> None:
    from core.credentials import secrets as project_secrets
    from core.workspace.projects import default_project

    with session_factory.begin() as s:
        project = default_project(session=s, team_id="T0TEAM", user_id="U1")
        for name in ("BOT_A", "BOT_B"):  # two of the type: the user must pick one
            project_secrets.set_secret(
                session=s,
                project_id=project.id,
                name=name,
                value=f"xoxb-{name}",
                key="test-secret-key-for-the-bot-tests-0123456789",
                actor_user_id="U1",
                credential_type="slackApi",
            )
    llm.script(answer(rss_to_slack()))
    full_bot.command("create post new items of https://example.com/feed.xml to #news")
    waiting = slack.wait_for_text("chat.update", "needs a").args
    _save("4-run-waiting-with-a-choice", {"text": waiting["text"], "blocks": waiting["blocks"]})
    choose = _elements(waiting["blocks"])["credential_choose"]
    assert [o["text"]["text"] for o in choose["options"]] == ["BOT_A", "BOT_B"]
    before = len(slack.named("chat.update"))
    full_bot.action(
        {
            "action_id": "credential_choose",
            "type": "static_select",
            "selected_option": choose["options"][1],
        }
    )
    slack.wait_for_text("chat.update", "is active", after=before)
    bound, credential_id = _deployed_credential(session_factory, n8n_client, "BOT_B")
    assert bound == credential_id
    n8n_client.delete_credential(str(credential_id))


def test_the_owner_lets_workflows_post_as_clixen_and_the_bot_joins_the_channel(
    full_bot: SlackSender,
    slack: FakeSlack,
    llm: ScriptedLLM,
    n8n_client: N8nClient,
    session_factory: sessionmaker[Session],
) -> None:
    slack.public_channels = {"news": "C0NEWS"}
    workflow = rss_to_slack()
    second = copy.deepcopy(workflow["nodes"][2])  # and a second Slack node, to a private channel
    second |= {"id": "n4", "name": "Tell the team", "position": [660, 0]}
    second["parameters"]["channelId"] = {"__rl": True, "mode": "id", "value": "G0PRIVATE1"}
    workflow["nodes"].append(second)
    workflow["connections"]["Post to Slack"] = {
        "main": [[{"node": "Tell the team", "type": "main", "index": 0}]]
    }
    llm.script(answer(workflow))
    full_bot.command("create post new items of https://example.com/feed.xml to #news")
    waiting = slack.wait_for_text("chat.update", "needs a").args
    use_bot = _elements(waiting["blocks"])["credential_use_bot"]
    assert use_bot["confirm"]["title"]["text"] == "Post as Clixen?"
    assert "CLIXEN_BOT" in use_bot["confirm"]["text"]["text"]
    assert "Only a project owner" in use_bot["confirm"]["text"]["text"]

    # An editor who is not the project's owner cannot give the bot's token away.
    from core.kernel.vocabulary import Role
    from core.workspace.projects import add_member, default_project

    with session_factory.begin() as s:
        project = default_project(session=s, team_id="T0TEAM", user_id="U1")
        add_member(
            session=s, project_id=project.id, actor_user_id="U1", user_id="U2", role=Role.editor
        )
    full_bot.action(
        {"action_id": "credential_use_bot", "type": "button", "value": use_bot["value"]}, user="U2"
    )
    refusal = slack.wait_for("respond")[0]
    assert "You are a editor" in json.dumps(refusal.args) and "needs owner rights" in json.dumps(
        refusal.args
    )

    before = len(slack.named("chat.update"))
    full_bot.action(
        {"action_id": "credential_use_bot", "type": "button", "value": use_bot["value"]}
    )
    done = slack.wait_for_text("chat.update", "is active", after=before).args
    assert [c.args["channel"] for c in slack.named("conversations.join")] == [
        "C0NEWS",
        "G0PRIVATE1",
    ]
    invite = [c for c in slack.named("chat.postMessage") if "/invite @Clixen" in str(c.args)]
    assert invite and "G0PRIVATE1" in invite[0].args["text"]
    bound, credential_id = _deployed_credential(session_factory, n8n_client, "CLIXEN_BOT")
    assert bound == credential_id
    with session_factory() as s:
        row = s.scalars(select(Secret).where(Secret.name == "CLIXEN_BOT")).one()
        assert row.credential_type == "slackApi"
    assert "xoxb-test-token" not in slack.all_text()
    _save("5-post-as-clixen-waiting", {"text": waiting["text"], "blocks": waiting["blocks"]})
    _save("6-post-as-clixen-invite-note", invite[0].args)
    _save("7-post-as-clixen-deployed", {"text": done["text"], "blocks": done["blocks"]})
    n8n_client.delete_credential(str(credential_id))


def test_a_secret_stored_with_clixen_secret_resumes_the_waiting_run(
    full_bot: SlackSender,
    slack: FakeSlack,
    llm: ScriptedLLM,
    n8n_client: N8nClient,
    session_factory: sessionmaker[Session],
) -> None:
    llm.script(answer(rss_to_slack()))
    full_bot.command("create post new items of https://example.com/feed.xml to #news")
    slack.wait_for_text("chat.update", "needs a")
    full_bot.command("secret")
    view = copy.deepcopy(slack.wait_for("views.open")[0].args["view"])
    view["state"] = {
        "values": {
            "name": {"value": {"type": "plain_text_input", "value": "NEWS_BOT"}},
            "value": {"value": {"type": "plain_text_input", "value": TOKEN}},
            "credential_type": {"value": {"type": "plain_text_input", "value": "slackApi"}},
        }
    }
    before = len(slack.named("chat.update"))
    assert full_bot.view_submission(view).status_code == 200
    slack.wait_for_text("chat.update", "is active", after=before)
    bound, credential_id = _deployed_credential(session_factory, n8n_client, "NEWS_BOT")
    assert bound == credential_id
    assert TOKEN not in slack.all_text()
    n8n_client.delete_credential(str(credential_id))
