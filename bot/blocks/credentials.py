"""A run waiting for credentials: the thread message that asks for them (a button per node that
opens a form, a select of the project's secrets of the right type) and the form itself, built
from the credential type's fields as n8n describes them. Pure: data in, blocks out."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.blocks.common import (
    Block,
    actions,
    button,
    clip,
    confirm_dialog,
    context,
    escape,
    option,
    plain,
    section,
)
from bot.blocks.connect import connect_button
from core.catalog.credential_domains import OWNER_NAMED, SERVICE_DOMAINS
from core.catalog.credential_needs import secret_command, suggested_secret_name
from core.connect.connectable import service_for_type
from core.credentials.needs import BOT_SECRET, SLACK_API, CredentialField

OPEN_ACTION = "credential_open"
USE_BOT_ACTION = "credential_use_bot"
CHOOSE_ACTION = "credential_choose"
SUBMIT_CALLBACK = "credential_submit"
NAME_BLOCK = "secret_name"
FIELD_BLOCK = "field:"  # + the credential field's name
HOSTS_BLOCK = "allowed_hosts"
# Slack has no password input: say so where a secret is typed.
VISIBLE_INPUT_NOTE = (
    "Slack has no password field, so what you type stays visible in this form while you type. "
    "It goes straight to encrypted storage: it is never posted, logged or shown again."
)


@dataclass(frozen=True)
class CredentialAsk:
    """One node's missing credential, and the project's secrets that could fill it."""

    node: str
    types: tuple[str, ...]
    existing: tuple[str, ...] = ()
    # A Slack node: it may post as the Clixen bot (never an HTTP Request node).
    posts_as_bot: bool = True


def ask_value(run_id: int, node: str, credential_type: str) -> str:
    """The value of the "Add" button: which run, node and type the form is for."""
    return clip(json.dumps({"run": run_id, "node": node, "type": credential_type}), 2000)


def parse_ask_value(value: str) -> tuple[int, str, str]:
    data = json.loads(value)
    return int(data["run"]), str(data["node"]), str(data["type"])


def choice_value(run_id: int, node: str, secret: str) -> str:
    return json.dumps({"run": run_id, "node": node, "secret": secret})[:150]


def parse_choice_value(value: str) -> tuple[int, str, str]:
    data = json.loads(value)
    return int(data["run"]), str(data["node"]), str(data["secret"])


def credentials_needed_text(asks: Sequence[CredentialAsk]) -> str:
    wants = ", ".join(f"{a.node} ({' or '.join(a.types)})" for a in asks)
    return f"Waiting for credentials: {wants}"


def bot_consent_text(scopes: Sequence[str]) -> str:
    """What letting the project's workflows post as the Clixen bot grants (the confirm dialog)."""
    granted = ", ".join(scopes) if scopes else "the scopes the Clixen app was installed with"
    return (
        f"Every workflow of this project may then act as the Clixen bot, with its scopes: "
        f"{granted}. Its token is stored encrypted as the project secret {BOT_SECRET} "
        "(slackApi). Only a project owner can allow this."
    )


def credentials_needed_blocks(
    *,
    run_id: int,
    request: str,
    asks: Sequence[CredentialAsk],
    note: str | None = None,
    bot_scopes: Sequence[str] | None = None,
) -> list[Block]:
    """The run's message while it waits: per node, what it needs, an Add button, (when the
    project has secrets of that type) a select to use one of them, and for Slack (given the
    bot's scopes) "Post as Clixen", which asks for consent first."""
    blocks: list[Block] = [section(f"*Request:* {escape(request)}")]
    if note:
        blocks.append(section(f":warning: {escape(note)}"))
    blocks.append(
        section(
            ":key: The workflow is ready. Before it goes live it needs credentials; nothing is "
            "lost while it waits."
        )
    )
    for i, ask in enumerate(asks):
        blocks += _ask_blocks(ask, run_id=run_id, block_id=f"credential_{i}", bot_scopes=bot_scopes)
    blocks.append(_how_to_give(asks))
    return blocks


def _ask_blocks(
    ask: CredentialAsk, *, run_id: int, block_id: str, bot_scopes: Sequence[str] | None
) -> list[Block]:
    """One node's ask: what it needs, then Connect (an OAuth2 account) or Add, Post as Clixen
    (Slack, with consent), and a select of the project's secrets that fit."""
    ctype = ask.types[0]
    kinds = " or ".join(f"`{escape(t)}`" for t in ask.types)
    service = next((s for t in ask.types if (s := service_for_type(t)) is not None), None)
    if service is not None:
        # An OAuth2 account: the user signs in at the provider, nothing is pasted.
        what = section(f"*{escape(ask.node)}* needs your {escape(service.label)} account.")
        elements = [connect_button(service.label, service.name, run_id)]
    else:
        what = section(f"*{escape(ask.node)}* needs a {kinds} credential.")
        elements = [
            button(
                f"Add {ctype} credential",
                OPEN_ACTION,
                ask_value(run_id, ask.node, ctype),
                style="primary",
            )
        ]
    if SLACK_API in ask.types and ask.posts_as_bot and bot_scopes is not None:
        elements.append(
            button(
                "Post as Clixen",
                USE_BOT_ACTION,
                ask_value(run_id, ask.node, SLACK_API),
                confirm=confirm_dialog("Post as Clixen?", bot_consent_text(bot_scopes), "Allow"),
            )
        )
    if ask.existing:
        elements.append(
            {
                "type": "static_select",
                "action_id": CHOOSE_ACTION,
                "placeholder": plain("Use a project secret"),
                "options": [
                    option(name, choice_value(run_id, ask.node, name))
                    for name in ask.existing[:100]
                ],
            }
        )
    return [what, actions(*elements, block_id=block_id)]


