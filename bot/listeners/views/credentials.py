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
from core.credentials.secrets import push_secret, secret_key, set_secret
from core.kernel.errors import ClixenError
from core.kernel.vocabulary import Role
from core.pipeline.runs import run_and_project


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
        with services.session_factory.begin() as session:
            # private_metadata comes back from Slack: the user must be an editor of the run's
            # project (NotFound for a run that no longer exists).
            _, project = run_and_project(
                session=session, run_id=run_id, team_id=team, user_id=user, at_least=Role.editor
            )
            set_secret(
                session=session,
                project_id=project.id,
                name=name,
                value=json.dumps(data),  # the n8n credential's data, field by field
                actor_user_id=user,
                key=secret_key(services.settings),
                credential_type=ctype,
                allowed_hosts=submitted_hosts(view),
            )
        if services.n8n is not None:  # a secret already in n8n: its credential updated now
            push_secret(
                services.session_factory,
                n8n=services.n8n,
                project_id=project.id,
                name=name,
                key=secret_key(services.settings),
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
