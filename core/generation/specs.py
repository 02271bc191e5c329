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
`core.generation.node_lookup.examples` (both re-exported here); how each parameter, and what
each switch shows at another value, is described is `core.generation.node_lookup.describe`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from core.catalog import NodeSpec, VersionClass
from core.catalog.output_schemas import output_shape
from core.catalog.slack_trigger import model_spec
from core.generation.node_lookup import details
from core.generation.node_lookup.choice import Operation as Operation
from core.generation.node_lookup.choice import _as_param_specs as _as_param_specs
from core.generation.node_lookup.choice import _shown as _shown
from core.generation.node_lookup.choice import choose_operation as choose_operation
from core.generation.node_lookup.choice import popularity as popularity
from core.generation.node_lookup.describe import (
    MAX_PARAMS,
    MAX_SPEC_CHARS,
    WHEN_NOTE,
    _checked_switches,
    _filter_versions,
    _names,
    _unique,
    operation_params,
    switched_params,
)
from core.generation.node_lookup.examples import mined_configuration as mined_configuration
from core.generation.node_lookup.operations import operation_pairs
from core.generation.node_lookup.params import _params_of, default_params
from core.kernel.slack_trigger import SLACK_TRIGGER_TYPE
from core.validation.parameters import ParamContext, with_defaults
from core.validation.shapes import MISSING

if TYPE_CHECKING:
    from core.generation.templates import TemplateLibrary


def node_spec(
    spec: NodeSpec,
    *,
    request: str,
    library: TemplateLibrary | None = None,
    current: Mapping[str, Any] | None = None,
    full: bool = False,
    switches: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What the LLM needs to use `spec` for `request`: the newest typeVersion, the likely
    resource/operation (the one `current` parameters name, when given) and its parameters,
    every operation the node offers, outputs, the credential types of that version, n8n's
    builder hints, the fields its items carry, and one real configuration from the templates
    of the same version class and operation; under `when`, the parameters a switch shows at
    another value (e.g. "sendBody=true"). `full`: every parameter (no cap), each switched one
    described. `switches`: switch values to render the spec at (e.g. {"sendBody": True})."""
    if spec.type == SLACK_TRIGGER_TYPE:  # Clixen's own node: no n8n definition to read
        return model_spec()
    summary: dict[str, Any] = {"type": spec.type, "typeVersion": _num(spec.latest_version)}
    if spec.is_trigger:
        summary["trigger"] = True
    cls = spec.version_class(spec.latest_version)
    if cls is not None and cls.outputs is not None and len(cls.outputs) != 1:
        summary["outputs"] = len(cls.outputs)
    node = _params_of(spec.type)
    op = Operation(None, None)
    credentials_when: dict[str, list[str]] = {}
    if node is not None and float(node["v"]) == spec.latest_version:
        op, credentials_when = _add_operation(
            summary,
            spec,
            node,
            cls,
            request=request,
            library=library,
            current=current,
            full=full,
            switches=switches,
        )
    credentials = details.credential_types(spec, cls, node, op, switches)
    if credentials:
        summary["credentials"] = credentials
    if credentials_when:
        summary["credentials_when"] = credentials_when
    hints = details.node_hints(spec, node)
    if hints:
        summary["hints"] = hints
    fields = output_fields(spec, summary.get("resource"), summary.get("operation"))
    if fields:
        summary["output_fields"] = fields
    return summary


def _add_operation(
    summary: dict[str, Any],
    spec: NodeSpec,
    node: Mapping[str, Any],
    cls: VersionClass | None,
    *,
    request: str,
    library: TemplateLibrary | None,
    current: Mapping[str, Any] | None,
    full: bool,
    switches: Mapping[str, Any] | None,
) -> tuple[Operation, dict[str, list[str]]]:
    """Add to `summary` the operation `current` names (else the one `request` most likely
    needs), every operation offered, its parameters, what switches show at other values and a
    mined example; the operation, and the credential types shown only under a switch."""
    params_type = spec.type if spec.type in default_params() else spec.type.removesuffix("Tool")
    if current is not None and ("resource" in current or "operation" in current):
        op = Operation(current.get("resource"), current.get("operation"))
    else:
        usage = library.operation_usage(params_type) if library is not None else {}
        op = choose_operation(node, spec.type, request, usage=usage)
    if op.resource is not None:
        summary["resource"] = op.resource
    if op.operation is not None:
        summary["operation"] = op.operation
    operations = details.operations_text(params_type)
    if operations and len(operation_pairs(params_type)) > 1:
        # Every operation, so a guessed one never hides the one the request needs.
        summary["operations"] = operations
    params = operation_params(
        node, spec.type, op, limit=None if full else MAX_PARAMS, switches=switches
    )
    if params:
        summary["parameters"] = params
    when, credentials_when = switched_params(node, spec, cls, op, full=full, switches=switches)
    if when:
        summary["when"] = when
        if full:  # a first message's header says what `when` is (with tools or without)
            summary["when_note"] = WHEN_NOTE
    if library is not None:
        shown = params if full else operation_params(node, spec.type, op, limit=None)
        example = mined_configuration(
            library,
            params_type,
            op,
            cls=cls,
            defaults=_default_operations(params_type),
            keys={*shown, *_names(when), "resource", "operation"},
        )
        if example:
            summary["example_parameters"] = _filter_versions(example, node)
    return op, credentials_when


def node_spec_for(
    spec: NodeSpec,
    *,
    resource: str | None = None,
    operation: str | None = None,
    library: TemplateLibrary | None = None,
    switches: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The full spec of `spec` for an exact resource/operation (what `get_node_spec` answers
    and `clixen spec` prints): every parameter that operation shows. A missing resource or
    operation is n8n's default (or the resource that offers `operation`); raises ValueError
    naming the valid values when the node has no such resource or operation. `switches`
    (e.g. {"sendBody": True}) renders it at those switch values; raises ValueError naming the
    switches when one is not a switch of that operation or takes no such value."""
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
    if switches:
        switches = _checked_switches(spec, Operation(resource, operation), switches)
    out = node_spec(
        spec, request="", library=library, current=current or None, full=True, switches=switches
    )
    if len(json.dumps(out, separators=(",", ":"), ensure_ascii=False)) > MAX_SPEC_CHARS:
        # Too long to read whole (a node with dozens of modes): `when` by names; the model
        # asks for one setting in full with `switches`.
        node = _params_of(spec.type)
        cls = spec.version_class(spec.latest_version)
        if node is not None and "when" in out:
            op = Operation(out.get("resource"), out.get("operation"))
            out["when"], _ = switched_params(node, spec, cls, op, full=False, switches=switches)
    return out


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


def _num(v: float) -> float | int:
    return int(v) if float(v).is_integer() else v
