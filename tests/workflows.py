"""Sample n8n workflows that tests and benchmarks deploy, validate or have the scripted LLM answer
with. Each builder returns a fresh dict (callers may mutate it); all of them deploy and activate on
the real n8n 2.x."""

from __future__ import annotations

import uuid
from typing import Any


def schedule_workflow(name: str = "Morning news") -> dict[str, Any]:
    """Every morning (schedule trigger) → "Shape item" (an empty Set node)."""
    return {
        "name": name,
        "nodes": [
            {
                "id": "n1",
                "name": "Every morning",
                "type": "n8n-nodes-base.scheduleTrigger",
                "typeVersion": 1.2,
                "position": [0, 0],
                "parameters": {"rule": {"interval": [{"field": "hours", "hoursInterval": 24}]}},
            },
            {
                "id": "n2",
                "name": "Shape item",
                "type": "n8n-nodes-base.set",
                "typeVersion": 3.4,
                "position": [220, 0],
                "parameters": {},
            },
        ],
        "connections": {
            "Every morning": {"main": [[{"node": "Shape item", "type": "main", "index": 0}]]}
        },
        "settings": {"executionOrder": "v1"},
    }


def labelled_schedule(label: str, name: str = "labelled schedule") -> dict[str, Any]:
    """Every hour (schedule trigger) → "Label", a Set node whose value is `label`: two versions
    with different labels differ in n8n only there (see `label_of`)."""
    return {
        "name": name,
        "nodes": [
            {
                "id": "t",
                "name": "Every hour",
                "type": "n8n-nodes-base.scheduleTrigger",
                "typeVersion": 1.2,
                "position": [0, 0],
                "parameters": {"rule": {"interval": [{"field": "hours"}]}},
            },
            {
                "id": "s",
                "name": "Label",
                "type": "n8n-nodes-base.set",
                "typeVersion": 3.4,
                "position": [220, 0],
                "parameters": {
                    "assignments": {
                        "assignments": [
                            {"id": "a1", "name": "label", "value": label, "type": "string"}
                        ]
                    },
                    "options": {},
                },
            },
        ],
        "connections": {"Every hour": {"main": [[{"node": "Label", "type": "main", "index": 0}]]}},
        "settings": {"executionOrder": "v1"},
    }


def label_of(workflow: dict[str, Any]) -> str:
    """The label a `labelled_schedule` workflow (as sent, or as n8n returns it) carries."""
    node = next(n for n in workflow["nodes"] if n["name"] == "Label")
    return str(node["parameters"]["assignments"]["assignments"][0]["value"])


def webhook_workflow(
    path: str, second: dict[str, Any], *, method: str = "POST", name: str | None = None
) -> dict[str, Any]:
    """A webhook at `path` ("Incoming call") → `second` (a node without position)."""
    return {
        "name": name or f"webhook {path}",
        "nodes": [
            {
                "name": "Incoming call",
                "type": "n8n-nodes-base.webhook",
                "typeVersion": 2,
                "position": [0, 0],
                "webhookId": str(uuid.uuid4()),
                "parameters": {"httpMethod": method, "path": path, "responseMode": "onReceived"},
            },
            {"position": [220, 0], **second},
        ],
        "connections": {
            "Incoming call": {"main": [[{"node": second["name"], "type": "main", "index": 0}]]}
        },
        "settings": {"executionOrder": "v1"},
    }


ORDER_CHECK_NODE = "Check order"
THROWS = "throw new Error('order total is negative');"
WORKS = "return $input.all();"


def order_hook(path: str, js: str, name: str | None = None) -> dict[str, Any]:
    """A POST webhook at `path` → Code node "Check order" running `js` (THROWS fails every call,
    WORKS passes the order on)."""
    return webhook_workflow(
        path,
        {
            "name": ORDER_CHECK_NODE,
            "type": "n8n-nodes-base.code",
            "typeVersion": 2,
            "parameters": {"jsCode": js},
        },
        name=name or f"Order hook {path}",
    )


def answer(
    workflow: dict[str, Any], summary: str = "Posts the news every morning."
) -> dict[str, Any]:
    """What the scripted LLM replies with to propose `workflow`."""
    return {"workflow": workflow, "summary": summary}


def edit_reply(
    node: str, parameters: dict[str, Any], summary: str = "Changed as asked."
) -> dict[str, Any]:
    """What the scripted LLM replies to a change request: one merge on `node`'s parameters."""
    return {
        "operations": [{"op": "update_parameters", "node": node, "parameters": parameters}],
        "summary": summary,
    }


def label_edit(label: str) -> dict[str, Any]:
    """The edit of a `labelled_schedule` that gives its "Label" node `label`."""
    assignment = {"id": "a1", "name": "label", "value": label, "type": "string"}
    return edit_reply("Label", {"assignments": {"assignments": [assignment]}}, f"Labels {label}.")
