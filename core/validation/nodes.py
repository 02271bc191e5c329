"""Checks of each node on its own: shape, field types, id, settings, type, version, policy,
required parameters and expression syntax."""

from __future__ import annotations

from typing import Any

from core.catalog import BASE_PREFIX, KNOWN_PREFIXES, NodeSpec
from core.kernel.safety import MAX_NODES
from core.validation.base import Context, denied_type
from core.validation.expressions import expression_problem, expression_strings
from core.validation.parameters import ParamContext, is_missing, locator_mismatch, with_defaults
from core.validation.report import Issue, Severity
from core.validation.shapes import (
    EXECUTION_ORDER,
    HINT_NODES,
    KIND_NAMES,
    NODE_FIELD_TYPES,
    NOT_LOADED_BY_DEFAULT,
    ON_ERROR,
    SETTING_TYPES,
    STICKY_NOTE,
    field_hint,
    fmt_version,
    has_kind,
    is_number,
    json_kind,
    shown,
)

# -- nodes ----------------------------------------------------------------------------------


def check_top_level(
    wf: object,
) -> tuple[tuple[list[Any], dict[str, Any], object] | None, list[Issue]]:
    """The workflow's nodes, connections ({} when missing or not an object) and settings, and
    what is wrong at the top level; None instead of the three when there are no nodes to check."""
    out: list[Issue] = []
    if not isinstance(wf, dict):
        out.append(
            Issue(
                "invalid_json_shape",
                f"The workflow must be a JSON object, not {json_kind(wf)}.",
                hint='Return one JSON object with "name", "nodes" and "connections".',
            )
        )
        return None, out
    if not isinstance(wf.get("name"), str) or not wf.get("name"):
        out.append(
            Issue(
                "missing_field",
                'The workflow has no "name".',
                hint='Add a short descriptive "name" to the workflow.',
                severity="warning",
            )
        )
    nodes = wf.get("nodes")
    if nodes is None:
        out.append(Issue("missing_field", 'The workflow has no "nodes" list.', hint=HINT_NODES))
        return None, out
    if not isinstance(nodes, list):
        out.append(
            Issue(
                "invalid_json_shape",
                f'"nodes" must be a list, not {json_kind(nodes)}.',
                hint=HINT_NODES,
            )
        )
        return None, out
    out += _too_many_nodes(nodes)
    conns = wf.get("connections")
    if conns is None:
        out.append(
            Issue(
                "missing_field",
                'The workflow has no "connections" object.',
                hint='Add "connections": an object keyed by source node name.',
            )
        )
        conns = {}
    elif not isinstance(conns, dict):
        out.append(
            Issue(
                "invalid_json_shape",
                f'"connections" must be an object keyed by node name, not {json_kind(conns)}.',
                hint='Make "connections" an object keyed by source node name.',
            )
        )
        conns = {}
    return (nodes, conns, wf.get("settings")), out


def _too_many_nodes(nodes: list[Any]) -> list[Issue]:
    if len(nodes) <= MAX_NODES:
        return []
    return [
        Issue(
            "too_many_nodes",
            f"The workflow has {len(nodes)} nodes; Clixen deploys (and draws) at most {MAX_NODES}.",
            hint="Split it into workflows that call each other (Execute Workflow), or "
            "remove nodes.",
        )
    ]


def check_node_shape(
    ctx: Context, i: int, raw: object
) -> tuple[dict[str, Any] | None, list[Issue]]:
    """The `i`-th node if it has a name and a type (else None), and what is wrong with its
    shape and fields."""
    out: list[Issue] = []
    if not isinstance(raw, dict):
        out.append(
            Issue(
                "invalid_json_shape",
                f"Node #{i + 1} must be a JSON object, not {json_kind(raw)}.",
                hint=HINT_NODES,
            )
        )
        return None, out
    name = raw.get("name")
    label = name if isinstance(name, str) and name else None
    if label is None:
        out.append(
            Issue(
                "missing_field",
                f'Node #{i + 1} has no "name".',
                hint="Give every node a unique, non-empty name.",
            )
        )
        return None, out
    ntype = raw.get("type")
    if not isinstance(ntype, str) or not ntype:
        out.append(
            Issue(
                "missing_field",
                f'Node "{label}" has no "type".',
                node=label,
                hint='Set "type" to a full node type such as "n8n-nodes-base.httpRequest".',
            )
        )
        return None, out
    return raw, [*out, *_check_node_fields(ctx, label, ntype, raw)]


