"""Operation-level node specs for prompts: for one node type and a request, the parameters that
apply to the likely resource/operation, with their types, option values, defaults that matter,
the resource-locator shape and the structure of collections — plus one real configuration of the
node mined from the shipped templates.

The catalog snapshot (`core.catalog`) keeps only what validation needs; prompts need every
parameter of the newest version, so `clixen catalog refresh` also writes
`core/data/node_params.json.gz` (the newest implementation class of each type, descriptions and
UI text dropped), loaded on first use. Which parameters show under which values is the
validator's own displayOptions logic (`core.validation.parameters.with_defaults`). Which
operation a request needs is `core.generation.node_lookup.choice`; the mined example is
`core.generation.node_lookup.examples` (both re-exported here).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from core.catalog import NodeSpec, VersionClass
from core.catalog.output_schemas import output_shape
from core.generation.node_lookup import details, shapes
from core.generation.node_lookup.choice import Operation as Operation
from core.generation.node_lookup.choice import _as_param_specs as _as_param_specs
from core.generation.node_lookup.choice import _shown as _shown
from core.generation.node_lookup.choice import choose_operation as choose_operation
from core.generation.node_lookup.choice import popularity as popularity
from core.generation.node_lookup.examples import mined_configuration as mined_configuration
from core.generation.node_lookup.operations import operation_pairs
from core.generation.node_lookup.params import _params_of, default_params, shown_values
from core.validation.parameters import ParamContext, with_defaults
from core.validation.shapes import MISSING

if TYPE_CHECKING:
    from core.generation.templates import TemplateLibrary

MAX_OPTIONS_IN_FULL = 12  # longer option lists are trimmed to their first values
MAX_PARAMS = 14
MAX_COLLECTION_FIELDS = 10
MAX_DEPTH = 4  # fixedCollections inside fixedCollections, rendered this deep (full specs)
MAX_HINT = 200  # characters of n8n's hints on one parameter in a first message
MAX_GROUP_FIELDS = 16  # fields of one fixedCollection group in a first message


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
    if spec.is_trigger:
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


def _unique(values: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def _num(v: float) -> float | int:
    return int(v) if float(v).is_integer() else v
