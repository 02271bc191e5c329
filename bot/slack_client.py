"""The one Slack Web API client of the bot: every call (listeners, notifier, uploads) goes through
`SlackClient.api_call`, which first checks that no database transaction is open in this thread
(`core.kernel.transactions`: a test fails, production logs a warning)."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.web import SlackResponse

from core.kernel.transactions import outside_transaction


class SlackClient(WebClient):
    """slack_sdk's WebClient that never calls Slack inside an open database transaction."""

    def api_call(self, api_method: str, *args: Any, **kwargs: Any) -> SlackResponse:
        outside_transaction("Slack", api_method)
        return super().api_call(api_method, *args, **kwargs)
