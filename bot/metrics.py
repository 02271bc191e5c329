"""Slack requests as metrics: how many by surface, and how fast each was acknowledged.

Over HTTP the server times each request from its arrival to its answer (`bot.server`); in Socket
Mode Bolt's socket client acknowledges, so only the count moves (`bot.app`'s middleware).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from prometheus_client import Counter, Histogram

# Slack expects an ack within 3 s: the buckets are finest where the product aims (tens of ms).
ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5)

# The request kinds Slack sends; anything else (or unreadable) counts as `other`, a request
# refused before it was read or verified (too large, bad signature) as `refused`.
SURFACES = frozenset(
    {
        "event_callback",
        "slash_command",
        "block_actions",
        "block_suggestion",
        "view_submission",
        "view_closed",
        "shortcut",
        "message_action",
        "url_verification",
    }
)

SLACK_REQUESTS = Counter(
    "clixen_slack_requests", "Slack requests received, by surface.", ["surface"]
)
SLACK_ACK_SECONDS = Histogram(
    "clixen_slack_ack_seconds",
    "Time from a Slack request's arrival to its acknowledgement (HTTP mode), by surface.",
    ["surface"],
    buckets=ACK_BUCKETS,
)


def surface_of(kind: str | None) -> str:
    """The `surface` label of a request kind (`bot.server.request_kind`)."""
    return kind if kind in SURFACES else "other"


def surface_of_body(body: Mapping[str, Any]) -> str:
    """The `surface` label of a parsed request body, as Bolt hands it to middleware."""
    if "command" in body and "type" not in body:
        return "slash_command"
    return surface_of(str(body.get("type")) if body.get("type") else None)


def acknowledged(surface: str, started: float) -> None:
    """Count a request answered now that arrived at `started` (time.perf_counter())."""
    SLACK_REQUESTS.labels(surface).inc()
    SLACK_ACK_SECONDS.labels(surface).observe(time.perf_counter() - started)
