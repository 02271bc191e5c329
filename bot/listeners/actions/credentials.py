"""The buttons of a run waiting for credentials: "Add … credential" opens the form built from the
credential type's fields; the select uses one of the project's secrets of that type."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.blocks.credentials import credential_modal, parse_ask_value, parse_choice_value
from bot.channels import join_channels
from bot.listeners.context import after_ack, on_run_worker, services_of, team_of, user_of
from bot.run_threads import give_credentials
from core.credentials.needs import (
    adopt_bot_token,
    bot_token_nodes,
    credential_fields,
    slack_channels,
)
from core.credentials.secrets import secret_key
from core.kernel.errors import NotFound
from core.kernel.models import PipelineRun, Project
from core.kernel.vocabulary import Role
from core.pipeline.types import RunContext
from core.workspace.projects import require_role


def handle_credential_open(
    ack: Ack, action: dict[str, Any], body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    ack()
    run_id, node, ctype = parse_ask_value(action["value"])
    services = services_of(context)

    def open_form() -> None:
        with services.session_factory.begin() as session:
            run = session.get(PipelineRun, run_id)
            if run is None:
                raise NotFound(f"There is no request {run_id}.")
            require_role(
                session=session,
                project_id=run.project_id,
                team_id=team_of(context),
                user_id=user_of(context),
                at_least=Role.editor,
            )
            project = session.get(Project, run.project_id)
            project_name = project.name if project is not None else ""
        fields = credential_fields(services.n8n, ctype)  # from n8n itself
        client.views_open(
            trigger_id=body["trigger_id"],
            view=credential_modal(
                run_id=run_id,
                node=node,
                credential_type=ctype,
                project_name=project_name,
                fields=fields,
            ),
        )

    after_ack(context, body, client, open_form)


def handle_credential_use_bot(
    ack: Ack, action: dict[str, Any], body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """The owner allowed the project's workflows to post as the Clixen bot: its token becomes the
    project's slackApi secret, the bot joins the workflow's public channels, the run resumes."""
    ack()
    run_id, node, _ = parse_ask_value(action["value"])
    services = services_of(context)
    team, user = team_of(context), user_of(context)

    def adopt() -> None:
        with services.session_factory.begin() as session:
            run = session.get(PipelineRun, run_id)
            if run is None or run.team_id != team:
                raise NotFound(f"There is no request {run_id}.")
            secret = adopt_bot_token(
                session=session,
                project_id=run.project_id,
                team_id=team,
                user_id=user,
                token=services.settings.slack_bot_token or "",
                key=secret_key(services.settings),
                n8n=services.n8n,
            )
            context_ = RunContext.of(run.context)
            candidate = context_.candidate or {}
            # Every waiting Slack node posts as the bot (the token is never bound by type alone).
            waiting = [n.node for n in context_.credentials_needed] or [node]
            chosen = dict.fromkeys(bot_token_nodes(candidate, waiting), secret)
            channel, thread_ts = run.slack_channel_id, run.slack_thread_ts
        notes = join_channels(client, slack_channels(candidate))
        if notes and channel:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text="\n".join(notes))
        give_credentials(services, client, run_id=run_id, team_id=team, user_id=user, chosen=chosen)

    on_run_worker(context, body, client, adopt)


def handle_credential_choose(
    ack: Ack, action: dict[str, Any], body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    ack()
    run_id, node, secret = parse_choice_value(action["selected_option"]["value"])
    services = services_of(context)
    team, user = team_of(context), user_of(context)
    on_run_worker(
        context,
        body,
        client,
        lambda: give_credentials(
            services, client, run_id=run_id, team_id=team, user_id=user, chosen={node: secret}
        ),
    )
