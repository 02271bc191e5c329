""" "Connect <service>" (a waiting run's button, App Home's Reconnect): a single-use link for the
clicking user, answered privately (ephemeral), never posted where others could use it."""

from __future__ import annotations

from slack_bolt import Ack, Respond

from bot.blocks.connect import connect_link_blocks, parse_connect_value
from bot.home import publish_home
from bot.listeners.context import SlackRequest, acked
from bot.services import BotServices
from core.usecases import Actor
from core.usecases.accounts import connect_account, disconnect_account


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
    made = connect_account(
        services.session_factory,
        settings=services.settings,
        actor=Actor(team_id, user_id),
        service=service,
        run_id=run_id,
    )
    link = made.link
    respond(
        blocks=connect_link_blocks(
            label=link.service.label,
            url=link.url,
            expires_at=link.expires_at,
            project=made.project,
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
    disconnect_account(
        services.session_factory,
        n8n=services.n8n,
        actor=Actor(team, user),
        service=service,
    )
    publish_home(services, request.client, team_id=team, user_id=user)


def handle_account_connect_open(ack: Ack) -> None:
    """The link button opens the browser by itself; Slack only needs the click acknowledged."""
    ack()
