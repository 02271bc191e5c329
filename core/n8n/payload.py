"""What the n8n public API accepts in a workflow body (it rejects read-only and unknown keys)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

WORKFLOW_KEYS = ("name", "nodes", "connections", "settings", "staticData")
NODE_KEYS = frozenset(
    {
        "id",
        "name",
        "type",
        "typeVersion",
        "position",
        "parameters",
        "credentials",
        "disabled",
        "notes",
        "notesInFlow",
        "webhookId",
        "executeOnce",
        "alwaysOutputData",
        "retryOnFail",
        "maxTries",
        "waitBetweenTries",
        "continueOnFail",
        "onError",
    }
)
SETTINGS_KEYS = frozenset(
    {
        "saveExecutionProgress",
        "saveManualExecutions",
        "saveDataErrorExecution",
        "saveDataSuccessExecution",
        "executionTimeout",
        "errorWorkflow",
        "timezone",
        "executionOrder",
        "callerPolicy",
        "callerIds",
        "timeSavedPerExecution",
        "availableInMCP",
    }
)


def strip_read_only(workflow: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `workflow` holding only the fields n8n's create/update endpoints accept."""
    body: dict[str, Any] = {k: workflow[k] for k in WORKFLOW_KEYS if k in workflow}
    body.setdefault("name", "Untitled workflow")
    body.setdefault("connections", {})
    nodes = body.get("nodes")
    if isinstance(nodes, list):
        body["nodes"] = [
            {k: v for k, v in node.items() if k in NODE_KEYS} if isinstance(node, Mapping) else node
            for node in nodes
        ]
    settings = workflow.get("settings")
    body["settings"] = (
        {k: v for k, v in settings.items() if k in SETTINGS_KEYS}
        if isinstance(settings, Mapping)
        else {"executionOrder": "v1"}
    )
    if body.get("staticData") is None:
        body.pop("staticData", None)
    return body
