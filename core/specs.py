"""Operation-level node specs for prompts: for one node type and a request, the parameters that
apply to the likely resource/operation, with their types, option values, defaults that matter,
the resource-locator shape and the structure of collections — plus one real configuration of the
node mined from the shipped templates.

The catalog snapshot (`core.catalog`) keeps only what validation needs; prompts need every
parameter of the newest version, so `clixen catalog refresh` also writes
`core/data/node_params.json.gz` (the newest implementation class of each type, descriptions and
UI text dropped), loaded on first use. Which parameters show under which values is the
validator's own displayOptions logic (`core.validation.parameters.with_defaults`).
"""

from __future__ import annotations

import gzip
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.catalog import NodeSpec, ParamSpec, VersionClass
from core.node_lookup import details, shapes
from core.node_lookup.operations import operation_pairs
from core.output_schemas import output_shape
from core.templates import tokens
from core.validation.parameters import ParamContext, with_defaults
from core.validation.shapes import MISSING

if TYPE_CHECKING:
    from core.templates import TemplateLibrary

PARAMS_PATH = Path(__file__).parent / "data" / "node_params.json.gz"
PARAMS_FORMAT = 2

MAX_OPTIONS_IN_FULL = 12  # longer option lists are trimmed to their first values
MAX_PARAMS = 14
MAX_COLLECTION_FIELDS = 10
MAX_DEPTH = 4  # fixedCollections inside fixedCollections, rendered this deep (full specs)
MAX_HINT = 200  # characters of n8n's hints on one parameter in a first message
MAX_GROUP_FIELDS = 16  # fields of one fixedCollection group in a first message
MAX_EXAMPLE_CHARS = 450
# Parameter types that are UI only.
_UI_TYPES = frozenset({"notice", "callout", "button", "curlImport", "credentials"})
# Request verbs and the operation words they usually mean.
_VERB_HINTS: dict[str, str] = {
    "post": "send post create",
    "send": "send post",
    "notify": "send post",
    "alert": "send post",
    "dm": "send post",
    "message": "send post",
    "email": "send",
    "mail": "send",
    "tweet": "create",
    "add": "create append add insert",
    "insert": "insert create append",
    "create": "create",
    "store": "create append insert",
    "save": "create append upload",
    "upload": "upload",
    "write": "append create update",
    "update": "update",
    "delete": "delete",
    "remove": "delete",
    "fetch": "get getAll",
    "read": "get getAll",
    "list": "getAll",
    "look": "get search",
    "search": "search getAll",
    "find": "search get",
    "download": "download get",
    "export": "append create",
    "put": "append create",
    "log": "append create",
    "make": "create",
    "get": "get getall",
    "msg": "send post",
    "ping": "send post",
    "reply": "reply",
    "approve": "sendandwait",
    "approval": "sendandwait",
    "approved": "sendandwait",
    "approves": "sendandwait",
    "transcribe": "transcribe",
    "upsert": "upsert appendorupdate",
    "sync": "appendorupdate upsert",
    "exist": "appendorupdate upsert",
    "exists": "appendorupdate upsert",
    "label": "addlabels",
    "labelled": "addlabels",
}
# Verbs the template keyword search drops as noise but that name an operation.
_OPERATION_VERBS = frozenset({"create", "send", "make", "get", "gets", "update", "all"})
_SECRET_KEY = re.compile(r"(?i)(api_?key|token|secret|password|passwd|authorization|bearer)")
_ID_LIKE = re.compile(r"^[A-Za-z0-9_-]{20,}$")
# Parameters whose names look secret but hold an option value ("authentication": "oAuth2").
_OPTION_KEYS = frozenset({"authentication", "nodeCredentialType", "genericAuthType"})


# --- the parameter snapshot -------------------------------------------------------------------


