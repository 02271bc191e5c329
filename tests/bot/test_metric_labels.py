"""/metrics stays a fixed set of series whatever the internet sends: made-up HTTP methods, random
paths and junk Slack payloads (signed or not) all land on labels from fixed sets."""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

from prometheus_client import REGISTRY
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from api import create_api_app
from core.kernel.settings import Settings
from core.n8n import N8nClient
from tests.bot.conftest import SlackSender

FAMILIES = ("clixen_http_request", "clixen_slack_")


def unreachable_n8n() -> N8nClient:
    raise AssertionError("no request here is authorised to reach n8n")


def series() -> int:
    """How many series the request metrics hold right now."""
    return sum(
        1
        for family in REGISTRY.collect()
        if family.name.startswith(FAMILIES)
        for _ in family.samples
    )


def junk(i: int) -> str:
    return f"x{i}-{uuid.uuid4().hex[:6]}"


def send_junk(api: TestClient, bot: SlackSender, rounds: int) -> None:
    for i in range(rounds):
        api.request(junk(i).upper(), f"/api/v1/workflows/{junk(i)}")
        api.request("GET", f"/{junk(i)}/{junk(i)}?q={junk(i)}")
        api.request("POST", f"/api/v1/workflows/{i}/rollback", content=b"{")
        bot.post(json.dumps({"type": junk(i), "event": {"type": junk(i)}}), "application/json")
        bot.post(urlencode({"payload": json.dumps({"type": junk(i)})}), "text/plain")
        bot.post(urlencode({"command": f"/{junk(i)}", "text": junk(i)}), junk(i))
        bot.post("{", "application/json", signature="v0=" + "0" * 64)


def test_junk_methods_paths_and_slack_payloads_add_no_series(
    bot: SlackSender, session_factory: sessionmaker[Session]
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, CLIXEN_API_RATE_PER_ADDRESS=100_000, CLIXEN_API_RATE_PER_TOKEN=100_000
    )
    app = create_api_app(
        settings=settings, session_factory=session_factory, n8n_factory=unreachable_n8n
    )
    with TestClient(app) as api:
        send_junk(api, bot, 3)  # every fixed label value these requests can reach, once
        bot.settle()
        before = series()
        send_junk(api, bot, 200)
        bot.settle()
        assert series() == before
