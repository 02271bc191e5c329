"""Any button or menu no other listener handles: acknowledged, nothing else.

A link button (a button with a `url`) still sends Slack a `block_actions` interaction; an app
that does not acknowledge it gets an error icon next to the button. n8n's own Slack node posts
such buttons (send-and-wait approvals: "Approve" opens n8n's URL), and so may any workflow, in
messages the bot wrote. Registered last (`bot.listeners.register_listeners`): Bolt runs the first
listener that matches, so every named action keeps its own.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack

log = logging.getLogger(__name__)


def handle_any_other_action(ack: Ack, body: dict[str, Any]) -> None:
    ack()
    actions = body.get("actions") or [{}]
    action = actions[0] if isinstance(actions[0], dict) else {}
    # The action id and type only: the value may be anything a workflow put there.
    log.debug(
        "acknowledged %s action %.80s (%s)",
        body.get("type"),
        action.get("action_id"),
        "link" if action.get("url") else action.get("type"),
    )
