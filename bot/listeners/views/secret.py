"""The secret form's submission: the value goes straight to encrypted storage, never to a
channel or a log."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.blocks.common import escape
from bot.blocks.credentials import submitted_hosts
from bot.listeners.context import after_ack, services_of, team_of, user_of
from bot.run_threads import give_credentials
from bot.services import BotServices
from core.credentials.entry import SeveralFields, entered_value
from core.kernel.errors import ClixenError, InvalidInput
from core.usecases import Actor
from core.usecases.secrets import SavedSecret, save_secret


def _field(view: dict[str, Any], block_id: str) -> str:
    value = view["state"]["values"].get(block_id, {}).get("value", {}).get("value")
    return (value or "").strip()


def handle_secret_submission(
    ack: Ack,
    view: dict[str, Any],
    body: dict[str, Any],
    context: BoltContext,
    client: WebClient,
) -> None:
    """Save the secret typed in the form (errors shown in the form), then confirm it in a DM."""
    services = services_of(context)
    name, value = _field(view, "name"), _field(view, "value")
    credential_type = _field(view, "credential_type") or None
    project_id, errors = _project_and_form_errors(view, name=name, value=value)
    if errors:
        ack(response_action="errors", errors=errors)
        return
    user, team = user_of(context), team_of(context)
    try:
        # A typed secret is checked against n8n's schema of its type now (a JSON object of its
        # fields, or the one value a one-field type takes), never at deploy.
        try:
            value = entered_value(services.n8n, credential_type, value, secret=name)
        except SeveralFields as e:
            example = ", ".join(f'"{n}": "…"' for n in e.missing)
            why = f"{credential_type} has several fields: enter {{{example}}}"
            ack(response_action="errors", errors={"value": why[:150]})
            return
        # private_metadata comes back from Slack: core checks the user is still an editor there.
        saved = save_secret(
            services.session_factory,
            settings=services.settings,
            n8n=services.n8n,  # a secret already in n8n: its credential updated now
            actor=Actor(team, user),
            project=project_id,
            name=name,
            value=value,
            credential_type=credential_type,
            allowed_hosts=submitted_hosts(view),
        )
    except InvalidInput as e:
        ack(response_action="errors", errors={"name": str(e)[:150]})
        return
    except ClixenError as e:
        ack(response_action="errors", errors={"value": str(e)[:150]})
        return
    ack()
    # After the ack: the modal closes at once, and a failing message cannot turn it into an error.
    after_ack(
        context,
        body,
        client,
        partial(_confirm_saved, services, client, saved, name=name, actor=Actor(team, user)),
    )


def _project_and_form_errors(
    view: dict[str, Any], *, name: str, value: str
) -> tuple[int, dict[str, str]]:
    """The project the form was opened for, and the errors to show by field (none: valid)."""
    errors = {}
    if not name:
        errors["name"] = "Give the secret a name."
    if not value:
        errors["value"] = "Enter the secret's value."
    try:
        project_id = int(view.get("private_metadata") or "")
    except ValueError:
        project_id = 0
        errors["name"] = "This form is not valid any more; open it again with /clixen secret."
    return project_id, errors


def _confirm_saved(
    services: BotServices, client: WebClient, saved: SavedSecret, *, name: str, actor: Actor
) -> None:
    """Tell the user the secret is saved, and let the project's runs waiting for a credential
    try again with it."""
    client.chat_postMessage(
        channel=actor.user_id,
        text=f"Saved secret `{escape(name)}` (encrypted). Workflows can use it.",
    )
    for run_id in saved.waiting_runs:
        give_credentials(
            services, client, run_id=run_id, team_id=actor.team_id, user_id=actor.user_id
        )
