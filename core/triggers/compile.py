"""The trigger node compiled for n8n: the stored version keeps `clixen.slackTrigger`; what n8n
gets in its place is

- a Webhook node (`n8n-nodes-base.webhook`, POST, the workflow's random path,
  `authentication: headerAuth` with the workflow's own Header Auth credential: only Clixen's
  calls get through), named "<trigger name> (Clixen)";
- a Set node in raw mode, named like the trigger node, that outputs the request body: the
  payload's fields (`PAYLOAD_FIELDS`) at the top of `$json`, so downstream nodes, their
  connections and `$('<trigger name>')` references work unchanged.

`compile_for_n8n` is pure and deterministic (the same version compiles to the same JSON, so the
deploy's read-back compares like with like).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from typing import Any

from core.kernel.slack_trigger import SLACK_TRIGGER_TYPE
from core.triggers.endpoints import CREDENTIAL_TYPE, Endpoint
from core.triggers.spec import trigger_nodes

WEBHOOK_SUFFIX = " (Clixen)"
_WEBHOOK_ID_NS = uuid.UUID("6f0d8a52-39c4-4c4e-9f3b-2f1c9a7d1e55")


def has_trigger(workflow: Mapping[str, Any]) -> bool:
    return bool(trigger_nodes(workflow))


def compile_for_n8n(workflow: Mapping[str, Any], endpoint: Endpoint | None) -> dict[str, Any]:
    """`workflow` as n8n must get it: every Slack trigger node replaced by the Webhook + Set pair
    above. Unchanged (a copy) when it has none; ValueError when it has one and no endpoint."""
    out = copy.deepcopy(dict(workflow))
    nodes = out.get("nodes") or []
    if not any(isinstance(n, Mapping) and n.get("type") == SLACK_TRIGGER_TYPE for n in nodes):
        return out
    if endpoint is None:
        raise ValueError("a Slack trigger cannot be compiled without its endpoint")
    taken = {str(n.get("name")) for n in nodes if isinstance(n, Mapping)}
    compiled: list[Any] = []
    connections = dict(out.get("connections") or {})
    for node in nodes:
        if not (isinstance(node, Mapping) and node.get("type") == SLACK_TRIGGER_TYPE):
            compiled.append(node)
            continue
        name = str(node.get("name"))
        hook_name = name + WEBHOOK_SUFFIX
        while hook_name in taken:
            hook_name += "'"
        taken.add(hook_name)
        compiled += [_webhook_node(node, hook_name, endpoint), _body_node(node)]
        connections[hook_name] = {"main": [[{"node": name, "type": "main", "index": 0}]]}
    out["nodes"] = compiled
    out["connections"] = connections
    return out


def _webhook_node(trigger: Mapping[str, Any], hook_name: str, endpoint: Endpoint) -> dict[str, Any]:
    """The Webhook node that takes Clixen's calls for `trigger`, left of where it stood."""
    name = str(trigger.get("name"))
    x, y = _position(trigger)
    return {
        "id": str(uuid.uuid5(_WEBHOOK_ID_NS, f"{endpoint.path}:{name}:node")),
        "name": hook_name,
        "type": "n8n-nodes-base.webhook",
        "typeVersion": 2,
        "position": [x - 220, y],
        "webhookId": str(uuid.uuid5(_WEBHOOK_ID_NS, f"{endpoint.path}:{name}")),
        "parameters": {
            "httpMethod": "POST",
            "path": endpoint.path,
            "authentication": "headerAuth",
            "responseMode": "onReceived",
            "options": {},
        },
        "credentials": {
            CREDENTIAL_TYPE: {
                "id": endpoint.credential_id,
                "name": endpoint.credential_name,
            }
        },
        **({"disabled": True} if trigger.get("disabled") else {}),
    }


def _body_node(trigger: Mapping[str, Any]) -> dict[str, Any]:
    """The Set node that takes `trigger`'s name, id and place and outputs the request body."""
    body: dict[str, Any] = {
        "name": str(trigger.get("name")),
        "type": "n8n-nodes-base.set",
        "typeVersion": 3.4,
        "position": list(_position(trigger)),
        "parameters": {
            "mode": "raw",
            "jsonOutput": "={{ $json.body }}",
            "options": {},
        },
    }
    if trigger.get("id"):
        body["id"] = trigger["id"]
    return body


def _position(node: Mapping[str, Any]) -> tuple[float, float]:
    pos = node.get("position")
    if isinstance(pos, list | tuple) and len(pos) == 2:
        try:
            return float(pos[0]), float(pos[1])
        except (TypeError, ValueError):
            pass
    return 0.0, 0.0
