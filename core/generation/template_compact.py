"""A real workflow cut down to what a generation prompt needs as an example (`compact_template`),
and a rough token count of such JSON (`approx_tokens`)."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from core.generation.templates import STICKY_NOTE
from core.kernel.slack_trigger import N8N_SLACK_TRIGGER
from core.validation.slack_trigger import replace_n8n_slack_triggers

# Node keys a generation example needs; the rest (ids, positions, notes, webhook ids) is noise.
_NODE_KEYS = ("name", "type", "typeVersion", "parameters", "credentials", "onError", "disabled")
# Resource-locator caches name the author's own sheets and channels; they teach nothing.
_NOISE_PARAM_KEYS = frozenset({"cachedResultUrl", "cachedResultName"})


def compact_template(
    workflow: Mapping[str, Any], *, max_string: int = 160, max_list: int = 8
) -> dict[str, Any]:
    """A small copy of `workflow` for a prompt: name, nodes and connections only.

    Sticky notes, node ids, positions, notes, webhook ids, credential ids, pinned data and meta are
    dropped; strings longer than `max_string` are cut (marked with "…") and lists longer than
    `max_list` keep their first items. Connections to dropped nodes are removed. n8n's Slack
    Trigger, which never fires behind Clixen, is shown as Clixen's Slack trigger where it can be.
    """
    if any(
        isinstance(n, dict) and n.get("type") == N8N_SLACK_TRIGGER
        for n in workflow.get("nodes") or []
    ):
        converted = {**workflow, "nodes": copy.deepcopy(list(workflow.get("nodes") or []))}
        replace_n8n_slack_triggers(converted)
        workflow = converted
    nodes_out: list[dict[str, Any]] = []
    for node in workflow.get("nodes") or []:
        if not isinstance(node, dict) or node.get("type") == STICKY_NOTE:
            continue
        slim: dict[str, Any] = {}
        for key in _NODE_KEYS:
            if key not in node:
                continue
            value = node[key]
            if key == "credentials" and isinstance(value, dict):
                # Keep which credential type the node needs, never the author's credential ids.
                value = {ctype: {"name": ctype} for ctype in value}
            elif key == "parameters":
                value = _shrink(value, max_string, max_list)
            slim[key] = value
        nodes_out.append(slim)
    kept = {n.get("name") for n in nodes_out}
    connections: dict[str, Any] = {}
    raw_connections = workflow.get("connections")
    for source, outputs in (raw_connections if isinstance(raw_connections, dict) else {}).items():
        if source not in kept or not isinstance(outputs, dict):
            continue
        slim_outputs: dict[str, Any] = {}
        for kind, branches in outputs.items():
            if not isinstance(branches, list):
                continue
            slim_outputs[kind] = [
                [c for c in branch or [] if isinstance(c, dict) and c.get("node") in kept]
                for branch in branches
            ]
        connections[source] = slim_outputs
    return {"name": workflow.get("name", ""), "nodes": nodes_out, "connections": connections}


def _shrink(value: Any, max_string: int, max_list: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= max_string else value[:max_string] + "…"
    if isinstance(value, list):
        return [_shrink(v, max_string, max_list) for v in value[:max_list]]
    if isinstance(value, dict):
        return {
            k: _shrink(v, max_string, max_list)
            for k, v in value.items()
            if k not in _NOISE_PARAM_KEYS
        }
    return value


def approx_tokens(value: Any) -> int:
    """A rough LLM token count of `value` as compact JSON (about 4 characters a token)."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":"))) // 4 + 1
