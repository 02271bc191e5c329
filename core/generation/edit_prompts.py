"""The text the LLM sees for an edit: the current workflow as a compact outline plus the JSON of
the nodes the change likely touches, and the operations it may answer with
(`core.generation.edits`).

Never clipped: a node is shown whole or only in the outline, so a large workflow stays within
`MAX_SHOWN_CHARS` and the model still knows every node, link and credential type. Credentials
are never shown (only their types, in the outline): the model cannot see or write their ids, and
the nodes it does not change keep theirs. User text and problem reports are fenced as data, as
in `core.generation.prompts`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from core.generation.edits import mentioned
from core.generation.prompts import (
    MAX_REQUEST_CHARS,
    SECURITY_RULES,
    Message,
    PromptContext,
    answers_block,
    compact_json,
    context_block,
    cut_for_model,
    problem_report,
)
from core.kernel.safety import fence
from core.validation import Issue

# The JSON of the nodes shown in full stays under this; the others appear in the outline only.
MAX_SHOWN_CHARS = 30_000
# Of which nodes the change does not seem to touch may take this much (small workflows: all).
MAX_OTHER_CHARS = 6_000

EDIT_RULES = (
    """\
You change an existing n8n workflow (n8n 2.x public API JSON) the way a user asks.

Answer with exactly ONE JSON object and nothing else, in one of two shapes:
1. {"operations": [...], "summary": "one plain sentence saying what changed"}
2. {"question": "one short question"} -- only when something essential is missing and cannot be
   guessed safely.

The operations are applied in order to the current workflow. Everything they do not name stays
exactly as it is (nodes, parameters, credentials, links); never send the whole workflow.
- {"op": "add_node", "node": {"name": "Unique name", "type": "n8n-nodes-base.filter",
   "typeVersion": 2.2, "parameters": {...}}}  (optional "position": [x, y] and
   "credentials": {"slackApi": {"name": "SECRET_NAME"}})
- {"op": "remove_node", "node": "Name"} -- only a node the user asked to remove; its links go too
- {"op": "update_parameters", "node": "Name", "parameters": {...}} -- a JSON merge patch on the
  node's parameters: keys you give replace theirs (objects merge), null deletes a key, keys you
  leave out stay. Optional "type", "typeVersion", "credentials" when the change needs them.
- {"op": "rename_node", "node": "Old name", "new_name": "New name"} -- links and $('Old name')
  references follow
- {"op": "connect", "from": "A", "to": "B", "output": 0, "input": 0}
- {"op": "disconnect", "from": "A", "to": "B", "output": 0, "input": 0}
- {"op": "update_settings", "settings": {...}} -- a JSON merge patch on the workflow settings
To put a new node between A and B: disconnect A→B, add_node, connect A→New, connect New→B.
Node names in operations are exact names from the outline. An IF node has outputs 0=true and
1=false.

Node rules: exactly the node types, versions and parameter names given in the node specs;
expressions are strings that start with "=" and wrap code in balanced {{ }}: "={{ $json.title }}".
Credentials already bound to nodes are kept and never shown to you; a new credential refers to
one of the project's secrets by NAME only, never with an "id". Do not use a denied node type.

"""
    + SECURITY_RULES
)


def _node_names(workflow: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        n
        for n in workflow.get("nodes") or []
        if isinstance(n, dict) and isinstance(n.get("name"), str)
    ]


def _links(workflow: Mapping[str, Any]) -> dict[str, list[str]]:
    """Each source's targets, as "Target" (or "Target (output 1)")."""
    out: dict[str, list[str]] = {}
    conns = workflow.get("connections")
    for source, outputs in (conns if isinstance(conns, Mapping) else {}).items():
        for kind, slots in (outputs if isinstance(outputs, Mapping) else {}).items():
            for index, targets in enumerate(slots or []):
                for t in targets or []:
                    if isinstance(t, Mapping) and isinstance(t.get("node"), str):
                        via = "" if kind == "main" and index == 0 else f" ({kind} {index})"
                        out.setdefault(source, []).append(f"{t['node']}{via}")
    return out


def outline(workflow: Mapping[str, Any], *, shown: Iterable[str] = ()) -> str:
    """One line per node: name, type and version, credential types, where it leads; nodes whose
    JSON is shown below are marked."""
    links, full = _links(workflow), set(shown)
    lines = [f"Workflow {str(workflow.get('name') or '')!r}, nodes in order:"]
    for n in _node_names(workflow):
        parts = [f"{n['name']} | {n.get('type')} v{n.get('typeVersion')}"]
        creds = n.get("credentials")
        if isinstance(creds, Mapping) and creds:
            parts.append("credential " + ", ".join(sorted(str(k) for k in creds)) + " (bound)")
        if n.get("disabled"):
            parts.append("disabled")
        if links.get(n["name"]):
            parts.append("→ " + ", ".join(links[n["name"]]))
        parts.append("JSON below" if n["name"] in full else "parameters not shown")
        lines.append("- " + " | ".join(parts))
    settings = workflow.get("settings")
    if isinstance(settings, Mapping) and settings:
        lines.append("Settings: " + compact_json(settings))
    return "\n".join(lines)


