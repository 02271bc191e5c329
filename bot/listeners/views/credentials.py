"""The credential form's submission: the fields go straight to encrypted storage as the
project's secret of that credential type (never to a channel or a log), then the waiting run is
given it, tested and deployed."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.blocks.credentials import (
    NAME_BLOCK,
    parse_ask_value,
    submitted_fields,
    submitted_hosts,
)
from bot.listeners.context import after_ack, services_of, team_of, user_of
from bot.run_threads import give_credentials
from core.kernel.errors import ClixenError
from core.usecases import Actor
from core.usecases.secrets import save_run_credential


def handle_credential_submission(
    ack: Ack, view: dict[str, Any], body: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    services = services_of(context)
    try:
        run_id, node, ctype = parse_ask_value(view.get("private_metadata") or "")
    except (ValueError, KeyError, TypeError):
        ack(response_action="errors", errors={NAME_BLOCK: "This form is not valid any more."})
        return
    name, data = submitted_fields(view)
    if not name:
        ack(response_action="errors", errors={NAME_BLOCK: "Give the secret a name."})
        return
    if not data:
        ack(response_action="errors", errors={NAME_BLOCK: "Fill in the credential's fields."})
        return
    team, user = team_of(context), user_of(context)
    try:
        # private_metadata comes back from Slack: core checks the user is an editor of the
        # run's project (NotFound for a run that no longer exists).
        save_run_credential(
            services.session_factory,
            settings=services.settings,
            n8n=services.n8n,
            actor=Actor(team, user),
            run_id=run_id,
            name=name,
            value=json.dumps(data),  # the n8n credential's data, field by field
            credential_type=ctype,
            allowed_hosts=submitted_hosts(view),
        )
    except ClixenError as e:
        ack(response_action="errors", errors={NAME_BLOCK: str(e)[:150]})
        return
    ack()
    after_ack(
        context,
        body,
        client,
        lambda: give_credentials(
            services, client, run_id=run_id, team_id=team, user_id=user, chosen={node: name}
        ),
    )
