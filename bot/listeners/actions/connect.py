""" "Connect <service>" (a waiting run's button, App Home's Reconnect): a single-use link for the
clicking user, answered privately (ephemeral), never posted where others could use it."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.blocks.connect import connect_link_blocks, parse_connect_value
from bot.home import publish_home
from bot.listeners.context import after_ack, services_of, team_of, user_of
from bot.services import BotServices
from core.connect import create_link, disconnect
from core.kernel.errors import NotFound
from core.kernel.models import PipelineRun, Project
from core.workspace.projects import default_project


def send_connect_link(
    services: BotServices,
    respond: Respond,
    *,
    team_id: str,
    user_id: str,
    service: str,
    run_id: int | None,
) -> None:
    """Make the user's link (in the run's project, else their active one) and show it privately.
    Raises PermissionDenied below editor, InvalidInput for an unknown service, NotFound."""
    with services.session_factory.begin() as session:
        if run_id is not None:
            run = session.get(PipelineRun, run_id)
            if run is None or run.team_id != team_id:
                raise NotFound(f"There is no request {run_id}.")
            project = session.get(Project, run.project_id)
            assert project is not None
        else:
            project = default_project(session=session, team_id=team_id, user_id=user_id)
        link = create_link(
            session=session,
            team_id=team_id,
            user_id=user_id,
            project_id=project.id,
            service=service,
            public_url=services.settings.public_url,
            run_id=run_id,
        )
        project_name = project.name
    respond(
        blocks=connect_link_blocks(
            label=link.service.label,
            url=link.url,
            expires_at=link.expires_at,
            project=project_name,
            resumes_run=run_id is not None,
        ),
        text=f"Connect {link.service.label}",
        response_type="ephemeral",
        replace_original=False,
    )


def handle_account_connect(
    ack: Ack,
    action: dict[str, Any],
    body: dict[str, Any],
    respond: Respond,
    client: WebClient,
    context: BoltContext,
) -> None:
    ack()
    service, run_id = parse_connect_value(action["value"])
    services = services_of(context)
    after_ack(
        context,
        body,
        client,
        lambda: send_connect_link(
            services,
            respond,
            team_id=team_of(context),
            user_id=user_of(context),
            service=service,
            run_id=run_id,
        ),
    )


def handle_account_disconnect(
    ack: Ack, action: dict[str, Any], body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """App Home's Disconnect (confirmed in Slack): the account of the user's active project."""
    ack()
    services = services_of(context)
    team, user = team_of(context), user_of(context)
    service = str(action.get("value", ""))[:40]

    def remove() -> None:
        with services.session_factory.begin() as session:
            project = default_project(session=session, team_id=team, user_id=user)
            disconnect(
                session=session,
                n8n=services.n8n,
                team_id=team,
                user_id=user,
                project_id=project.id,
                service=service,
            )
        publish_home(services, client, team_id=team, user_id=user)

    after_ack(context, body, client, remove)


def handle_account_connect_open(ack: Ack) -> None:
    """The link button opens the browser by itself; Slack only needs the click acknowledged."""
    ack()
