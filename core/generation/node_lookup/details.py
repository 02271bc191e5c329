"""Parts of a node spec read off n8n's definitions for one exact version: every operation the
node offers, the credential types of that version class under its displayOptions, and n8n's
builder hints for the node (in our JSON terms), with our own notes where n8n has none."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from core.catalog import LANGCHAIN_PREFIX, NodeSpec, VersionClass
from core.catalog.credential_needs import slots_shown
from core.catalog.display_options import ParamContext
from core.generation.node_lookup import shapes
from core.generation.node_lookup.operations import operations_by_resource
from core.generation.node_lookup.params import shown_values

if TYPE_CHECKING:
    from core.generation.node_lookup.choice import Operation

MAX_OPERATIONS_CHARS = 900

# Our own notes where n8n's definitions say nothing the model needs (our words).
_NOTES: dict[str, str] = {
    "n8n-nodes-base.switch": shapes.SWITCH_NOTES,
    "n8n-nodes-base.if": "Output 0 is true, output 1 is false.",
    "n8n-nodes-base.filter": "Items that fail the conditions are dropped (one output).",
    LANGCHAIN_PREFIX + "agent": (
        "promptType \"auto\" and memory's default session key read the Chat Trigger's "
        '"chatInput"/"sessionId": behind any other trigger set "promptType": "define" and '
        '"text": "={{ $json.<field> }}", and give memory "sessionIdType": "customKey" with '
        '"sessionKey". Connect the chat model (ai_languageModel), memory (ai_memory) and tools '
        "(ai_tool) FROM those nodes TO the agent. Tool nodes are the <type>Tool variants "
        "(e.g. n8n-nodes-base.gmailTool); let the agent fill a tool parameter with "
        "\"={{ $fromAI('name', 'what it is', 'string') }}\"."
    ),
    LANGCHAIN_PREFIX + "memoryBufferWindow": (
        'Outside a Chat Trigger set "sessionIdType": "customKey" and "sessionKey" '
        '(e.g. "={{ $json.channel }}"). Connect it to the agent as ai_memory.'
    ),
}
_TOOL_NOTE = (
    "An AI-agent tool: connect it to the agent as ai_tool. A parameter the agent should decide "
    "takes \"={{ $fromAI('key', 'description', 'string') }}\"; others are fixed values."
)


def operations_text(node_type: str) -> dict[str, list[str]] | list[str]:
    """Every operation of `node_type`, by resource ({resource: [operations]}, or the list for a
    node without resources), clipped to a prompt-sized budget."""
    by_resource = operations_by_resource(node_type)
    if list(by_resource) == [None]:
        return list(by_resource[None])
    out: dict[str, list[str]] = {}
    size = 0
    for resource, ops in by_resource.items():
        size += len(str(resource)) + sum(len(o) + 3 for o in ops)
        if size > MAX_OPERATIONS_CHARS:
            out["…"] = ["more resources: ask get_node_spec"]
            break
        out[str(resource)] = list(ops)
    return out


def credential_types(
    spec: NodeSpec,
    cls: VersionClass | None,
    node: Mapping[str, Any] | None,
    op: Operation,
    switches: Mapping[str, Any] | None = None,
) -> list[str]:
    """The credential types this version class takes under the chosen operation's values
    (n8n shows a credential slot by displayOptions, like a parameter): never another
    version's, never one its authentication setting hides (none: the node needs none as
    configured)."""
    if cls is None or not cls.credentials:
        return []
    if node is None:
        return [c.name for c in cls.credentials]

    values = shown_values(node, spec.type, op, switches)
    ctx = ParamContext(version=float(node["v"]), node_type=spec.type)
    return [slot.name for slot in slots_shown(cls, values, ctx)]


def node_hints(spec: NodeSpec, node: Mapping[str, Any] | None) -> list[str]:
    """n8n's builder hint for the node (in our terms) and our own notes for it."""
    out = []
    raw = (node or {}).get("h")
    if isinstance(raw, str):
        text = shapes.hint_text(raw)
        if text:
            out.append(text)
    note = _NOTES.get(spec.type)
    if note:
        out.append(note)
    if spec.type.endswith("Tool") and spec.type.removesuffix("Tool") != spec.type:
        out.append(_TOOL_NOTE)
    return out
