"""Every (resource, operation) a node type's newest version offers, read off its parameters'
displayOptions (the validator's own logic), cached per type."""

from __future__ import annotations

from functools import lru_cache

from core.catalog import VersionClass
from core.generation.node_lookup.choice import _as_param_specs, _shown
from core.generation.node_lookup.params import default_params
from core.validation.parameters import ParamContext, with_defaults


@lru_cache(maxsize=1024)
def operations_by_resource(node_type: str) -> dict[str | None, tuple[str, ...]]:
    """Resource → the operations it shows ({None: ops} for a node without resources; {} when
    the node has no operation parameter or its parameters are not in the snapshot)."""
    node = default_params().get(node_type)
    if node is None:
        return {}
    props = node["p"]
    vc = VersionClass((node["v"],), None, 0, _as_param_specs(props))
    ctx = ParamContext(version=node["v"], node_type=node_type)
    resource_prop = next((p for p in props if p["n"] == "resource" and "o" in p), None)
    resources: list[str | None] = (
        [o[0] for o in resource_prop["o"]] if resource_prop is not None else [None]
    )
    out: dict[str | None, tuple[str, ...]] = {}
    for resource in resources:
        values = with_defaults(vc, {"resource": resource} if resource is not None else {}, ctx)
        ops: list[str] = []
        for p in props:
            if p["n"] == "operation" and "o" in p and _shown(p, vc, values, ctx):
                ops.extend(str(o[0]) for o in p["o"] if str(o[0]) not in ops)
        if ops:
            out[resource] = tuple(ops)
    return out


def operation_pairs(node_type: str) -> list[tuple[str | None, str]]:
    """The (resource, operation) pairs of `node_type`, in n8n's order."""
    return [(r, o) for r, ops in operations_by_resource(node_type).items() for o in ops]
