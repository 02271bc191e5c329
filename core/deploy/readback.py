"""Read-back checks: after activation n8n must hold, active, exactly what we sent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.n8n import N8nClient
from core.n8n.workflow_json import (
    NODE_API_KEYS,
    SETTINGS_API_KEYS,
    checksum,
)


def _plain_numbers(value: Any) -> Any:
    # n8n stores JSON in JavaScript, where 1.0 comes back as 1.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_numbers(v) for v in value]
    return value


def _comparable(body: Mapping[str, Any], sent: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a workflow body that we sent, ignoring what n8n adds (ids, timestamps,
    node ids and webhook ids it generates, settings defaults)."""
    sent_nodes = {n.get("name"): n for n in sent.get("nodes") or []}
    nodes = []
    for node in body.get("nodes") or []:
        ours = sent_nodes.get(node.get("name"), {})
        nodes.append({k: node.get(k) for k in NODE_API_KEYS if k in ours})
    settings = body.get("settings") or {}
    comparable = {
        "name": body.get("name"),
        "nodes": nodes,
        "connections": body.get("connections") or {},
        "settings": {
            k: settings.get(k) for k in SETTINGS_API_KEYS if k in (sent.get("settings") or {})
        },
    }
    return dict(_plain_numbers(comparable))


def holds_sent(back: Mapping[str, Any], sent: Mapping[str, Any]) -> bool:
    """Whether n8n holds what we sent: checksums of the canonical JSON of both sides."""
    return checksum(_comparable(back, sent)) == checksum(_comparable(sent, sent))


def confirm_active(n8n: N8nClient, n8n_id: str, sent: Mapping[str, Any]) -> None:
    """Read the workflow back from n8n: it must be active and hold exactly what we sent."""
    back = n8n.get_workflow(n8n_id)
    if not back.get("active"):
        raise Mismatch("n8n reports the workflow as inactive after activation.")
    if not holds_sent(back, sent):
        raise Mismatch("n8n holds a different workflow than the one sent.")
    active_id, version_id = back.get("activeVersionId"), back.get("versionId")
    if active_id and version_id and active_id != version_id:
        raise Mismatch("n8n is running an older published version than the one sent.")


class Mismatch(Exception):
    pass
