"""What n8n's create endpoint accepts in node fields and settings, output counts, and the small
JSON helpers the checks share (each checked against n8n 2.40.7)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.catalog import NodeSpec
from core.catalog.display_options import MISSING as MISSING
from core.catalog.display_options import is_number as is_number

# Node types in n8n's catalog that n8n 2.x leaves out unless an admin enables them.
NOT_LOADED_BY_DEFAULT = {
    "n8n-nodes-base.executeCommand": "Remove the Execute Command node; use an HTTP Request or "
    "Code node instead.",
    "n8n-nodes-base.localFileTrigger": "Replace the Local File Trigger with a Schedule Trigger "
    "or a Webhook.",
}
STICKY_NOTE = "n8n-nodes-base.stickyNote"


# What n8n's create endpoint (POST /api/v1/workflows) accepts in each node field and setting;
# anything else, null included, is a 400 (each checked on n8n 2.40.7). `name`, `type`,
# `typeVersion`, `position` and `parameters` have their own checks below.
NODE_FIELD_TYPES: dict[str, str] = {
    "id": "string",
    "webhookId": "string",
    "notes": "string",
    "onError": "string",
    "disabled": "boolean",
    "notesInFlow": "boolean",
    "executeOnce": "boolean",
    "alwaysOutputData": "boolean",
    "retryOnFail": "boolean",
    "continueOnFail": "boolean",
    "maxTries": "number",
    "waitBetweenTries": "number",
    "credentials": "object",
}
SETTING_TYPES: dict[str, str | tuple[str, ...]] = {
    "saveExecutionProgress": "boolean",
    "saveManualExecutions": "boolean",
    "availableInMCP": "boolean",
    "executionTimeout": "number",
    "timeSavedPerExecution": "number",
    "errorWorkflow": "string",
    "timezone": "string",
    "executionOrder": "string",
    "callerIds": "string",
    "saveDataErrorExecution": ("all", "none"),
    "saveDataSuccessExecution": ("all", "none"),
    "callerPolicy": ("any", "none", "workflowsFromAList", "workflowsFromSameOwner"),
}
# Accepted at create, but n8n only knows these values (others behave like the default).
ON_ERROR = ("stopWorkflow", "continueRegularOutput", "continueErrorOutput")
EXECUTION_ORDER = ("v0", "v1")


def fmt_version(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


KIND_NAMES = {
    "string": "a string",
    "boolean": "true or false",
    "number": "a number",
    "object": "an object",
}


def has_kind(value: object, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "number":
        return is_number(value)
    return isinstance(value, dict)


def field_hint(key: str, kind: str) -> str:
    if key == "credentials":
        return (
            'Write credentials as an object keyed by credential type, e.g. {"slackApi": '
            '{"id": "…", "name": "…"}}, or leave "credentials" out.'
        )
    return f'Set "{key}" to {KIND_NAMES[kind]}, or leave it out.'


def shown(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else json_kind(value)


HINT_NODES = 'Make "nodes" a list of node objects with name, type, typeVersion, position.'
HINT_CONN = (
    'Write connections as {"Source": {"main": [[{"node": "Target", "type": "main", "index": 0}]]}}.'
)


def json_kind(x: object) -> str:
    if x is None:
        return "null"
    if isinstance(x, bool):
        return "a boolean"
    if isinstance(x, int | float):
        return "a number"
    if isinstance(x, str):
        return "a string"
    if isinstance(x, list):
        return "a list"
    return "an object"


# -- outputs ------------------------------------------------------------------------------------


def output_count(node: dict[str, Any], spec: NodeSpec | None, ctype: str) -> int | None:
    """How many outputs of `ctype` the node has, or None when unknown (then nothing is checked)."""
    if spec is None:
        return None
    tv = node.get("typeVersion")
    vc = spec.version_class(float(tv) if is_number(tv) else None)
    if vc is None:
        return None
    params = node.get("parameters") if isinstance(node.get("parameters"), dict) else {}
    extra = 1 if ctype == "main" and node.get("onError") == "continueErrorOutput" else 0
    if vc.outputs is None:
        n = _dynamic_outputs(spec.type, float(tv) if is_number(tv) else None, params or {})
        return None if n is None or ctype != "main" else n + extra
    count = sum(1 for o in vc.outputs if o == ctype)
    if count == 0:
        return None  # n8n decides per parameters; be conservative
    if ctype == "main":
        count = max(count, vc.output_names)
    return count + extra


def input_count(node: dict[str, Any], spec: NodeSpec | None, ctype: str) -> int | None:
    """How many inputs of `ctype` the node has, or None when unknown or none (then nothing is
    checked: a connection of a type the node does not take is another problem)."""
    if spec is None:
        return None
    tv = node.get("typeVersion")
    vc = spec.version_class(float(tv) if is_number(tv) else None)
    if vc is None:
        return None
    if vc.inputs is None:
        if spec.type == "n8n-nodes-base.merge" and ctype == "main":
            # Merge v3 computes its inputs from `numberInputs` (2 to 10, default 2).
            params = node.get("parameters") if isinstance(node.get("parameters"), dict) else {}
            n = (params or {}).get("numberInputs", 2)
            return n if is_number(n) and not isinstance(n, float) and n >= 1 else None
        return None
    return sum(1 for i in vc.inputs if i == ctype) or None


def _dynamic_outputs(
    node_type: str, version: float | None, params: Mapping[str, Any]
) -> int | None:
    if node_type == "n8n-nodes-base.switch" and version is not None and version >= 3:
        mode = params.get("mode", "rules")
        if mode == "expression":
            n = params.get("numberOutputs", 4)
            return n if is_number(n) and not isinstance(n, float) else None
        if mode != "rules":
            return None
        rules = params.get("rules", {})
        values = rules.get("values") if isinstance(rules, dict) else None
        if values is None:
            values = []
        if not isinstance(values, list):
            return None
        options = params.get("options") if isinstance(params.get("options"), dict) else {}
        fallback = (options or {}).get("fallbackOutput")
        return len(values) + (1 if fallback == "extra" else 0) or None
    return None


# -- required parameters (mirrors n8n-workflow's displayParameter / addToIssuesIfMissing) -------