def _slim_property(p: Mapping[str, Any]) -> dict[str, Any] | None:
    """A property without UI text: name, type, default, required, displayOptions, options."""
    ptype = str(p.get("type", "string"))
    if ptype in _UI_TYPES or "name" not in p:
        return None
    out: dict[str, Any] = {"n": p["name"], "t": ptype}
    default = p.get("default")
    # "" / [] / {} defaults matter: n8n's displayOptions compare against them (hide: [""]).
    if default is not None and len(json.dumps(default)) <= 400:
        out["d"] = default
    if p.get("required"):
        out["r"] = 1
    if p.get("displayOptions"):
        out["s"] = p["displayOptions"]
    if (p.get("typeOptions") or {}).get("multipleValues"):
        out["mv"] = 1
    options = p.get("options")
    if ptype in ("options", "multiOptions") and isinstance(options, list):
        values = [o for o in options if isinstance(o, dict) and "value" in o]
        if p["name"] in ("resource", "operation"):
            # The action text ("Send a message") is what a request's words match.
            out["o"] = [[o["value"], o.get("action") or o.get("name", "")] for o in values]
        else:
            out["o"] = [o["value"] for o in values]
    elif ptype == "fixedCollection" and isinstance(options, list):
        out["c"] = [
            {
                "n": o["name"],
                "v": [s for s in (_slim_property(v) for v in o.get("values", [])) if s],
            }
            for o in options
            if isinstance(o, dict) and "name" in o
        ]
    elif ptype == "collection" and isinstance(options, list):
        out["f"] = [o["name"] for o in options if isinstance(o, dict) and "name" in o]
        hints = {
            o["name"]: o["builderHint"]["propertyHint"]
            for o in options
            if isinstance(o, dict)
            and "name" in o
            and isinstance((o.get("builderHint") or {}).get("propertyHint"), str)
        }
        if hints:
            out["fh"] = hints
    if ptype in ("resourceLocator", "workflowSelector"):
        out["m"] = [m["name"] for m in p.get("modes") or [] if isinstance(m, dict) and "name" in m]
    rule = ((p.get("typeOptions") or {}).get("filter") or {}).get("version")
    if ptype == "filter" and isinstance(rule, str):
        out["fv"] = rule  # which options.version the filter has at each node version
    hint = (p.get("builderHint") or {}).get("propertyHint")
    if isinstance(hint, str) and hint.strip():
        out["bh"] = hint.strip()  # n8n's own advice to its workflow builder
    return out