def _mentions(
    text: str, node: Mapping[str, Any], display_name: Callable[[str], str | None]
) -> bool:
    node_type = str(node.get("type") or "")
    terms = (node.get("name"), node_type.rsplit(".", 1)[-1], display_name(node_type))
    return any(isinstance(term, str) and mentioned(term, text) for term in terms)


def touched_nodes(
    workflow: Mapping[str, Any],
    text: str,
    *,
    display_name: Callable[[str], str | None] = lambda _type: None,
    first: Iterable[str] = (),
) -> list[str]:
    """The nodes worth showing in full, most likely first: `first` (e.g. nodes a problem names),
    those `text` mentions by name or type, their neighbours; the triggers when none is named."""
    nodes = _node_names(workflow)
    names = [n["name"] for n in nodes]
    links = _links(workflow)
    upstream: dict[str, list[str]] = {}
    for source, targets in links.items():
        for t in targets:
            upstream.setdefault(t.split(" (", 1)[0], []).append(source)
    named = [n for n in first if n in names]
    named += [n["name"] for n in nodes if _mentions(text, n, display_name)]
    near = [
        m
        for n in named
        for m in [*upstream.get(n, []), *(t.split(" (")[0] for t in links.get(n, []))]
    ]
    if not named:
        near = [n["name"] for n in nodes if not upstream.get(n["name"])]
    return list(dict.fromkeys(m for m in [*named, *near] if m in names))


def _shown_json(workflow: Mapping[str, Any], likely: Sequence[str]) -> tuple[list[str], str]:
    """Whole nodes (credentials left out) and their names: the `likely` ones while they fit
    `MAX_SHOWN_CHARS`, then the others while they fit `MAX_OTHER_CHARS` of what is left."""
    by_name = {n["name"]: n for n in _node_names(workflow)}
    others = [name for name in by_name if name not in likely]
    shown: list[str] = []
    parts: list[str] = []
    used = 0
    for names, budget in ((likely, MAX_SHOWN_CHARS), (others, MAX_OTHER_CHARS)):
        spent = 0
        for name in names:
            node = {k: v for k, v in by_name[name].items() if k not in ("credentials", "position")}
            text = compact_json(node)
            if spent + len(text) > budget or used + len(text) > MAX_SHOWN_CHARS:
                continue
            shown.append(name)
            parts.append(text)
            spent += len(text)
            used += len(text)
    return shown, "\n".join(parts)


def _workflow_block(workflow: Mapping[str, Any], likely: Sequence[str]) -> str:
    shown, nodes_json = _shown_json(workflow, likely)
    return (
        outline(workflow, shown=shown)
        + "\n\nThe JSON of the nodes this change most likely touches (credentials left out):\n"
        + nodes_json
    )


def edit_messages(
    *,
    current: Mapping[str, Any],
    change: str,
    ctx: PromptContext,
    answers: Sequence[Mapping[str, str]] = (),
    display_name: Callable[[str], str | None] = lambda _type: None,
) -> list[Message]:
    """Messages asking for the operations that make `change` to the workflow `current`."""
    text = " ".join([change, *(a.get("answer", "") for a in answers)])
    order = touched_nodes(current, text, display_name=display_name)
    user = (
        context_block(ctx)
        + "\n\nThe workflow currently deployed:\n"
        + _workflow_block(current, order)
        + "\n\nThe change the user wants:\n"
        + fence(cut_for_model(change, MAX_REQUEST_CHARS), "user_change")
        + answers_block(answers)
        + "\n\nReply with the JSON object of operations now."
    )
    return [{"role": "system", "content": EDIT_RULES}, {"role": "user", "content": user}]


def edit_repair_messages(
    *,
    request: str,
    workflow: Mapping[str, Any],
    problems: Sequence[Issue],
    kind: str,
    ctx: PromptContext,
    bad_reply: str | None = None,
    answers: Sequence[Mapping[str, str]] = (),
    display_name: Callable[[str], str | None] = lambda _type: None,
) -> list[Message]:
    """Messages asking for operations that fix `workflow` (the edit as applied so far, or the
    current workflow when no reply could be applied yet), given what failed.

    `kind` is "validation", "runtime" or "parse" (`bad_reply` holds the unusable reply).
    """
    what = problem_report(kind, problems, bad_reply)
    text = " ".join([request, *(a.get("answer", "") for a in answers)])
    first = [p.node for p in problems if p.node]
    order = touched_nodes(workflow, text, display_name=display_name, first=first)
    user = (
        context_block(ctx, examples=False)
        + "\n\nThe change the user asked for:\n"
        + fence(cut_for_model(request, MAX_REQUEST_CHARS), "user_request")
        + answers_block(answers)
        + "\n\nThe workflow your operations apply to:\n"
        + _workflow_block(workflow, order)
        + "\n\n"
        + what
        + "\n\nReply with the JSON object of operations that fix it, applied to the workflow "
        "above."
    )
    return [{"role": "system", "content": EDIT_RULES}, {"role": "user", "content": user}]
