"""The broad shortlist a first message lists below its full specs: node types the request may
need (aiming at recall, not precision), each with a one-line purpose and every (resource,
operation) it offers, so the model can ask `get_node_spec` for the exact one it chooses."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from core.catalog import NodeCatalog
from core.generation.node_hints import named_apps, offerable
from core.generation.node_lookup.operations import operation_pairs

MAX_CANDIDATES = 10
MAX_PURPOSE_CHARS = 70
MAX_LINE_OPERATIONS = 20
AGENT = "@n8n/n8n-nodes-langchain.agent"
_SUB_AGENT = re.compile(r"\bsub.?agents?\b", re.I)


@dataclass(frozen=True)
class NodeCandidate:
    """One listed node type: what it is for and every (resource, operation) it offers."""

    type: str
    purpose: str
    trigger: bool
    operations: tuple[tuple[str | None, str], ...]

    def as_json(self) -> dict[str, object]:
        return {"type": self.type, "operations": [list(p) for p in self.operations]}

    def line(self) -> str:
        """One prompt line: `type [trigger] — purpose; ops: res: a|b; res2: c`."""
        head = self.type + (" [trigger]" if self.trigger else "") + " — " + self.purpose
        if not self.operations:
            return head
        by_resource: dict[str | None, list[str]] = {}
        for resource, operation in self.operations[:MAX_LINE_OPERATIONS]:
            by_resource.setdefault(resource, []).append(operation)
        parts = [
            (f"{r}: " if r is not None else "") + "|".join(ops) for r, ops in by_resource.items()
        ]
        more = len(self.operations) - MAX_LINE_OPERATIONS
        return head + "; ops " + "; ".join(parts) + (f"; …{more} more" if more > 0 else "")


def candidate(node_type: str, catalog: NodeCatalog) -> NodeCandidate:
    spec = catalog.nodes[node_type]
    base = node_type.removesuffix("Tool") if spec.hidden else node_type
    purpose = " ".join((spec.description or spec.display_name).split())
    if len(purpose) > MAX_PURPOSE_CHARS:
        purpose = purpose[: MAX_PURPOSE_CHARS - 1] + "…"
    return NodeCandidate(
        type=node_type,
        purpose=purpose,
        trigger=spec.is_trigger,
        operations=tuple(operation_pairs(base)),
    )


def shortlist(
    *,
    text: str,
    catalog: NodeCatalog,
    ranked: Sequence[str],
    spec_types: Sequence[str],
    overflow: Sequence[str],
    denied: set[str],
) -> list[NodeCandidate]:
    """Types worth listing beyond the spec'd ones: what retrieval chose but had no spec slot
    for, the `<app>Tool` variants of named apps when an agent is in play, then the search
    ranking (`ranked`), at most MAX_CANDIDATES."""
    out: list[str] = []
    agent = AGENT in spec_types or AGENT in overflow

    def add(node_type: str) -> None:
        spec = catalog.get(node_type)
        if (
            spec is None
            or node_type in out
            or node_type in spec_types
            or node_type in denied
            or not offerable(spec, catalog)
            or (node_type == AGENT + "Tool" and not _SUB_AGENT.search(text))
            or (spec.hidden and not agent)  # a `<type>Tool` variant serves an agent only
        ):
            return
        out.append(node_type)

    for node_type in overflow:
        add(node_type)
    if agent:
        for app in named_apps(text, catalog):
            add(app + "Tool")
    for node_type in ranked:
        if len(out) >= MAX_CANDIDATES:
            break
        add(node_type)
    return [candidate(t, catalog) for t in out[:MAX_CANDIDATES]]