def build_params_snapshot(descriptions: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """The newest implementation class of every node type, slimmed for prompts."""
    newest: dict[str, tuple[float, Mapping[str, Any]]] = {}
    for prefix, desc in descriptions:
        full = desc["name"] if "." in desc["name"] else prefix + desc["name"]
        raw = desc.get("version", 1)
        top = max(float(v) for v in (raw if isinstance(raw, list) else [raw]))
        if full not in newest or top > newest[full][0]:
            newest[full] = (top, desc)
    nodes = {}
    for full, (version, desc) in newest.items():
        props = [_slim_property(p) for p in desc.get("properties", [])]
        nodes[full] = {"v": version, "p": [p for p in props if p]}
        hint = (desc.get("builderHint") or {}).get("searchHint")
        if isinstance(hint, str) and hint.strip():
            nodes[full]["h"] = hint.strip()
    return {"format": PARAMS_FORMAT, "nodes": nodes}


def write_params_snapshot(
    descriptions: Iterable[tuple[str, Mapping[str, Any]]], out: Path = PARAMS_PATH
) -> None:
    raw = json.dumps(build_params_snapshot(descriptions), separators=(",", ":"), sort_keys=True)
    out.write_bytes(gzip.compress(raw.encode(), compresslevel=9, mtime=0))
    default_params.cache_clear()


@lru_cache(maxsize=1)
def default_params() -> Mapping[str, Any]:
    """Node type → its slimmed newest class ({} when the snapshot is missing)."""
    try:
        data = json.loads(gzip.decompress(PARAMS_PATH.read_bytes()))
    except OSError:
        return {}
    if data.get("format") != PARAMS_FORMAT:
        return {}
    nodes: Mapping[str, Any] = data["nodes"]
    return nodes


# --- choosing the operation -------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    resource: str | None
    operation: str | None
    # When no word of the request named the operation (it is the most used or n8n's default),
    # the resource's other operations, so the prompt offers the choice instead of imposing it.
    alternatives: tuple[str, ...] = ()


def _as_param_specs(props: Sequence[Mapping[str, Any]]) -> tuple[ParamSpec, ...]:
    return tuple(
        ParamSpec(
            name=p["n"],
            type=p["t"],
            default=p.get("d"),
            required=bool(p.get("r")),
            display_options=p.get("s"),
        )
        for p in props
    )


def _words(text: str) -> set[str]:
    """`tokens` of `text` keeping the verbs that name operations ("create", "send", "get")."""
    raw = re.findall(r"[a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text).lower())
    return tokens(text) | {w for w in raw if w in _OPERATION_VERBS}


def _request_words(text: str) -> set[str]:
    words = _words(text)
    for w in list(words):
        words |= set(_VERB_HINTS.get(w, "").lower().split())
    return words


def _match(words: set[str], value: Any, label: str) -> float:
    option = _words(f"{value} {label}") | {str(value).lower()}
    return float(len(words & option))


def _usage_with_defaults(
    usage: Mapping[tuple[str | None, str | None], int],
    default_resource: Any,
    default_ops: Mapping[Any, Any],
) -> dict[tuple[Any, Any], int]:
    """Template usage with implicit values filled in: a Slack node that leaves resource and
    operation out posts a message (n8n's defaults), so it counts as ("message", "post")."""
    out: dict[tuple[Any, Any], int] = {}
    for (resource, operation), n in usage.items():
        r = resource if resource is not None else default_resource
        o = operation if operation is not None else default_ops.get(r)
        out[(r, o)] = out.get((r, o), 0) + n
    return out


MAX_ALTERNATIVES = 12
USAGE_WEIGHT = 0.9
_DESTRUCTIVE = re.compile(r"(?i)^(delete|remove|clear|archive|kick|leave|ban|trash|close|disable)")


def choose_operation(
    node: Mapping[str, Any],
    node_type: str,
    request: str,
    *,
    usage: Mapping[tuple[str | None, str | None], int] | None = None,
) -> Operation:
    """The resource/operation of `node` that `request` most likely needs: the most words in
    common with the option's value and action, then the most used in real templates, then
    n8n's default."""
    props = node["p"]
    vc = VersionClass((node["v"],), None, 0, _as_param_specs(props))
    ctx = ParamContext(version=node["v"], node_type=node_type)
    words = _request_words(request)
    resource_prop = next((p for p in props if p["n"] == "resource" and "o" in p), None)
    resources: list[tuple[Any, str]] = (
        [tuple(o) for o in resource_prop["o"]] if resource_prop else [(None, "")]
    )
    best: tuple[tuple[float, int, int], Operation] | None = None
    named_op = False
    choices: tuple[str, ...] = ()
    per_resource: list[tuple[Any, str, list[tuple[Any, str]], Any]] = []
    for resource, r_label in resources:
        values = with_defaults(vc, {"resource": resource} if resource is not None else {}, ctx)
        shown_ops = [
            p for p in props if p["n"] == "operation" and "o" in p and _shown(p, vc, values, ctx)
        ]
        ops: list[tuple[Any, str]] = (
            [tuple(o) for o in shown_ops[0]["o"]] if shown_ops else [(None, "")]
        )
        per_resource.append((resource, r_label, ops, values.get("operation")))
    default_resource = resource_prop.get("d") if resource_prop else None
    counts = _usage_with_defaults(
        usage or {}, default_resource, {r: d for r, _, _, d in per_resource}
    )
    most_used = max(counts.values(), default=0)
    for resource, r_label, ops, default_op in per_resource:
        for op, o_label in ops:
            if _DESTRUCTIVE.match(str(op or "")) and not (
                tokens(str(op)) & words and (resource is None or tokens(str(resource)) & words)
            ):
                continue  # never guessed: "delete the channel" gets it, "leave a note" not
            score = _match(words, resource, r_label) * 0.5 + _match(words, op, o_label)
            used = counts.get((resource, op), 0)
            is_default = int(
                (resource_prop is None or resource == resource_prop.get("d")) and op == default_op
            )
            # How real templates use this node counts like half a matching word at most: a
            # weak match ("list" → getAll) must not beat what nearly every template does.
            prior = USAGE_WEIGHT * popularity(used, most_used)
            key = (score + prior, used, is_default)
            if best is None or key > best[0]:
                best = (key, Operation(resource, op))
                # Named = a word of the operation itself (not its resource) is in the request.
                named_op = bool(tokens(str(op)) & words) if op is not None else False
                choices = tuple(str(o) for o, _ in ops if o is not None)
    if best is None:
        return Operation(None, None)
    chosen = best[1]
    if named_op or len(choices) < 2:
        return chosen
    others = tuple(o for o in choices if o != chosen.operation)[:MAX_ALTERNATIVES]
    return Operation(chosen.resource, chosen.operation, others)


def _shown(
    p: Mapping[str, Any], vc: VersionClass, values: Mapping[str, Any], ctx: ParamContext
) -> bool:
    # with_defaults leaves out exactly the parameters that are not displayed.
    single = VersionClass(vc.versions, None, 0, _as_param_specs([p]))
    probe = {k: v for k, v in values.items() if k != p["n"]}
    return p["n"] in with_defaults(single, probe, ctx)


# --- rendering ----------------------------------------------------------------------------------


def _options_text(values: Sequence[Any]) -> list[Any]:
    if len(values) <= MAX_OPTIONS_IN_FULL:
        return list(values)
    return [*values[: MAX_OPTIONS_IN_FULL - 2], f"…{len(values) - MAX_OPTIONS_IN_FULL + 2} more"]


def _describe(
    p: Mapping[str, Any], *, depth: int = 0, version: float = 1.0, full: bool = False
) -> Any:
    """One parameter for the prompt: a short dict of what the model must get right (`full`:
    every field of a fixedCollection at every depth, else the first few of each group)."""
    ptype = p["t"]
    out: dict[str, Any] = {"type": ptype}
    if p.get("r"):
        out["required"] = True
    if "o" in p:
        values = _unique(o[0] if isinstance(o, list) else o for o in p["o"])
        out["options"] = _options_text(values)
    if "d" in p and ptype not in ("fixedCollection", "collection", "filter"):
        out["default"] = p["d"]
    if ptype in ("resourceLocator", "workflowSelector"):
        modes = [m for m in p.get("m", []) if m != "list"] or p.get("m", [])
        mode = "id" if "id" in modes else (modes[0] if modes else "id")
        out = {
            "type": "resourceLocator",
            **({"required": True} if p.get("r") else {}),
            "value": {"__rl": True, "mode": mode, "value": "…"},
            "modes": modes,
        }
    elif ptype == "filter":
        value = shapes.filter_shape(p.get("fv"), version)
        if not full:  # the notes say how a unary condition differs
            value["conditions"] = value["conditions"][:1]
        out["value"] = value
        out["notes"] = shapes.FILTER_NOTES
    elif ptype == "assignmentCollection":
        out["value"] = shapes.ASSIGNMENTS_SHAPE
    elif ptype == "resourceMapper":
        out["value"] = shapes.RESOURCE_MAPPER_SHAPE
        out["notes"] = shapes.RESOURCE_MAPPER_NOTES
    elif ptype == "fixedCollection" and depth < (MAX_DEPTH if full else 2):
        shape: dict[str, Any] = {}
        for group in p.get("c", []):
            values = group["v"] if full else group["v"][:MAX_GROUP_FIELDS]
            fields = {
                v["n"]: _describe(v, depth=depth + 1, version=version, full=full) for v in values
            }
            if len(values) < len(group["v"]):
                fields["…"] = f"{len(group['v']) - len(values)} more: get_node_spec"
            shape[group["n"]] = [fields] if p.get("mv") else fields
        out["value"] = shape  # (its default repeats the shape: left out)
    elif ptype == "collection":
        names = _unique(p.get("f", []))
        out["fields"] = names[:MAX_COLLECTION_FIELDS] + (
            [f"…{len(names) - MAX_COLLECTION_FIELDS} more"]
            if len(names) > MAX_COLLECTION_FIELDS
            else []
        )
    if "value" in out:
        out.pop("default", None)  # the shape says more than n8n's empty default
    hints = [h for h in (shapes.hint_text(t) for t in _param_hints(p)) if h]
    if hints:
        text = " ".join(_unique(hints))
        out["hint"] = text if full or len(text) <= MAX_HINT else text[: MAX_HINT - 1] + "…"
    if depth > 0 and set(out) == {"type"}:
        return ptype
    return out


def _param_hints(p: Mapping[str, Any]) -> list[str]:
    """n8n's builder hints on a parameter and on the fields of its collection."""
    found = [p["bh"]] if "bh" in p else []
    found += [f"{name}: {text}" for name, text in (p.get("fh") or {}).items()]
    return found


def _params_of(node_type: str) -> Mapping[str, Any] | None:
    """The slimmed parameters of `node_type` (a `<type>Tool` variant has its base's)."""
    nodes = default_params()
    node = nodes.get(node_type)
    if node is None and node_type.endswith("Tool"):
        node = nodes.get(node_type.removesuffix("Tool"))
    return node


def shown_values(node: Mapping[str, Any], node_type: str, op: Operation) -> dict[str, Any]:
    """Every parameter value n8n holds for `op` before the user sets anything (defaults, and
    an options parameter without one at its first option, as the editor shows it)."""
    props = node["p"]
    vc = VersionClass((node["v"],), None, 0, _as_param_specs(props))
    ctx = ParamContext(version=node["v"], node_type=node_type)
    chosen: dict[str, Any] = {
        k: v for k, v in (("resource", op.resource), ("operation", op.operation)) if v
    }
    values = with_defaults(vc, chosen, ctx)
    # An options parameter without a default shows its first option in n8n's editor; what that
    # option displays (Slack's channel for "select") is what the model must see.
    for p in props:
        if p["t"] == "options" and p.get("o") and values.get(p["n"]) in (None, "", MISSING):
            first = p["o"][0]
            chosen[p["n"]] = first[0] if isinstance(first, list) else first
    return with_defaults(vc, chosen, ctx)


def operation_params(
    node: Mapping[str, Any], node_type: str, op: Operation, *, limit: int | None = MAX_PARAMS
) -> dict[str, Any]:
    """The parameters shown for `op`, required ones first, each described (all of them when
    `limit` is None)."""
    props = node["p"]
    vc = VersionClass((node["v"],), None, 0, _as_param_specs(props))
    ctx = ParamContext(version=node["v"], node_type=node_type)
    values = shown_values(node, node_type, op)
    seen: set[str] = set()
    shown = []
    for p in props:
        if p["n"] in seen or p["n"] in ("resource", "operation") or not _shown(p, vc, values, ctx):
            continue
        seen.add(p["n"])
        shown.append(p)
    shown.sort(key=lambda p: not p.get("r"))
    full = limit is None
    return {p["n"]: _describe(p, version=float(node["v"]), full=full) for p in shown[:limit]}


def node_spec(
    spec: NodeSpec,
    *,
    request: str,
    library: TemplateLibrary | None = None,
    current: Mapping[str, Any] | None = None,
    full: bool = False,
) -> dict[str, Any]:
    """What the LLM needs to use `spec` for `request`: the newest typeVersion, the likely
    resource/operation (the one `current` parameters name, when given) and its parameters,
    every operation the node offers, outputs, the credential types of that version, n8n's
    builder hints, the fields its items carry, and one real configuration from the templates
    of the same version class and operation. `full`: every parameter (no cap)."""
    summary: dict[str, Any] = {"type": spec.type, "typeVersion": _num(spec.latest_version)}
    if is_start_node(spec):
        summary["trigger"] = True
    cls = spec.version_class(spec.latest_version)
    if cls is not None and cls.outputs is not None and len(cls.outputs) != 1:
        summary["outputs"] = len(cls.outputs)
    node = _params_of(spec.type)
    params_type = spec.type if spec.type in default_params() else spec.type.removesuffix("Tool")
    usage = library.operation_usage(params_type) if library is not None else {}
    op = Operation(None, None)
    if node is not None and float(node["v"]) == spec.latest_version:
        if current is not None and ("resource" in current or "operation" in current):
            op = Operation(current.get("resource"), current.get("operation"))
        else:
            op = choose_operation(node, spec.type, request, usage=usage)
        if op.resource is not None:
            summary["resource"] = op.resource
        if op.operation is not None:
            summary["operation"] = op.operation
        operations = details.operations_text(params_type)
        if operations and len(operation_pairs(params_type)) > 1:
            # Every operation, so a guessed one never hides the one the request needs.
            summary["operations"] = operations
        params = operation_params(node, spec.type, op, limit=None if full else MAX_PARAMS)
        if params:
            summary["parameters"] = params
        if library is not None:
            shown = params if full else operation_params(node, spec.type, op, limit=None)
            example = mined_configuration(
                library,
                params_type,
                op,
                cls=cls,
                defaults=_default_operations(params_type),
                keys={*shown, "resource", "operation"},
            )
            if example:
                summary["example_parameters"] = example
    credentials = details.credential_types(spec, cls, node, op)
    if credentials:
        summary["credentials"] = credentials
    hints = details.node_hints(spec, node)
    if hints:
        summary["hints"] = hints
    fields = output_fields(spec, summary.get("resource"), summary.get("operation"))
    if fields:
        summary["output_fields"] = fields
    return summary


def node_spec_for(
    spec: NodeSpec,
    *,
    resource: str | None = None,
    operation: str | None = None,
    library: TemplateLibrary | None = None,
) -> dict[str, Any]:
    """The full spec of `spec` for an exact resource/operation (what `get_node_spec` answers
    and `clixen spec` prints): every parameter that operation shows. A missing resource or
    operation is n8n's default (or the resource that offers `operation`); raises ValueError
    naming the valid values when the node has no such resource or operation."""
    params_type = spec.type if spec.type in default_params() else spec.type.removesuffix("Tool")
    pairs = operation_pairs(params_type)
    defaults = _default_operations(params_type)
    if pairs and (resource is not None or operation is not None):
        resources = _unique(r for r, _ in pairs)
        if resource is not None and resource not in resources:
            raise ValueError(
                f"{spec.type} has no resource {resource!r}; "
                f"resources: {', '.join(map(str, resources))}"
            )
        if resource is None:
            resource = next((r for r, o in pairs if o == operation), defaults.get(None))
        ops = [o for r, o in pairs if r == resource]
        if operation is None:
            operation = defaults.get(resource) or (ops[0] if ops else None)
        if operation not in ops:
            raise ValueError(
                f"{spec.type} has no operation {operation!r}"
                + (f" for resource {resource!r}" if resource is not None else "")
                + f"; operations: {', '.join(ops)}"
            )
    current = {k: v for k, v in (("resource", resource), ("operation", operation)) if v}
    return node_spec(spec, request="", library=library, current=current or None, full=True)


@lru_cache(maxsize=1024)
def _default_operations(node_type: str) -> dict[Any, Any]:
    """n8n's defaults: None → the default resource, each resource → its default operation."""
    node = default_params().get(node_type)
    if node is None:
        return {}
    props = node["p"]
    vc = VersionClass((node["v"],), None, 0, _as_param_specs(props))
    ctx = ParamContext(version=node["v"], node_type=node_type)
    values = with_defaults(vc, {}, ctx)
    out: dict[Any, Any] = {None: _given(values.get("resource"))}
    resource_prop = next((p for p in props if p["n"] == "resource" and "o" in p), None)
    for value in [o[0] for o in resource_prop["o"]] if resource_prop else [None]:
        shown = with_defaults(vc, {"resource": value} if value is not None else {}, ctx)
        out[value] = _given(shown.get("operation"))
    return out


def _given(value: Any) -> Any:
    return None if value is MISSING else value


def is_start_node(spec: NodeSpec) -> bool:
    """True when the node starts runs on its own: a trigger, poller or the Webhook node — not
    an action that merely waits on a webhook (Slack's send-and-wait, Wait, Send Email)."""
    if spec.is_manual_trigger:
        return False
    return "trigger" in spec.group or spec.type.endswith("Trigger") or spec.polling


MAX_OUTPUT_FIELDS = 30


def output_fields(spec: NodeSpec, resource: str | None, operation: str | None) -> list[str]:
    """The top-level fields one output item of this node has (from n8n's output schemas), so
    the model writes `$json.title`, not `$json.Title`; empty when no schema is known."""
    shape = output_shape(spec.type, spec.latest_version, resource, operation)
    if not shape:
        return []
    names = list(shape)
    if len(names) > MAX_OUTPUT_FIELDS:
        return [*names[:MAX_OUTPUT_FIELDS], f"…{len(names) - MAX_OUTPUT_FIELDS} more"]
    return names


# `$('Other node')` / `$node["Other node"]`: an expression that only makes sense in its template.
_NODE_REFERENCE = re.compile(r"\$\(|\$node\[")


def mined_configuration(
    library: TemplateLibrary,
    node_type: str,
    op: Operation,
    *,
    cls: VersionClass | None = None,
    defaults: Mapping[Any, Any] | None = None,
    keys: set[str] | None = None,
) -> Any:
    """One real `parameters` object of `node_type` doing `op` in the shipped templates, with
    secrets, ids and caches removed and none naming another node of its template; None when no
    template has one small enough. With `cls`, only nodes of a typeVersion that class serves;
    a resource/operation a template leaves out counts as n8n's default (`defaults`: None →
    the default resource, each resource → its default operation). With `keys`, only a
    configuration whose every key is one of them (a parameter the spec shows)."""
    best: tuple[int, Any] | None = None
    implicit = defaults or {}
    for version, params in library.versioned_configurations(node_type):
        if cls is not None and (version is None or float(version) not in cls.versions):
            continue  # another version class has other parameters
        resource = params.get("resource", implicit.get(None))
        operation = params.get("operation", implicit.get(resource))
        if op.resource is not None and resource != op.resource:
            continue
        if op.operation is not None and operation != op.operation:
            continue
        if keys is not None and not set(params) <= keys:
            continue  # set under other option values than the spec's: it would mislead
        clean = _scrub(params)
        text = json.dumps(clean, separators=(",", ":"), ensure_ascii=False)
        if len(text) > MAX_EXAMPLE_CHARS or not text.isascii():
            continue
        if _NODE_REFERENCE.search(text):
            continue  # names a node of its own template, which the user's workflow lacks
        # Prefer a configuration with some substance: the richest that fits the budget.
        if best is None or len(text) > best[0]:
            best = (len(text), clean)
    return best[1] if best else None


def _scrub(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        if value.get("__rl") is True:
            mode = value.get("mode", "id")
            keep = mode in ("name", "url") and not _ID_LIKE.match(str(value.get("value", "")))
            return {"__rl": True, "mode": mode, "value": value.get("value") if keep else "<id>"}
        return {
            k: _scrub(v, k)
            for k, v in value.items()
            if not k.startswith("cachedResult") and k not in ("webhookId", "credentials")
        }
    if isinstance(value, list):
        return [_scrub(v, key) for v in value[:4]]
    if isinstance(value, str):
        if _SECRET_KEY.search(key) and key not in _OPTION_KEYS:
            return "<secret>"
        if _ID_LIKE.match(value) and _looks_generated(value):
            return "<id>"
        return value if len(value) <= 120 else value[:120] + "..."
    return value


def _looks_generated(value: str) -> bool:
    """An id mixes in digits (a model name such as text-embedding-3-small, an option value or
    a field name does not look like this): three or more, or any in an unbroken mixed-case run."""
    digits = sum(c.isdigit() for c in value)
    mixed = value.lower() != value and value.upper() != value and not re.search(r"[-_]", value)
    return digits >= 3 or (digits >= 1 and mixed)


def _unique(values: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def _num(v: float) -> float | int:
    return int(v) if float(v).is_integer() else v


def popularity(count: int, most: int) -> float:
    """0..1: how common a node type is in real templates, on a log scale."""
    if most <= 0:
        return 0.0
    return math.log1p(count) / math.log1p(most)
