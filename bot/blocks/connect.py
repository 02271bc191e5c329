"""Connect an account from Slack: the "Connect <service>" button's value, the private message
with the single-use link (only ever ephemeral: the link is the clicking user's), and the App Home
list of connected accounts with Reconnect. Pure: data in, blocks out."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from bot.blocks.common import (
    Block,
    actions,
    button,
    confirm_dialog,
    context,
    escape,
    person,
    section,
)
from core.connect import AccountInfo

CONNECT_ACTION = "account_connect"
DISCONNECT_ACTION = "account_disconnect"
# The link button opens the consent page in the browser; Slack still sends the click: acked.
OPEN_LINK_ACTION = "account_connect_open"


def connect_value(service: str, run_id: int | None = None) -> str:
    """The value of a Connect button: which service, and the run to resume (if any)."""
    return json.dumps({"s": service, "r": run_id}, separators=(",", ":"))


def parse_connect_value(value: str) -> tuple[str, int | None]:
    """(service, run_id) from a Connect button's value (untrusted input)."""
    data = json.loads(value)
    run = data.get("r")
    return str(data["s"])[:40], int(run) if run is not None else None


def connect_button(label: str, service: str, run_id: int | None = None) -> Block:
    return button(
        f"Connect {label}", CONNECT_ACTION, connect_value(service, run_id), style="primary"
    )


def connect_link_blocks(
    *, label: str, url: str, expires_at: dt.datetime, project: str, resumes_run: bool
) -> list[Block]:
    """The ephemeral answer to "Connect": a button opening the consent page (single use)."""
    after = (
        "Once you agree, I bind the account to the project and your request goes on by itself."
        if resumes_run
        else "Once you agree, the project's workflows can use this account."
    )
    return [
        section(
            f":link: Connect *{escape(label)}* to project *{escape(project)}*: the button opens "
            f"its sign-in and consent page. {after}"
        ),
        actions(
            button(f"Open {label} consent page", OPEN_LINK_ACTION, url=url, style="primary"),
            block_id="connect_link",
        ),
        context(
            f"This link is yours only and works once, until {expires_at:%H:%M} UTC. Clixen never "
            "sees your password or the access token: n8n keeps the token, encrypted."
        ),
    ]


def account_line(account: AccountInfo) -> str:
    # An account's email only for whoever connected it and the project's owners (core decides).
    who = f" as {escape(account.account)}" if account.account else ""
    used = f"{account.last_used_at:%Y-%m-%d %H:%M} UTC" if account.last_used_at else "not yet"
    state = " · :warning: *needs reconnect*" if account.needs_reconnect else ""
    return (
        f"*{escape(account.label)}*{who} · connected by {person(account.connected_by)} on "
        f"{account.connected_at:%Y-%m-%d} · last successful use {used}{state}"
    )


def accounts_blocks(accounts: Sequence[AccountInfo]) -> list[Block]:
    """App Home's "Connected accounts": one line each, Reconnect on those that need it."""
    blocks: list[Block] = [section("*Connected accounts*")]
    if not accounts:
        blocks.append(
            context("None yet. `/clixen connect google-sheets` (or gmail, outlook, hubspot, …).")
        )
        return blocks
    for account in accounts[:20]:
        blocks.append(section(account_line(account)))
        blocks.append(
            actions(
                button(
                    "Reconnect",
                    CONNECT_ACTION,
                    connect_value(account.service),
                    style="primary" if account.needs_reconnect else None,
                ),
                button(
                    "Disconnect",
                    DISCONNECT_ACTION,
                    account.service,
                    style="danger",
                    confirm=confirm_dialog(
                        f"Disconnect {account.label}?",
                        "Its access token is deleted from n8n; the project's workflows that use "
                        "it fail until someone connects it again.",
                        "Disconnect",
                    ),
                ),
                block_id=f"account_{account.service}",
            )
        )
    return blocks
