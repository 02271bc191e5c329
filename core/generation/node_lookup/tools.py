"""The two tools a model may call while it builds a workflow, in OpenAI's tool-call format,
and what each answers (n8n's own builder works the same way: the model searches the catalogue
and fetches the exact details of the node and operation it chose).

- `search_nodes(query)`: up to 8 node types for the words, each with its one-line purpose,
  whether it starts a workflow, and its (resource, operation) pairs.
- `get_node_spec(type, resource?, operation?, switches?)`: the full spec of that exact type and
  operation (with the parameters each switch shows at its other values under `when`; with
  `switches`, rendered at those values), the same object `clixen spec` prints.

Everything a model sends here is untrusted: unknown types, denied types, hidden types and
over-long arguments are answered with an error text, never an exception.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.catalog import N8N_SLACK_TRIGGER, SLACK_TRIGGER_TYPE, NodeCatalog
from core.generation.llm import estimate_text_tokens
from core.generation.node_hints import offerable
from core.generation.node_lookup.candidates import candidate
from core.generation.specs import node_spec_for

if TYPE_CHECKING:
    from core.generation.templates import TemplateLibrary

SEARCH_RESULTS = 8
MAX_ARGUMENT_CHARS = 300
MAX_ANSWER_CHARS = 9_000

TOOL_SCHEMAS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "search_nodes",
            "description": (
                "Search n8n's node catalogue by words (an app, a service, what to do). Returns "
                "node types with their purpose, whether they start a workflow, and their "
                "resources/operations."
            ),
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string", "description": "a few words"}},
                "required": ["query"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_node_spec",
            "description": (
                "The exact spec of one node type for one resource/operation: typeVersion, "
                "parameters with their shapes, credential types, hints, an example, output "
                "fields. Call it before using a node or operation whose spec you do not have."
            ),
            "parameters": {
                "type": "object",
                "properties": {
                    "type": {
                        "type": "string",
                        "description": "full type, e.g. n8n-nodes-base.slack",
                    },
                    "resource": {"type": "string"},
                    "operation": {"type": "string"},
                    "switches": {
                        "type": "object",
                        "description": 'switch values to show in full, e.g. {"sendBody": true}',
                    },
                },
                "required": ["type"],
            },
        },
    },
]


@dataclass
class NodeLookup:
    """Answers tool calls for one generation (the catalog, templates and the project's denied
    types); records which specs it served."""

    catalog: NodeCatalog
    templates: TemplateLibrary | None = None
    denied: frozenset[str] = frozenset()
    served: list[tuple[str, str | None, str | None]] = field(default_factory=list)

    def answer(self, name: str, arguments: str) -> str:
        """The tool's answer as text (JSON), or an error text the model can act on."""
        if len(arguments or "") > MAX_ARGUMENT_CHARS * 4:
            return _error("the arguments are too long")
        try:
            args = json.loads(arguments or "{}")
        except (json.JSONDecodeError, RecursionError):
            return _error("the arguments are not a JSON object")
        if not isinstance(args, dict):
            return _error("the arguments are not a JSON object")
        if any(isinstance(v, str) and len(v) > MAX_ARGUMENT_CHARS for v in args.values()):
            return _error("an argument is too long")
        switches = args.get("switches")
        if switches is not None and not _flat_switches(switches):
            return _error('switches is an object of names to plain values, e.g. {"sendBody": true}')
        if name == "search_nodes":
            return self.search(str(args.get("query") or ""))
        if name == "get_node_spec":
            return self.spec(
                str(args.get("type") or ""),
                _opt(args.get("resource")),
                _opt(args.get("operation")),
                switches or None,
            )
        return _error(f"unknown tool {name[:40]!r}: use search_nodes or get_node_spec")

    def search(self, query: str) -> str:
        if not query.strip():
            return _error("query is empty")
        found = []
        for spec, _ in self.catalog.search_scored(query, 4 * SEARCH_RESULTS):
            if spec.type in self.denied or not offerable(spec, self.catalog):
                continue
            c = candidate(spec.type, self.catalog)
            found.append({**c.as_json(), "purpose": c.purpose, "trigger": c.trigger})
            if len(found) >= SEARCH_RESULTS:
                break
        return _clip(json.dumps({"results": found}, separators=(",", ":")))

    def spec(
        self,
        node_type: str,
        resource: str | None,
        operation: str | None,
        switches: Mapping[str, Any] | None = None,
    ) -> str:
        resolved = node_type if node_type in self.catalog else self.catalog.closest_type(node_type)
        if resolved is None:
            return _error(f"unknown node type {node_type[:80]!r}: call search_nodes first")
        spec = self.catalog.nodes[resolved]
        if resolved in self.denied:
            return _error(f"{resolved} is denied in this project: do not use it")
        if resolved == N8N_SLACK_TRIGGER:
            return _error(
                f"{resolved} never fires here (one Slack app, one request URL: ours); "
                f"use {SLACK_TRIGGER_TYPE}"
            )
        if not offerable(spec, self.catalog):
            return _error(f"{resolved} is hidden (old workflows only): call search_nodes")
        try:
            answer = node_spec_for(
                spec,
                resource=resource,
                operation=operation,
                library=self.templates,
                switches=switches,
            )
        except ValueError as e:
            return _error(str(e))
        self.served.append((resolved, resource, operation))
        return _clip(json.dumps(answer, separators=(",", ":"), ensure_ascii=False))


MAX_SWITCHES = 8


def _flat_switches(value: Any) -> bool:
    """A small object of switch names to strings, numbers or booleans."""
    return (
        isinstance(value, dict)
        and len(value) <= MAX_SWITCHES
        and all(
            isinstance(k, str)
            and len(k) <= 80
            and (isinstance(v, bool | int | float) or (isinstance(v, str) and len(v) <= 80))
            for k, v in value.items()
        )
    )


def _opt(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _error(message: str) -> str:
    return json.dumps({"error": message})


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ANSWER_CHARS else text[:MAX_ANSWER_CHARS] + "…(cut)"


def tool_schema_tokens(schemas: Sequence[Mapping[str, Any]] | None = None) -> int:
    """Our estimate of the tokens the tool definitions add to every call."""
    return estimate_text_tokens(json.dumps(list(schemas or TOOL_SCHEMAS)))
