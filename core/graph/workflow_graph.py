"""The graph in a workflow picture, read from n8n's workflow JSON: nodes (sticky notes left out),
main connections with their output names, and AI sub-nodes attached to the node they serve.

n8n draws a node that only feeds `ai_*` connections (chat model, memory, tool, output parser,
embeddings, …) under the node it serves, not in the flow; `WorkflowGraph.parent` says which.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from core.graph.text import shorten
from core.kernel.slack_trigger import SLACK_TRIGGER_TYPE, describe_node

STICKY_NOTE = "n8n-nodes-base.stickyNote"
# A picture draws at most this many outputs (Switch has up to 64) and inputs (Merge up to 10)
# per node: a connection from or to a higher index (n8n refuses an input the node does not have,
# and so does the validator) is drawn at the last one; longer output names are shortened. All
# come from the workflow, so from a user or an LLM.
MAX_PORTS = 64
MAX_INPUTS = 10
OUTPUT_NAME_CHARS = 40
BASE = "n8n-nodes-base."
LANGCHAIN = "@n8n/n8n-nodes-langchain."


class Family(StrEnum):
    """What kind of step a node is, shown by its colour."""

    trigger = "trigger"
    ai = "AI"
    logic = "logic"
    data = "data"
    app = "app"


_LOGIC = frozenset(
    BASE + t
    for t in (
        "if",
        "switch",
        "merge",
        "filter",
        "splitInBatches",
        "wait",
        "noOp",
        "stopAndError",
        "executeWorkflow",
        "compareDatasets",
        "respondToWebhook",
        "executionData",
    )
)
_DATA = frozenset(
    BASE + t
    for t in (
        "set",
        "code",
        "function",
        "functionItem",
        "itemLists",
        "aggregate",
        "splitOut",
        "sort",
        "limit",
        "removeDuplicates",
        "summarize",
        "dateTime",
        "crypto",
        "html",
        "htmlExtract",
        "xml",
        "markdown",
        "renameKeys",
        "extractFromFile",
        "convertToFile",
        "spreadsheetFile",
        "moveBinaryData",
        "editImage",
        "compression",
        "readBinaryFile",
        "readBinaryFiles",
        "writeBinaryFile",
        "readWriteFile",
        "jwt",
        "totp",
    )
)
# Start a run on their own, though their type does not end in "Trigger": the rule by name alone,
# for pictures of any type (the catalog's rule is `NodeSpec.starts_runs`).
_TRIGGERS = frozenset(
    BASE + t
    for t in ("webhook", "cron", "interval", "start", "emailReadImap", "rssFeedReadTrigger")
)

# The order n8n lists a node's AI inputs in (model first, then memory, tools, parser, …).
AI_KIND_ORDER = (
    "ai_languageModel",
    "ai_memory",
    "ai_tool",
    "ai_outputParser",
    "ai_retriever",
    "ai_vectorStore",
    "ai_embedding",
    "ai_document",
    "ai_textSplitter",
    "ai_reranker",
)
AI_KIND_LABELS = {
    "ai_languageModel": "model",
    "ai_memory": "memory",
    "ai_tool": "tool",
    "ai_outputParser": "parser",
    "ai_retriever": "retriever",
    "ai_vectorStore": "vector store",
    "ai_embedding": "embeddings",
    "ai_document": "document",
    "ai_textSplitter": "text splitter",
    "ai_reranker": "reranker",
}


def family_of(node_type: str) -> Family:
    """The family of a node type, from its name alone (no catalog needed)."""
    short = node_type.rsplit(".", 1)[-1]
    if node_type in _TRIGGERS or short.lower().endswith("trigger"):
        return Family.trigger
    if node_type.startswith(LANGCHAIN):
        return Family.ai
    if node_type in _LOGIC:
        return Family.logic
    if node_type in _DATA:
        return Family.data
    return Family.app


def short_type(node_type: str) -> str:
    """`n8n-nodes-base.rssFeedRead` → `rssFeedRead`."""
    return node_type.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class GraphNode:
    name: str
    type: str
    family: Family
    # Names of the main outputs, in order; empty strings where n8n shows none.
    outputs: tuple[str, ...]
    inputs: int  # main inputs (2 for Merge, 0 for triggers)
    # What starts it, in words, for triggers Clixen runs ("reaction :ticket: in #support").
    caption: str = ""


@dataclass(frozen=True)
class GraphEdge:
    source: str
    target: str
    kind: str  # "main" or an AI connection type such as "ai_languageModel"
    output: int = 0
    input: int = 0

    @property
    def is_ai(self) -> bool:
        return self.kind != "main"


@dataclass(frozen=True)
class WorkflowGraph:
    """Nodes in the workflow's order (sticky notes left out) and their connections."""

    nodes: list[GraphNode]
    edges: list[GraphEdge]
    # Sub-node → the node it is drawn under (the first node it serves).
    parent: dict[str, str] = field(default_factory=dict)

    @property
    def types(self) -> dict[str, str]:
        return {n.name: n.type for n in self.nodes}

    @property
    def main_edges(self) -> list[GraphEdge]:
        return [e for e in self.edges if not e.is_ai]

    def node(self, name: str) -> GraphNode:
        return self._by_name[name]

    @cached_property
    def _by_name(self) -> dict[str, GraphNode]:
        return {n.name: n for n in self.nodes}

    def children(self, name: str) -> list[str]:
        """The sub-nodes drawn under `name`, in n8n's order (model, memory, tools, parser, …)."""
        kinds = {e.source: e.kind for e in self.edges if e.is_ai and e.target == name}
        subs = [n.name for n in self.nodes if self.parent.get(n.name) == name]
        return sorted(subs, key=lambda s: _kind_rank(kinds.get(s, "")))


