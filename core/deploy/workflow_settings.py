"""Workflow `settings` cut to what the product means to set, before a version is validated and
stored (so the stored version is the filtered one): the LLM writes them, so they are untrusted.

- `availableInMCP` is dropped: no workflow is exposed to n8n's MCP clients.
- `callerPolicy: "any"` becomes `"workflowsFromSameOwner"`: not every workflow may call this one.
- `errorWorkflow` and `callerIds` may only name n8n workflows of the same project; other ids are
  dropped (an error workflow of another project would receive this one's failure data).

Nothing here fails a deploy: each change comes back as a line to tell the user.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from core.workspace.projects import project_n8n_workflows

SAFE_CALLER_POLICY = "workflowsFromSameOwner"


def filter_settings(
    *, session: Session, project_id: int, payload: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """`payload` with its settings cut as above, and one plain line per change (none: unchanged)."""
    settings = payload.get("settings")
    if not isinstance(settings, dict):
        return payload, []
    kept = dict(settings)
    notes: list[str] = []
    if "availableInMCP" in kept and kept.pop("availableInMCP") is not False:
        notes.append("dropped availableInMCP (workflows are not offered to MCP clients)")
    if kept.get("callerPolicy") == "any":
        kept["callerPolicy"] = SAFE_CALLER_POLICY
        notes.append(
            f'callerPolicy "any" became "{SAFE_CALLER_POLICY}" (not every workflow may call it)'
        )
    error_workflow, caller_ids = kept.get("errorWorkflow"), kept.get("callerIds")
    if isinstance(error_workflow, str) or isinstance(caller_ids, str):
        ours = project_n8n_workflows(session=session, project_id=project_id)
        if isinstance(error_workflow, str) and error_workflow not in ours:
            del kept["errorWorkflow"]
            notes.append(
                f'dropped errorWorkflow "{error_workflow}" (not a workflow of this project)'
            )
        if isinstance(caller_ids, str):
            ids = [i.strip() for i in caller_ids.split(",") if i.strip()]
            foreign = [i for i in ids if i not in ours]
            if foreign:
                allowed = [i for i in ids if i in ours]
                if allowed:
                    kept["callerIds"] = ",".join(allowed)
                else:
                    del kept["callerIds"]
                shown = ", ".join(f'"{i}"' for i in foreign)
                notes.append(f"dropped callerIds {shown} (not workflows of this project)")
    if not notes and kept == settings:
        return payload, []
    return {**payload, "settings": kept}, [f"settings: {n}" for n in notes]