def _how_to_give(asks: Sequence[CredentialAsk]) -> Block:
    """The closing note: how connecting works when every ask is an account, else where a
    secret's value goes and the terminal command that sets it."""
    if all(service_for_type(a.types[0]) is not None for a in asks) and asks:
        return context(
            "Connect opens the provider's sign-in page: nothing to copy or paste, and the "
            "token stays in n8n. From Slack or a terminal: `/clixen connect SERVICE`, "
            "`clixen connect SERVICE`."
        )
    command = secret_command(asks[0].types[0]) if asks else "clixen secret set NAME --type TYPE"
    return context(
        "The value is stored encrypted in the project and tested through n8n before the "
        f"workflow goes live. From a terminal (it asks for each field): `{command}`."
    )


def credential_modal(
    *,
    run_id: int,
    node: str,
    credential_type: str,
    project_name: str,
    fields: Sequence[CredentialField],
) -> dict[str, Any]:
    """The form for one credential, built from its type's fields (secret ones marked)."""
    blocks: list[Block] = [
        context(
            f"For *{escape(node)}* · n8n credential type `{escape(credential_type)}` · saved "
            f"encrypted in project *{escape(project_name)}*."
        ),
        {
            "type": "input",
            "block_id": NAME_BLOCK,
            "label": plain("Secret name"),
            "hint": plain("Workflows refer to it by this name (capitals, digits, _)", 150),
            "element": {
                "type": "plain_text_input",
                "action_id": "value",
                "initial_value": suggested_secret_name(credential_type),
            },
        },
    ]
    for f in fields:
        element: Block
        if f.options:
            element = {
                "type": "static_select",
                "action_id": "value",
                "options": [option(o, o) for o in f.options[:100]],
            }
        else:
            element = {"type": "plain_text_input", "action_id": "value"}
        block: Block = {
            "type": "input",
            "block_id": FIELD_BLOCK + f.name,
            "optional": not f.required,
            "label": plain(f.label + (" (secret)" if f.secret else "")),
            "element": element,
        }
        if f.secret:
            block["hint"] = plain("Stored encrypted; never shown again", 150)
        blocks.append(block)
    if credential_type not in SERVICE_DOMAINS:
        blocks.append(hosts_input(required=credential_type in OWNER_NAMED))
    if any(f.secret for f in fields):
        blocks.append(context(f":lock: {VISIBLE_INPUT_NOTE}"))
    return {
        "type": "modal",
        "callback_id": SUBMIT_CALLBACK,
        "private_metadata": ask_value(run_id, node, credential_type),
        "title": plain("Add a credential", 24),
        "submit": plain("Save and deploy", 24),
        "close": plain("Cancel", 24),
        "blocks": blocks,
    }


def hosts_input(*, required: bool) -> Block:
    """The input for the hosts a credential may be sent to (generic types need one)."""
    why = (
        "This credential authenticates whatever host a workflow calls: name the hosts"
        if required
        else "Without a host it works only in its own node, never from HTTP Request; hosts"
    )
    return {
        "type": "input",
        "block_id": HOSTS_BLOCK,
        "optional": not required,
        "label": plain("Hosts it may be sent to"),
        "hint": plain(f"{why}, comma-separated, e.g. api.example.com, *.example.com", 150),
        "element": {"type": "plain_text_input", "action_id": "value"},
    }


def submitted_hosts(view: Mapping[str, Any]) -> list[str] | None:
    """The hosts typed in a form's hosts input (None when it has none or it was left empty)."""
    values = view.get("state", {}).get("values", {})
    raw = str((values.get(HOSTS_BLOCK, {}).get("value") or {}).get("value") or "")
    hosts = [h for h in raw.replace(",", " ").split() if h]
    return hosts or None


def submitted_fields(view: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """The secret name and the credential fields a submitted form holds (empty ones left out)."""
    values = view.get("state", {}).get("values", {})
    name = str((values.get(NAME_BLOCK, {}).get("value") or {}).get("value") or "").strip()
    data: dict[str, str] = {}
    for block_id, inputs in values.items():
        if not block_id.startswith(FIELD_BLOCK):
            continue
        entry = inputs.get("value") or {}
        raw = entry.get("value")
        if raw is None and entry.get("selected_option"):
            raw = entry["selected_option"].get("value")
        if raw is not None and str(raw).strip():
            data[block_id[len(FIELD_BLOCK) :]] = str(raw).strip()
    return name, data