def _kind_rank(kind: str) -> int:
    return AI_KIND_ORDER.index(kind) if kind in AI_KIND_ORDER else len(AI_KIND_ORDER)


def workflow_graph(workflow: Mapping[str, Any]) -> WorkflowGraph:
    """The graph of an n8n workflow JSON. Sticky notes and connections to unknown nodes are left
    out; a repeated connection counts once."""
    raw: dict[str, Mapping[str, Any]] = {}
    for node in workflow.get("nodes") or []:
        if not isinstance(node, Mapping):
            continue
        name = str(node.get("name") or "")
        if name and name not in raw and node.get("type") != STICKY_NOTE:
            raw[name] = node
    edges: list[GraphEdge] = []
    seen: set[tuple[str, str, str, int, int]] = set()
    for src, outputs in (workflow.get("connections") or {}).items():
        if src not in raw or not isinstance(outputs, Mapping):
            continue
        for kind, lists in outputs.items():
            if not isinstance(lists, list):
                continue
            for index, targets in enumerate(lists):
                out_index = min(index, MAX_PORTS - 1)
                for target in targets if isinstance(targets, list) else []:
                    if not isinstance(target, Mapping):
                        continue
                    dst = str(target.get("node", ""))
                    in_index = target.get("index", 0)
                    in_index = in_index if isinstance(in_index, int) and in_index >= 0 else 0
                    in_index = min(in_index, MAX_INPUTS - 1)
                    key = (src, dst, str(kind), out_index, in_index)
                    if dst in raw and key not in seen:
                        seen.add(key)
                        edges.append(GraphEdge(src, dst, str(kind), out_index, in_index))
    nodes = []
    for name, node in raw.items():
        node_type = str(node.get("type") or "")
        used_out = [e.output for e in edges if e.source == name and not e.is_ai]
        used_in = [e.input for e in edges if e.target == name and not e.is_ai]
        nodes.append(
            GraphNode(
                name=name,
                type=node_type,
                family=family_of(node_type),
                outputs=output_names(node, max(used_out, default=0) + 1),
                inputs=max(input_count(node), max(used_in, default=-1) + 1),
                caption=describe_node(node.get("parameters"))
                if node_type == SLACK_TRIGGER_TYPE
                else "",
            )
        )
    return WorkflowGraph(nodes=nodes, edges=edges, parent=_parents(list(raw), edges))


