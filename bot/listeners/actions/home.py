"""App Home actions: switch project, next/previous page. Values are untrusted: core checks them."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.blocks.home import parse_page_value
from bot.home import publish_home
from bot.listeners.context import SlackRequest, acked, services_of, team_of, user_of
from core.kernel.errors import InvalidInput


@acked()
def handle_home_project_select(request: SlackRequest) -> None:
    switch_home_project(request.payload, request.client, request.context)


def switch_home_project(action: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    try:
        project_id = int(action["selected_option"]["value"])
    except (KeyError, TypeError, ValueError) as e:
        raise InvalidInput("That project choice is not valid.") from e
    publish_home(
        services_of(context),
        client,
        team_id=team_of(context),
        user_id=user_of(context),
        switch_to=project_id,
    )


@acked()
def handle_home_page(request: SlackRequest) -> None:
    turn_home_page(request.payload, request.client, request.context)


def turn_home_page(action: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    try:
        project_id, cursor, direction = parse_page_value(action["value"])
    except (KeyError, TypeError, ValueError) as e:
        raise InvalidInput("That page link is not valid any more.") from e
    publish_home(
        services_of(context),
        client,
        team_id=team_of(context),
        user_id=user_of(context),
        project_id=project_id,
        cursor=cursor,
        direction="prev" if direction == "prev" else "next",
    )
