"""A whole workflow answered to a change request, as the operations it means (issue 19)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from core.generation.edit_diff import operations_from_workflow
from core.generation.edits import apply_operations
from core.kernel.safety import LLMOutputInvalid


def _workflow() -> dict[str, Any]:
    return {
        "name": "W",
        "nodes": [
            {
                "id": "a",
                "name": "Start",
                "type": "n8n-nodes-base.scheduleTrigger",
                "typeVersion": 1.2,
                "position": [0, 0],
                "parameters": {"rule": {}},
            },
            {
                "id": "b",
                "name": "Post",
                "type": "n8n-nodes-base.slack",
                "typeVersion": 2.3,
                "position": [200, 0],
                "parameters": {"text": "hi", "otherOptions": {"mrkdwn": True}},
                "credentials": {"slackApi": {"id": "cred-1", "name": "SLACK_TOKEN"}},
            },
        ],
        "connections": {"Start": {"main": [[{"node": "Post", "type": "main", "index": 0}]]}},
        "settings": {"executionOrder": "v1"},
    }


def test_the_diff_applied_gives_the_proposed_workflow_with_credentials_kept() -> None:
    current = _workflow()
    proposed = copy.deepcopy(current)
    post = proposed["nodes"][1]
    post["name"] = "Announce"  # same id: a rename, links follow
    post["parameters"] = {"text": "hello"}  # otherOptions dropped
    del post["credentials"]  # the model never sees credential ids
    proposed["nodes"].append(
        {
            "id": "c",
            "name": "Log",
            "type": "n8n-nodes-base.noOp",
            "typeVersion": 1,
            "position": [400, 0],
            "parameters": {},
        }
    )
    proposed["connections"] = {
        "Start": {"main": [[{"node": "Announce", "type": "main", "index": 0}]]},
        "Announce": {"main": [[{"node": "Log", "type": "main", "index": 0}]]},
    }
    ops = operations_from_workflow(current, proposed)
    assert [o.op for o in ops] == ["rename_node", "add_node", "update_parameters", "connect"]
    result = apply_operations(current, ops).workflow
    nodes = {n["name"]: n for n in result["nodes"]}
    assert nodes["Announce"]["parameters"] == {"text": "hello"}
    assert nodes["Announce"]["credentials"]["slackApi"]["id"] == "cred-1"
    assert result["connections"]["Announce"]["main"][0][0]["node"] == "Log"


def test_a_removed_node_is_a_removal_and_an_unchanged_reply_is_refused() -> None:
    current = _workflow()
    proposed = copy.deepcopy(current)
    proposed["nodes"] = proposed["nodes"][:1]
    proposed["connections"] = {}
    assert [o.op for o in operations_from_workflow(current, proposed)] == ["remove_node"]
    with pytest.raises(LLMOutputInvalid, match="unchanged"):
        operations_from_workflow(current, copy.deepcopy(current))