def _parents(names: list[str], edges: list[GraphEdge]) -> dict[str, str]:
    """Sub-node → served node, for nodes whose every outgoing connection is an AI one."""
    out_kinds: dict[str, list[GraphEdge]] = {}
    for e in edges:
        out_kinds.setdefault(e.source, []).append(e)
    parent: dict[str, str] = {}
    for name in names:
        outs = out_kinds.get(name, [])
        if outs and all(e.is_ai for e in outs) and outs[0].target != name:
            parent[name] = outs[0].target
    # A cycle of sub-nodes serving each other has no node to hang under: draw it in the flow.
    for name in list(parent):
        seen, cur = {name}, parent.get(name)
        while cur is not None and cur in parent:
            if cur in seen:
                parent.pop(name, None)
                break
            seen.add(cur)
            cur = parent.get(cur)
    return parent


def input_count(node: Mapping[str, Any]) -> int:
    """Main inputs a node has: Merge takes 2 (or `numberInputs`), triggers none, others one."""
    node_type = str(node.get("type") or "")
    if node_type == BASE + "merge":
        n = (node.get("parameters") or {}).get("numberInputs", 2)
        return n if isinstance(n, int) and 1 <= n <= 10 else 2
    return 0 if family_of(node_type) == Family.trigger else 1


def output_names(node: Mapping[str, Any], used: int = 1) -> tuple[str, ...]:
    """Names of a node's main outputs as n8n's canvas shows them: IF `true`/`false`, Switch rule
    output names (or numbers), Text Classifier categories, Loop `done`/`loop`, `success`/`error`
    when errors continue on their own output. At least `used` entries; "" where unnamed."""
    node_type = str(node.get("type") or "")
    params = node.get("parameters") or {}
    params = params if isinstance(params, Mapping) else {}
    version = node.get("typeVersion", 1)
    version = version if isinstance(version, int | float) else 1
    names: list[str]
    if node_type == BASE + "if":
        names = ["true", "false"]
    elif node_type == BASE + "switch":
        names = _switch_outputs(params, float(version))
    elif node_type == BASE + "splitInBatches" and version >= 3:
        names = ["done", "loop"]
    elif node_type == BASE + "compareDatasets":
        names = ["in A only", "same", "different", "in B only"]
    elif node_type == LANGCHAIN + "textClassifier":
        names = _classifier_outputs(params)
    elif node_type == LANGCHAIN + "sentimentAnalysis":
        options = params.get("options") or {}
        cats = options.get("categories", "Positive, Neutral, Negative")
        names = [c.strip() for c in str(cats).split(",") if c.strip()]
    else:
        names = [""]
    if node.get("onError") == "continueErrorOutput":
        names = (["success"] if names == [""] else names) + ["error"]
    if len(names) > 1 or used > 1:
        names = [n or f"output {i}" for i, n in enumerate(names)]
    while len(names) < min(used, MAX_PORTS):
        names.append(f"output {len(names)}")
    return tuple(shorten(n, OUTPUT_NAME_CHARS) for n in names[:MAX_PORTS])


def _switch_outputs(params: Mapping[str, Any], version: float) -> list[str]:
    options = params.get("options") or {}
    options = options if isinstance(options, Mapping) else {}
    if version >= 3:
        if params.get("mode") == "expression":
            n = params.get("numberOutputs", 4)
            names = [str(i) for i in range(n if isinstance(n, int) and 0 < n <= 64 else 4)]
        else:
            rules = (params.get("rules") or {}).get("values") or []
            names = []
            for i, rule in enumerate(rules if isinstance(rules, list) else []):
                key = rule.get("outputKey") if isinstance(rule, Mapping) else None
                renamed = isinstance(rule, Mapping) and rule.get("renameOutput")
                names.append(str(key) if renamed and key else str(i))
        fallback = options.get("fallbackOutput")
        if fallback == "extra":
            names.append(str(options.get("renameFallbackOutput") or "Fallback"))
        return names or ["0"]
    # Switch v1/v2: four numbered outputs (v2 lets `outputsAmount` change it).
    n = params.get("outputsAmount", 4)
    return [str(i) for i in range(n if isinstance(n, int) and 0 < n <= 64 else 4)]


def _classifier_outputs(params: Mapping[str, Any]) -> list[str]:
    cats = (params.get("categories") or {}).get("categories") or []
    names = [
        str(c.get("category") or i)
        for i, c in enumerate(cats if isinstance(cats, list) else [])
        if isinstance(c, Mapping)
    ]
    options = params.get("options") or {}
    if isinstance(options, Mapping) and options.get("fallback") == "other":
        names.append("Other")
    return names or [""]