def _check_node_fields(ctx: Context, label: str, ntype: str, raw: dict[str, Any]) -> list[Issue]:
    """A named, typed node's typeVersion, position, parameters and field types."""
    out: list[Issue] = []
    if "typeVersion" not in raw:
        out.append(
            Issue(
                "missing_field",
                f'Node "{label}" has no "typeVersion" (n8n would run it as another version).',
                node=label,
                hint=_version_hint(ctx, ntype),
            )
        )
    elif not is_number(raw["typeVersion"]):
        out.append(
            Issue(
                "invalid_json_shape",
                f'Node "{label}" has a typeVersion that is not a number.',
                node=label,
                hint=_version_hint(ctx, ntype),
            )
        )
    pos = raw.get("position")
    if pos is None:
        out.append(
            Issue(
                "missing_field",
                f'Node "{label}" has no "position".',
                node=label,
                hint="Give the node a position of two numbers, e.g. [250, 300].",
            )
        )
    elif not (isinstance(pos, list) and len(pos) == 2 and all(is_number(p) for p in pos)):
        out.append(
            Issue(
                "bad_position",
                f'Node "{label}" has a position that is not two numbers.',
                node=label,
                hint="Set position to two numbers, e.g. [250, 300].",
            )
        )
    return [*out, *_check_parameters_field(label, ntype, raw), *check_field_types(label, raw)]


def _check_parameters_field(label: str, ntype: str, raw: dict[str, Any]) -> list[Issue]:
    out: list[Issue] = []
    params = raw.get("parameters")
    if (params is not None or "parameters" in raw) and not isinstance(params, dict):
        out.append(
            Issue(
                "invalid_json_shape",
                f'Node "{label}" has "parameters" that are not an object ({json_kind(params)}).',
                node=label,
                hint='Make "parameters" a JSON object of the node\'s settings.',
            )
        )
    elif params is None and ntype != STICKY_NOTE:
        out.append(
            Issue(
                "missing_field",
                f'Node "{label}" has no "parameters" (it would run on defaults only).',
                node=label,
                hint='Add the node\'s "parameters" object with the settings it needs.',
                severity="warning",
            )
        )
    return out


def check_field_types(label: str, raw: dict[str, Any]) -> list[Issue]:
    out: list[Issue] = []
    for key, kind in NODE_FIELD_TYPES.items():
        if key not in raw or has_kind(raw[key], kind):
            continue
        out.append(
            Issue(
                "invalid_field_type",
                f'Node "{label}" has "{key}" as {json_kind(raw[key])}; n8n only accepts '
                f"{KIND_NAMES[kind]} there.",
                node=label,
                hint=field_hint(key, kind),
            )
        )
    on_error = raw.get("onError")
    if isinstance(on_error, str) and on_error not in ON_ERROR:
        out.append(
            Issue(
                "invalid_field_type",
                f'Node "{label}" has onError "{on_error}", which n8n does not know.',
                node=label,
                hint=f"Set onError to one of {', '.join(ON_ERROR)}, or leave it out.",
                severity="warning",
            )
        )
    return out


def check_node_id(node: dict[str, Any], first: str | None) -> list[Issue]:
    """A node whose id an earlier node (`first`, by name) already has."""
    node_id = node.get("id")
    if first is None or not isinstance(node_id, str) or not node_id:
        return []  # n8n fills in absent and empty ids itself
    return [
        Issue(
            "duplicate_node_id",
            f'Nodes "{first}" and "{node["name"]}" share the node id "{node_id}".',
            node["name"],
            hint=f'Give "{node["name"]}" its own unique id (a new UUID), or leave its "id" out.',
        )
    ]


