"""Checks of each node on its own: shape, field types, id, settings, type, version, policy,
required parameters and expression syntax."""

from __future__ import annotations

from typing import Any

from core.catalog import BASE_PREFIX, KNOWN_PREFIXES, NodeSpec
from core.validation.base import Checks
from core.validation.expressions import expression_problem, expression_strings
from core.validation.parameters import ParamContext, is_missing, locator_mismatch, with_defaults
from core.validation.report import Severity
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


class NodeChecks(Checks):
    # -- nodes ----------------------------------------------------------------------------------

    def check_node_shape(self, i: int, raw: object) -> dict[str, Any] | None:
        if not isinstance(raw, dict):
            self.add(
                "invalid_json_shape",
                f"Node #{i + 1} must be a JSON object, not {json_kind(raw)}.",
                hint=HINT_NODES,
            )
            return None
        name = raw.get("name")
        label = name if isinstance(name, str) and name else None
        if label is None:
            self.add(
                "missing_field",
                f'Node #{i + 1} has no "name".',
                hint="Give every node a unique, non-empty name.",
            )
            return None
        ntype = raw.get("type")
        if not isinstance(ntype, str) or not ntype:
            self.add(
                "missing_field",
                f'Node "{label}" has no "type".',
                node=label,
                hint='Set "type" to a full node type such as "n8n-nodes-base.httpRequest".',
            )
            return None
        if "typeVersion" not in raw:
            self.add(
                "missing_field",
                f'Node "{label}" has no "typeVersion" (n8n would run it as another version).',
                node=label,
                hint=self._version_hint(ntype),
            )
        elif not is_number(raw["typeVersion"]):
            self.add(
                "invalid_json_shape",
                f'Node "{label}" has a typeVersion that is not a number.',
                node=label,
                hint=self._version_hint(ntype),
            )
        pos = raw.get("position")
        if pos is None:
            self.add(
                "missing_field",
                f'Node "{label}" has no "position".',
                node=label,
                hint="Give the node a position of two numbers, e.g. [250, 300].",
            )
        elif not (isinstance(pos, list) and len(pos) == 2 and all(is_number(p) for p in pos)):
            self.add(
                "bad_position",
                f'Node "{label}" has a position that is not two numbers.',
                node=label,
                hint="Set position to two numbers, e.g. [250, 300].",
            )
        params = raw.get("parameters")
        if (params is not None or "parameters" in raw) and not isinstance(params, dict):
            self.add(
                "invalid_json_shape",
                f'Node "{label}" has "parameters" that are not an object ({json_kind(params)}).',
                node=label,
                hint='Make "parameters" a JSON object of the node\'s settings.',
            )
        elif params is None and ntype != STICKY_NOTE:
            self.add(
                "missing_field",
                f'Node "{label}" has no "parameters" (it would run on defaults only).',
                node=label,
                hint='Add the node\'s "parameters" object with the settings it needs.',
                severity="warning",
            )
        self.check_field_types(label, raw)
        return raw

    def check_field_types(self, label: str, raw: dict[str, Any]) -> None:
        for key, kind in NODE_FIELD_TYPES.items():
            if key not in raw or has_kind(raw[key], kind):
                continue
            self.add(
                "invalid_field_type",
                f'Node "{label}" has "{key}" as {json_kind(raw[key])}; n8n only accepts '
                f"{KIND_NAMES[kind]} there.",
                node=label,
                hint=field_hint(key, kind),
            )
        on_error = raw.get("onError")
        if isinstance(on_error, str) and on_error not in ON_ERROR:
            self.add(
                "invalid_field_type",
                f'Node "{label}" has onError "{on_error}", which n8n does not know.',
                node=label,
                hint=f"Set onError to one of {', '.join(ON_ERROR)}, or leave it out.",
                severity="warning",
            )

    def check_node_id(self, node: dict[str, Any], names_by_id: dict[str, str]) -> None:
        node_id = node.get("id")
        if not isinstance(node_id, str) or not node_id:
            return  # n8n fills in absent and empty ids itself
        first = names_by_id.get(node_id)
        if first is None:
            names_by_id[node_id] = node["name"]
            return
        self.add(
            "duplicate_node_id",
            f'Nodes "{first}" and "{node["name"]}" share the node id "{node_id}".',
            node=node["name"],
            hint=f'Give "{node["name"]}" its own unique id (a new UUID), or leave its "id" out.',
        )

    def check_settings(self, settings: object) -> None:
        if settings is None:
            return
        if not isinstance(settings, dict):
            self.add(
                "invalid_json_shape",
                f'"settings" must be an object, not {json_kind(settings)}; it is replaced by '
                "the defaults.",
                hint='Make "settings" an object such as {"executionOrder": "v1"}.',
                severity="warning",
            )
            return
        for key, kind in SETTING_TYPES.items():
            if key not in settings:
                continue
            value = settings[key]
            if isinstance(kind, tuple):
                if value in kind and isinstance(value, str):
                    continue
                allowed = ", ".join(f'"{v}"' for v in kind)
                self.add(
                    "invalid_field_type",
                    f"settings.{key} is {shown(value)}; n8n only accepts {allowed}.",
                    hint=f"Set settings.{key} to one of {allowed}, or leave it out.",
                )
            elif not has_kind(value, kind):
                self.add(
                    "invalid_field_type",
                    f"settings.{key} is {json_kind(value)}; n8n only accepts "
                    f"{KIND_NAMES[kind]} there.",
                    hint=f"Set settings.{key} to {KIND_NAMES[kind]}, or leave it out.",
                )
        order = settings.get("executionOrder")
        if isinstance(order, str) and order not in EXECUTION_ORDER:
            self.add(
                "invalid_field_type",
                f'settings.executionOrder is "{order}", which n8n does not know.',
                hint='Set settings.executionOrder to "v1".',
                severity="warning",
            )

    def _version_hint(self, ntype: str) -> str:
        spec = self.catalog.get(ntype)
        if spec is None:
            return "Set typeVersion to a number the node type supports."
        return f"Set typeVersion to {fmt_version(spec.latest_version)} (the newest supported)."

    def _deny(self, name: str, denied: str, spec: NodeSpec | None) -> None:
        assert self.policy is not None
        known = spec or self.catalog.get(denied)
        shown = known.display_name if known is not None else denied
        self.add(
            "node_denied",
            f'Node "{name}" ({shown}) is not allowed in this project: {self.policy.why(denied)}',
            node=name,
            hint=f"Remove the {shown} node and reach the goal with allowed "
            "nodes (e.g. the HTTP Request or Code node).",
        )

    def check_node_type(self, node: dict[str, Any]) -> NodeSpec | None:
        name, ntype = node["name"], node["type"]
        spec = self.catalog.get(ntype)
        denied = self.denied_type(ntype)
        if denied is not None:
            # The policy speaks first: "not allowed, and why" is what the user and the repair
            # prompt must hear, even for types this n8n would not load anyway, and for any
            # spelling or AI-tool variant of a denied type.
            self._deny(name, denied, spec)
            return None
        if ntype in NOT_LOADED_BY_DEFAULT:
            self.add(
                "unknown_node_type",
                f'Node "{name}" uses "{ntype}", which n8n 2.x does not load by default '
                "(it would fail at activation).",
                node=name,
                hint=NOT_LOADED_BY_DEFAULT[ntype],
            )
            return None
        if spec is None:
            if not ntype.startswith(KNOWN_PREFIXES) and "." in ntype:
                self.add(
                    "unknown_node_type",
                    f'Node "{name}" uses "{ntype}", a community or unknown package this n8n '
                    "does not have (it would fail at activation).",
                    node=name,
                    hint="Use a built-in n8n node (n8n-nodes-base.* or "
                    "@n8n/n8n-nodes-langchain.*) or the HTTP Request node instead.",
                )
                return None
            # An unprefixed name most likely means the n8n-nodes-base node ("code": the Code node).
            closest = (
                "." not in ntype and self.catalog.closest_type(BASE_PREFIX + ntype)
            ) or self.catalog.closest_type(ntype)
            if closest and (denied := self.denied_type(closest)) is not None:
                # Never suggest a denied type: "executeComand" means the denied node.
                self._deny(name, denied, self.catalog.get(closest))
                return None
            self.add(
                "unknown_node_type",
                f'Node "{name}" has unknown type "{ntype}".',
                node=name,
                hint=f'Use "{closest}".'
                if closest
                else "Use a node type from the n8n catalog, e.g. n8n-nodes-base.httpRequest.",
            )
            return None
        tv = node.get("typeVersion")
        if is_number(tv) and spec.version_class(float(tv)) is None:
            supported = ", ".join(fmt_version(v) for v in spec.versions)
            self.add(
                "unknown_type_version",
                f'Node "{name}" ({ntype}) has typeVersion {tv}, which this n8n does not have '
                f"(supported: {supported}).",
                node=name,
                hint=f"Set typeVersion to {fmt_version(spec.latest_version)} "
                "and use that version's parameters.",
            )
        return spec

    # -- parameters -----------------------------------------------------------------------------

    def check_parameters(self, node: dict[str, Any], spec: NodeSpec, *, severity: Severity) -> None:
        tv = node.get("typeVersion")
        version = float(tv) if is_number(tv) else spec.default_version
        vc = spec.version_class(version)
        params = node.get("parameters")
        if vc is None or ("parameters" in node and not isinstance(params, dict)):
            return  # a malformed "parameters" is reported once, by check_node_shape
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
            self.add(
                "invalid_parameter_value",
                f'Node "{node["name"]}" ({spec.display_name}): parameter "{p.name}" in mode '
                f'"{bad[0]}" has a value n8n rejects ({bad[1]!r}).',
                node=node["name"],
                hint=f"Give parameters.{p.name} a value of the form n8n expects for mode "
                f'"{bad[0]}" (or use mode "id" with a real id, or an expression).',
                severity=severity,
            )
        for p in missing:
            if p.name in seen:
                continue
            seen.add(p.name)
            self.add(
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

    # -- expressions ----------------------------------------------------------------------------

    def check_expressions(self, name: str, params: object) -> None:
        for path, text in expression_strings(params, "parameters"):
            # No exception for $fromAI(…): at run time n8n evaluates it as plain JavaScript, so an
            # unbalanced bracket or an unescaped quote fails there too (checked on n8n 2.40.7).
            problem, fatal = expression_problem(text)
            if problem:
                self.add(
                    "expression_syntax",
                    f'Node "{name}", {path}: {problem}.',
                    node=name,
                    hint="Fix the expression so every {{ has a matching }} and brackets, "
                    "parentheses and quotes inside it are balanced.",
                    severity="error" if fatal else "warning",
                )

    # -- connections ----------------------------------------------------------------------------
