"""The Slack trigger node on its own (no service): its parameters checked and bounded, the
patterns that could run long refused, and its compiled form for n8n."""

from __future__ import annotations

from typing import Any

import pytest

from core.kernel.errors import InvalidInput
from core.triggers import (
    PAYLOAD_FIELDS,
    SLACK_TRIGGER_TYPE,
    Endpoint,
    compile_for_n8n,
    trigger_of,
)
from core.triggers.payload import empty_payload, event_payload
from core.triggers.spec import check_pattern, text_matches
from core.validation import validate


def trigger(**params: Any) -> dict[str, Any]:
    return {
        "name": "When reacted",
        "type": SLACK_TRIGGER_TYPE,
        "typeVersion": 1,
        "position": [0, 0],
        "parameters": params,
    }


def workflow(**params: Any) -> dict[str, Any]:
    return {
        "name": "tickets",
        "nodes": [
            trigger(**params),
            {
                "name": "Keep",
                "type": "n8n-nodes-base.noOp",
                "typeVersion": 1,
                "position": [220, 0],
                "parameters": {},
            },
        ],
        "connections": {"When reacted": {"main": [[{"node": "Keep", "type": "main", "index": 0}]]}},
        "settings": {"executionOrder": "v1"},
    }


def test_a_workflow_with_the_trigger_is_valid_and_reads_back_its_parameters() -> None:
    wf = workflow(events=["reaction_added"], channels=["#support"], emoji=[":ticket:"])
    assert validate(wf).valid
    spec = trigger_of(wf)
    assert spec is not None
    assert spec.events == ("reaction_added",)
    assert spec.channels == ("support",)
    assert spec.emoji == ("ticket",)


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({}, "`events` is empty"),
        ({"events": ["reaction"]}, "unknown event 'reaction'"),
        ({"events": ["message"]}, "must name its channels"),
        ({"events": ["message"], "channels": ["not a channel!"]}, "neither a channel id"),
        (
            {"events": ["reaction_added"], "channels": [f"C{i:05d}" for i in range(21)]},
            "at most 20",
        ),
        ({"events": ["message"], "channels": ["C1"], "pattern": "(a+)+$"}, "repeats a repetition"),
        ({"events": ["message"], "channels": ["C1"], "pattern": "x" * 201}, "at most 200"),
        ({"events": ["manual"], "inputs": [{"name": "bad name"}]}, "short identifier"),
    ],
)
def test_bad_parameters_are_refused_saying_what_to_change(
    params: dict[str, Any], says: str
) -> None:
    with pytest.raises(InvalidInput, match=says.replace("(", r"\(").replace("+", r"\+")):
        trigger_of(workflow(**params))


def test_two_slack_triggers_in_one_workflow_are_refused() -> None:
    wf = workflow(events=["manual"])
    wf["nodes"].append({**trigger(events=["manual"]), "name": "Second"})
    with pytest.raises(InvalidInput, match="one Slack trigger"):
        trigger_of(wf)


@pytest.mark.parametrize("pattern", ["(a+)+b", "(a|aa)*", "a*a*b", r"\s*\s*x"])
def test_patterns_that_can_take_forever_are_refused(pattern: str) -> None:
    with pytest.raises(InvalidInput):
        check_pattern(pattern)


@pytest.mark.parametrize("pattern", [r"\burgent\b", "p[0-3]", ".*urgent.*now", "(ab){2}c+"])
def test_usual_patterns_are_accepted(pattern: str) -> None:
    check_pattern(pattern)


def test_text_filters_are_case_insensitive_and_combined() -> None:
    filters = {"contains": "URGENT", "pattern": r"p[0-2]\b"}
    assert text_matches(filters, "urgent: p1 is down")
    assert not text_matches(filters, "urgent: p4 is down")
    assert not text_matches(filters, "p1 is down")
    assert text_matches({}, "anything")


def test_compiled_for_n8n_the_trigger_is_a_header_auth_webhook_feeding_a_node_of_its_name() -> None:
    wf = workflow(events=["reaction_added"])
    endpoint = Endpoint(7, "clixen-abc", "cred-1")  # the secret itself stays sealed
    sent = compile_for_n8n(wf, endpoint)
    by_name = {n["name"]: n for n in sent["nodes"]}
    hook = by_name["When reacted (Clixen)"]
    assert hook["type"] == "n8n-nodes-base.webhook"
    assert hook["parameters"]["authentication"] == "headerAuth"
    assert hook["parameters"]["path"] == "clixen-abc"
    assert hook["credentials"] == {
        "httpHeaderAuth": {"id": "cred-1", "name": endpoint.credential_name}
    }
    assert by_name["When reacted"]["type"] == "n8n-nodes-base.set"
    assert sent["connections"]["When reacted (Clixen)"]["main"][0][0]["node"] == "When reacted"
    assert sent["connections"]["When reacted"] == wf["connections"]["When reacted"]
    assert compile_for_n8n(wf, endpoint) == sent  # the same version compiles the same way
    assert validate(sent).valid


def test_the_payload_has_every_documented_field_and_nothing_else() -> None:
    assert set(empty_payload("message", team_id="T", event_id="E", workflow_id=1)) == set(
        PAYLOAD_FIELDS
    )
    reaction = {
        "type": "reaction_added",
        "user": "U1",
        "reaction": "ticket",
        "item": {"type": "message", "channel": "C1", "ts": "1.2"},
        "item_user": "U2",
    }
    payload = event_payload(reaction, team_id="T", event_id="E", workflow_id=1)
    assert set(payload) == set(PAYLOAD_FIELDS)
    assert (payload["channel_id"], payload["ts"], payload["reaction"]) == ("C1", "1.2", "ticket")
    assert payload["message"]["user_id"] == "U2"