def check_settings(settings: object) -> list[Issue]:
    out: list[Issue] = []
    if settings is None:
        return out
    if not isinstance(settings, dict):
        out.append(
            Issue(
                "invalid_json_shape",
                f'"settings" must be an object, not {json_kind(settings)}; it is replaced by '
                "the defaults.",
                hint='Make "settings" an object such as {"executionOrder": "v1"}.',
                severity="warning",
            )
        )
        return out
    for key, kind in SETTING_TYPES.items():
        if key not in settings:
            continue
        value = settings[key]
        if isinstance(kind, tuple):
            if value in kind and isinstance(value, str):
                continue
            allowed = ", ".join(f'"{v}"' for v in kind)
            out.append(
                Issue(
                    "invalid_field_type",
                    f"settings.{key} is {shown(value)}; n8n only accepts {allowed}.",
                    hint=f"Set settings.{key} to one of {allowed}, or leave it out.",
                )
            )
        elif not has_kind(value, kind):
            out.append(
                Issue(
                    "invalid_field_type",
                    f"settings.{key} is {json_kind(value)}; n8n only accepts "
                    f"{KIND_NAMES[kind]} there.",
                    hint=f"Set settings.{key} to {KIND_NAMES[kind]}, or leave it out.",
                )
            )
    order = settings.get("executionOrder")
    if isinstance(order, str) and order not in EXECUTION_ORDER:
        out.append(
            Issue(
                "invalid_field_type",
                f'settings.executionOrder is "{order}", which n8n does not know.',
                hint='Set settings.executionOrder to "v1".',
                severity="warning",
            )
        )
    return out


def _version_hint(ctx: Context, ntype: str) -> str:
    spec = ctx.catalog.get(ntype)
    if spec is None:
        return "Set typeVersion to a number the node type supports."
    return f"Set typeVersion to {fmt_version(spec.latest_version)} (the newest supported)."


def _deny(ctx: Context, name: str, denied: str, spec: NodeSpec | None) -> list[Issue]:
    out: list[Issue] = []
    assert ctx.policy is not None
    known = spec or ctx.catalog.get(denied)
    shown = known.display_name if known is not None else denied
    out.append(
        Issue(
            "node_denied",
            f'Node "{name}" ({shown}) is not allowed in this project: {ctx.policy.why(denied)}',
            node=name,
            hint=f"Remove the {shown} node and reach the goal with allowed "
            "nodes (e.g. the HTTP Request or Code node).",
        )
    )
    return out


def check_node_type(ctx: Context, node: dict[str, Any]) -> tuple[NodeSpec | None, list[Issue]]:
    """The node's spec when its type is known, allowed and loaded (else None), and what is
    wrong with its type or version."""
    name, ntype = node["name"], node["type"]
    spec = ctx.catalog.get(ntype)
    denied = denied_type(ctx, ntype)
    if denied is not None:
        # The policy speaks first: "not allowed, and why" is what the user and the repair
        # prompt must hear, even for types this n8n would not load anyway, and for any
        # spelling or AI-tool variant of a denied type.
        return None, _deny(ctx, name, denied, spec)
    if ntype in NOT_LOADED_BY_DEFAULT:
        return None, [
            Issue(
                "unknown_node_type",
                f'Node "{name}" uses "{ntype}", which n8n 2.x does not load by default '
                "(it would fail at activation).",
                node=name,
                hint=NOT_LOADED_BY_DEFAULT[ntype],
            )
        ]
    if spec is None:
        return None, _unknown_type(ctx, name, ntype)
    tv = node.get("typeVersion")
    if not is_number(tv) or spec.version_class(float(tv)) is not None:
        return spec, []
    supported = ", ".join(fmt_version(v) for v in spec.versions)
    return spec, [
        Issue(
            "unknown_type_version",
            f'Node "{name}" ({ntype}) has typeVersion {tv}, which this n8n does not have '
            f"(supported: {supported}).",
            node=name,
            hint=f"Set typeVersion to {fmt_version(spec.latest_version)} "
            "and use that version's parameters.",
        )
    ]


