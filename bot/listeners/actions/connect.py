""" "Connect <service>" (a waiting run's button, App Home's Reconnect): a single-use link for the
clicking user, answered privately (ephemeral), never posted where others could use it."""

from __future__ import annotations

from slack_bolt import Ack, Respond

from bot.blocks.connect import connect_link_blocks, parse_connect_value
from bot.home import publish_home
from bot.listeners.context import SlackRequest, acked
from bot.services import BotServices
from core.connect import create_link, disconnect, forget_credential
from core.kernel.vocabulary import Role
from core.pipeline.runs import run_and_project
from core.workspace.projects import default_project, project_for


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
            _, project = run_and_project(
                session=session, run_id=run_id, team_id=team_id, user_id=user_id,
                at_least=Role.editor,
            )  # fmt: skip
        else:
            project = project_for(
                session=session, project_id=None, team_id=team_id, user_id=user_id,
                at_least=Role.editor,
            )  # fmt: skip
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


@acked()
def handle_account_connect(request: SlackRequest) -> None:
    service, run_id = parse_connect_value(request.payload["value"])
    assert request.respond is not None
    send_connect_link(
        request.services,
        request.respond,
        team_id=request.team,
        user_id=request.user,
        service=service,
        run_id=run_id,
    )


@acked()
def handle_account_disconnect(request: SlackRequest) -> None:
    """App Home's Disconnect (confirmed in Slack): the account of the user's active project."""
    services, team, user = request.services, request.team, request.user
    service = str(request.payload.get("value", ""))[:40]
    with services.session_factory.begin() as session:
        project = default_project(session=session, team_id=team, user_id=user)
        removed = disconnect(
            session=session, team_id=team, user_id=user, project_id=project.id, service=service
        )
    forget_credential(services.n8n, removed.credential_id)  # after the commit
    publish_home(services, request.client, team_id=team, user_id=user)


def handle_account_connect_open(ack: Ack) -> None:
    """The link button opens the browser by itself; Slack only needs the click acknowledged."""
    ack()
