"""`clixen spec TYPE [--resource R] [--operation O] [--set SWITCH=VALUE]... [--json]`: exactly
what the model gets for one node type and operation when it asks `get_node_spec` — typeVersion,
every parameter that operation shows (with value shapes and n8n's hints), the parameters and
credential types each switch shows at its other values (`when`, `credentials_when`), credential
types of that version, an example configuration of the same version class and operation, and
its output fields.

Needs no database, LLM or n8n: the catalog and parameter snapshots shipped in core/data (and
the template library, when installed, for the example).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from core.kernel.errors import ClixenError


class UnknownNodeType(ClixenError):
    code = "unknown_node_type"


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "spec",
        help="show the node spec the model gets for a node type and operation (no LLM, no n8n)",
    )
    p.add_argument("type", help="node type, e.g. n8n-nodes-base.slack (the prefix may be left out)")
    p.add_argument("--resource", help="the resource (n8n's default when left out)")
    p.add_argument("--operation", help="the operation (the resource's default when left out)")
    p.add_argument(
        "--set",
        dest="switches",
        action="append",
        default=[],
        metavar="SWITCH=VALUE",
        help="render the spec with a switch turned, e.g. --set sendBody=true --set "
        "specifyBody=json (the spec's `when` lists what each switch shows)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="one JSON object: type, typeVersion, resource, operation, parameters, when, "
        "credentials, credentials_when, hints, example, output_fields, operations",
    )
    p.set_defaults(func=run, uses_settings=False)


def run(args: argparse.Namespace) -> int:
    from core.catalog import N8N_SLACK_TRIGGER, SLACK_TRIGGER_TYPE, default_catalog
    from core.generation.node_hints import offerable
    from core.generation.specs import node_spec_for
    from core.generation.templates import TemplatesUnavailable, default_library

    catalog = default_catalog()
    node_type = args.type if args.type in catalog else catalog.closest_type(args.type)
    if node_type is None:
        raise UnknownNodeType(
            f"no node type {args.type!r} in n8n {catalog.n8n_version}'s catalog; "
            f"find one with: clixen catalog search WORDS"
        )
    spec = catalog.nodes[node_type]
    if node_type == N8N_SLACK_TRIGGER:
        raise UnknownNodeType(
            f"{node_type} never fires with Clixen's Slack app (one app, one request URL: "
            f"Clixen's); use Clixen's Slack trigger: clixen spec {SLACK_TRIGGER_TYPE}"
        )
    if not offerable(spec, catalog):
        raise UnknownNodeType(
            f"{node_type} is hidden in n8n (kept for old workflows only) and never offered; "
            f"find its successor with: clixen catalog search {spec.display_name}"
        )
    try:
        library = default_library()
    except TemplatesUnavailable:
        library = None
    switches = {}
    for item in args.switches:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UnknownNodeType(f"--set takes SWITCH=VALUE (e.g. sendBody=true), not {item!r}")
        switches[name.strip()] = value.strip()
    try:
        raw = node_spec_for(
            spec,
            resource=args.resource,
            operation=args.operation,
            library=library,
            switches=switches or None,
        )
    except ValueError as e:
        raise UnknownNodeType(f"{e}. Pick one of those with --resource/--operation/--set.") from e
    result = as_document(raw)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(_text(result))
    return 0


def as_document(raw: dict[str, Any]) -> dict[str, Any]:
    """The spec under the documented key names (`example` for `example_parameters`)."""
    return {
        "type": raw["type"],
        "typeVersion": raw["typeVersion"],
        "resource": raw.get("resource"),
        "operation": raw.get("operation"),
        "trigger": bool(raw.get("trigger")),
        "parameters": raw.get("parameters", {}),
        "when": raw.get("when", {}),
        "credentials": raw.get("credentials", []),
        "credentials_when": raw.get("credentials_when", {}),
        "hints": raw.get("hints", []),
        "example": raw.get("example_parameters"),
        "output_fields": raw.get("output_fields", []),
        "operations": raw.get("operations", []),
        **({"outputs": raw["outputs"]} if "outputs" in raw else {}),
    }


def _text(doc: dict[str, Any]) -> str:
    head = f"{doc['type']} v{doc['typeVersion']}"
    if doc["resource"] or doc["operation"]:
        head += f" — {doc['resource'] or ''}/{doc['operation'] or ''}"
    lines = [head + (" (trigger)" if doc["trigger"] else ""), "", "Parameters:"]
    for name, desc in doc["parameters"].items():
        lines.append(f"  {name}: {json.dumps(desc, ensure_ascii=False)}")
    if doc["when"]:
        lines += ["", "Shown only when a switch has another value (set the switch too):"]
        for condition, params in doc["when"].items():
            lines.append(f"  when {condition}:")
            for name, desc in params.items():
                lines.append(f"    {name}: {json.dumps(desc, ensure_ascii=False)}")
    lines += ["", "Credential types: " + (", ".join(doc["credentials"]) or "none")]
    for condition, types in doc["credentials_when"].items():
        lines.append(f"  when {condition}: {', '.join(types)}")
    for hint in doc["hints"]:
        lines.append("Hint: " + hint)
    if doc["example"] is not None:
        lines += ["", "Example (from a real template): " + json.dumps(doc["example"])]
    if doc["output_fields"]:
        lines += ["", "Output fields: " + ", ".join(doc["output_fields"])]
    if doc["operations"]:
        lines += ["", "All operations: " + json.dumps(doc["operations"])]
    lines += ["", "As JSON: clixen spec ... --json; one switch setting in full: --set NAME=VALUE"]
    return "\n".join(lines)
