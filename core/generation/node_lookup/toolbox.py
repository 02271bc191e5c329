"""The core toolbox: one compact line for each general node most workflows lean on (HTTP
Request, Code, Set, IF, Filter, Wait, Merge, an agent's memory, Switch, Aggregate, Split Out,
Remove Duplicates, Loop), carried by every first message, so a model without tool calls still
knows their type, version and parameter names — and what their main switch turns on."""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache

from core.catalog import BASE_PREFIX, LANGCHAIN_PREFIX, NodeCatalog, default_catalog
from core.generation.node_lookup.choice import Operation
from core.generation.node_lookup.describe import operation_params, switched_params
from core.generation.node_lookup.params import _params_of

B, L = BASE_PREFIX, LANGCHAIN_PREFIX
TOOLBOX: tuple[str, ...] = (  # most needed first: a first message short of room drops the last
    B + "httpRequest",
    B + "code",
    B + "set",
    B + "if",
    B + "filter",
    B + "wait",
    B + "merge",
    L + "memoryBufferWindow",
    B + "switch",
    B + "aggregate",
    B + "splitOut",
    B + "removeDuplicates",
    B + "splitInBatches",
)
# Triggers, Respond to Webhook and the agent with its chat model are not here: retrieval adds
# them whenever a request implies them (every workflow gets a trigger; AI words bring the agent,
# its model and memory).
MAX_LINE_CHARS = 300
MAX_OPTIONS = 5  # an options parameter with more values (HTTP methods) is named without them
MAX_WHEN = 1  # switch settings named per line (the one that shows the most)
# Every node has its `options` collection; the line leaves it out.
_LEFT_OUT = frozenset({"options"})


def toolbox_lines(catalog: NodeCatalog, *, exclude: Collection[str] = ()) -> list[str]:
    """One line per toolbox node the catalog has, except `exclude` (types already spec'd) and
    types the caller denies (pass them in `exclude` too)."""
    return [_line(t, catalog) for t in TOOLBOX if t in catalog and t not in exclude]


def _line(node_type: str, catalog: NodeCatalog) -> str:
    spec = catalog.nodes[node_type]
    return _render(node_type, spec.latest_version, spec.display_name)


@lru_cache(maxsize=64)
def _render(node_type: str, version: float, display_name: str) -> str:

    node = _params_of(node_type)
    short = node_type.rsplit(".", 1)[-1].lower()
    # The display name only where the type does not say it ("Edit Fields (Set)", not "If").
    named = "".join(display_name.lower().split()) in (short, short + "node")
    number = int(version) if float(version).is_integer() else version
    head = f"{node_type} v{number}" + ("" if named else f" ({display_name})")
    if node is None or float(node["v"]) != version:
        return head
    op = Operation(None, None)
    params = operation_params(node, node_type, op, limit=None)
    parts = []
    for name, desc in params.items():
        if name in _LEFT_OUT:
            continue
        text = name + ("*" if isinstance(desc, dict) and desc.get("required") else "")
        options = desc.get("options") if isinstance(desc, dict) else None
        if options and len(options) <= MAX_OPTIONS:
            text += "(" + "|".join(str(o) for o in options) + ")"
        parts.append(text)
    spec = default_catalog().get(node_type)
    if spec is None or spec.latest_version != version:
        return head + ": " + ", ".join(parts)
    when, _ = switched_params(node, spec, spec.version_class(version), op, full=False)
    line = head + ": " + ", ".join(parts)
    if len(line) > MAX_LINE_CHARS:
        return line[: line.rfind(", ", 0, MAX_LINE_CHARS)]
    # The settings that show the most first (HTTP Request's sendBody before its SSL switch).
    ranked = sorted(when.items(), key=lambda kv: -len(kv[1]))
    for condition, names in ranked[:MAX_WHEN]:
        more = f"; {condition} → {', '.join(n for n in names if n not in _LEFT_OUT)}"
        if len(line) + len(more) > MAX_LINE_CHARS:
            break
        line += more
    return line if len(line) <= MAX_LINE_CHARS else line[: line.rfind(", ", 0, MAX_LINE_CHARS)]