def _unknown_type(ctx: Context, name: str, ntype: str) -> list[Issue]:
    """A type the catalog does not have: another package's, or the closest known one to use."""
    if not ntype.startswith(KNOWN_PREFIXES) and "." in ntype:
        return [
            Issue(
                "unknown_node_type",
                f'Node "{name}" uses "{ntype}", a community or unknown package this n8n '
                "does not have (it would fail at activation).",
                node=name,
                hint="Use a built-in n8n node (n8n-nodes-base.* or "
                "@n8n/n8n-nodes-langchain.*) or the HTTP Request node instead.",
            )
        ]
    # An unprefixed name most likely means the n8n-nodes-base node ("code": the Code node).
    closest = (
        "." not in ntype and ctx.catalog.closest_type(BASE_PREFIX + ntype)
    ) or ctx.catalog.closest_type(ntype)
    if closest and (denied := denied_type(ctx, closest)) is not None:
        # Never suggest a denied type: "executeComand" means the denied node.
        return _deny(ctx, name, denied, ctx.catalog.get(closest))
    return [
        Issue(
            "unknown_node_type",
            f'Node "{name}" has unknown type "{ntype}".',
            node=name,
            hint=f'Use "{closest}".'
            if closest
            else "Use a node type from the n8n catalog, e.g. n8n-nodes-base.httpRequest.",
        )
    ]


# -- parameters -----------------------------------------------------------------------------


def check_parameters(node: dict[str, Any], spec: NodeSpec, *, severity: Severity) -> list[Issue]:
    out: list[Issue] = []
    tv = node.get("typeVersion")
    version = float(tv) if is_number(tv) else spec.default_version
    vc = spec.version_class(version)
    params = node.get("parameters")
    if vc is None or ("parameters" in node and not isinstance(params, dict)):
        return out  # a malformed "parameters" is reported once, by check_node_shape
    ctx = ParamContext(version, spec.type)
    values = with_defaults(vc, params or {}, ctx)
    missing = [p for p in vc.params if p.required and is_missing(p, values, ctx)]
    seen: set[str] = set()
    for p in vc.params:
        if p.modes is None or p.name in seen:
            continue
        bad = locator_mismatch(p, values, ctx)
        if bad is None:
            continue
        seen.add(p.name)
        out.append(
            Issue(
                "invalid_parameter_value",
                f'Node "{node["name"]}" ({spec.display_name}): parameter "{p.name}" in mode '
                f'"{bad[0]}" has a value n8n rejects ({bad[1]!r}).',
                node=node["name"],
                hint=f"Give parameters.{p.name} a value of the form n8n expects for mode "
                f'"{bad[0]}" (or use mode "id" with a real id, or an expression).',
                severity=severity,
            )
        )
    for p in missing:
        if p.name in seen:
            continue
        seen.add(p.name)
        out.append(
            Issue(
                "missing_required_parameter",
                f'Node "{node["name"]}" ({spec.display_name}) is missing the required '
                f'parameter "{p.name}".',
                node=node["name"],
                hint=f'Set parameters.{p.name} on "{node["name"]}"'
                + (
                    ' (a resource locator: {"__rl": true, "mode": "id", "value": …}).'
                    if p.type == "resourceLocator"
                    else "."
                ),
                severity=severity,
            )
        )
    return out


# -- expressions ----------------------------------------------------------------------------


def check_expressions(name: str, params: object) -> list[Issue]:
    out: list[Issue] = []
    for path, text in expression_strings(params, "parameters"):
        # No exception for $fromAI(…): at run time n8n evaluates it as plain JavaScript, so an
        # unbalanced bracket or an unescaped quote fails there too (checked on n8n 2.40.7).
        problem, fatal = expression_problem(text)
        if problem:
            out.append(
                Issue(
                    "expression_syntax",
                    f'Node "{name}", {path}: {problem}.',
                    node=name,
                    hint="Fix the expression so every {{ has a matching }} and brackets, "
                    "parentheses and quotes inside it are balanced.",
                    severity="error" if fatal else "warning",
                )
            )
    return out


# -- connections ----------------------------------------------------------------------------
