"""Explain, built from the workflow itself (no LLM): the trigger, each step in words in the order
the data flows, where it posts, which accounts it uses."""

from __future__ import annotations

import itertools
from typing import Any

from core.usecases.explain import describe


def _node(name: str, kind: str, x: int, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": f"n8n-nodes-base.{kind}",
        "typeVersion": 1,
        "position": [x, 0],
        "parameters": params,
        **extra,
    }


def six_nodes() -> dict[str, Any]:
    """Every morning → Fetch feed → Only new → Shape → Post to #news → Mail the team."""
    chain = ["Every morning", "Fetch feed", "Only new", "Shape", "Post to news", "Mail the team"]
    return {
        "name": "Morning digest",
        "nodes": [
            # Listed out of order: the explanation follows the connections, not the list.
            _node(
                "Mail the team",
                "gmail",
                1000,
                {"operation": "send", "sendTo": "ops@example.com", "subject": "Digest"},
                credentials={"gmailOAuth2": {"id": "7", "name": "Ops mailbox"}},
            ),
            _node(
                "Every morning",
                "scheduleTrigger",
                0,
                {"rule": {"interval": [{"field": "days", "triggerAtHour": 8}]}},
            ),
            _node("Fetch feed", "httpRequest", 200, {"url": "https://example.com/feed.json"}),
            _node("Only new", "filter", 400, {"conditions": {}}),
            _node(
                "Shape",
                "set",
                600,
                {"assignments": {"assignments": [{"name": "title"}, {"name": "link"}]}},
            ),
            _node(
                "Post to news",
                "slack",
                800,
                {
                    "resource": "message",
                    "operation": "post",
                    "channelId": {
                        "__rl": True,
                        "value": "C0NEWS",
                        "mode": "list",
                        "cachedResultName": "#news",
                    },
                    "text": "={{ $json.title }}",
                },
                credentials={"slackApi": {"id": "3", "name": "Team bot"}},
            ),
        ],
        "connections": {
            a: {"main": [[{"node": b, "type": "main", "index": 0}]]}
            for a, b in itertools.pairwise(chain)
        },
    }


def test_explain_of_six_nodes_names_trigger_each_step_and_destinations() -> None:
    trigger, steps, destinations, accounts, sentences = describe(six_nodes(), name="Morning digest")
    assert trigger == "every day at 8:00"
    assert [(s.node, s.words) for s in steps] == [
        ("Every morning", "Starts every day at 8:00"),
        ("Fetch feed", "Calls GET https://example.com/feed.json"),
        ("Only new", "Keeps only the items that match a condition"),
        ("Shape", "Sets the fields title, link"),
        ("Post to news", "Posts a message to Slack channel #news"),
        ("Mail the team", "Sends an email to ops@example.com"),
    ]
    assert "Posts a message to Slack channel #news" in destinations
    assert "Sends an email to ops@example.com" in destinations
    assert accounts == ["Team bot (slackApi)", "Ops mailbox (gmailOAuth2)"]
    text = " ".join(sentences)
    assert "“Morning digest” runs every day at 8:00 and then takes 5 steps." in text
    assert "Slack channel #news" in text and "Ops mailbox (gmailOAuth2)" in text


def test_a_workflow_that_only_computes_says_so() -> None:
    wf = {
        "nodes": [
            _node("Hook", "webhook", 0, {"httpMethod": "POST", "path": "in"}),
            _node("Tidy", "set", 200, {}),
        ],
        "connections": {"Hook": {"main": [[{"node": "Tidy", "type": "main", "index": 0}]]}},
    }
    trigger, steps, destinations, accounts, sentences = describe(wf, name="Echo")
    assert trigger == "when its web address is called (POST /in)"
    assert [s.words for s in steps] == [f"Starts {trigger}", "Shapes the data"]
    assert destinations == [] and accounts == []
    assert "It only computes" in " ".join(sentences)


def test_a_secret_in_a_parameter_is_never_repeated() -> None:
    wf = {
        "nodes": [
            _node("Go", "manualTrigger", 0, {}),
            _node(
                "Call",
                "httpRequest",
                200,
                {"url": "https://api.example.com/v1?api_key=s3cr3tvalue"},
            ),
        ],
        "connections": {"Go": {"main": [[{"node": "Call", "type": "main", "index": 0}]]}},
    }
    _, steps, destinations, _, sentences = describe(wf, name="Leaky")
    said = " ".join([*(s.words for s in steps), *destinations, *sentences])
    assert "s3cr3tvalue" not in said and "api_key=***" in said
