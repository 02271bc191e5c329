"""Our in-process validator of n8n workflow JSON: fast, no network, tuned to what n8n rejects.

Each issue carries a `hint`: one actionable sentence the repair prompt can pass to the LLM.
Rules follow what n8n 2.40.7 itself does (see docs/architecture.md and the shared design notes):
errors are things n8n rejects at create/activation or that fail for sure at run time; warnings
are likely mistakes that n8n accepts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, TypeGuard

from core.catalog import (
    KNOWN_PREFIXES,
    NodeCatalog,
    NodeSpec,
    ParamSpec,
    VersionClass,
    default_catalog,
)
from core.policy import NodePolicy

Severity = Literal["error", "warning"]
# Node types in n8n's catalog that n8n 2.x leaves out unless an admin enables them.
NOT_LOADED_BY_DEFAULT = {
    "n8n-nodes-base.executeCommand": "Remove the Execute Command node; use an HTTP Request or "
    "Code node instead.",
    "n8n-nodes-base.localFileTrigger": "Replace the Local File Trigger with a Schedule Trigger "
    "or a Webhook.",
}
STICKY_NOTE = "n8n-nodes-base.stickyNote"

CODES = (
    "invalid_json_shape",
    "missing_field",
    "duplicate_node_name",
    "unknown_node_type",
    "unknown_type_version",
    "missing_required_parameter",
    "dangling_connection",
    "connection_by_id",
    "output_index_out_of_range",
    "bad_position",
    "no_trigger",
    "expression_syntax",
    "unreachable_node",
    "node_denied",
    "invalid_parameter_value",
    "duplicate_node_id",
    "invalid_field_type",
)

# What n8n's create endpoint (POST /api/v1/workflows) accepts in each node field and setting;
# anything else, null included, is a 400 (each checked on n8n 2.40.7). `name`, `type`,
# `typeVersion`, `position` and `parameters` have their own checks below.
_NODE_FIELD_TYPES: dict[str, str] = {
    "id": "string",
    "webhookId": "string",
    "notes": "string",
    "onError": "string",
    "disabled": "boolean",
    "notesInFlow": "boolean",
    "executeOnce": "boolean",
    "alwaysOutputData": "boolean",
    "retryOnFail": "boolean",
    "continueOnFail": "boolean",
    "maxTries": "number",
    "waitBetweenTries": "number",
    "credentials": "object",
}
_SETTING_TYPES: dict[str, str | tuple[str, ...]] = {
    "saveExecutionProgress": "boolean",
    "saveManualExecutions": "boolean",
    "availableInMCP": "boolean",
    "executionTimeout": "number",
    "timeSavedPerExecution": "number",
    "errorWorkflow": "string",
    "timezone": "string",
    "executionOrder": "string",
    "callerIds": "string",
    "saveDataErrorExecution": ("all", "none"),
    "saveDataSuccessExecution": ("all", "none"),
    "callerPolicy": ("any", "none", "workflowsFromAList", "workflowsFromSameOwner"),
}
# Accepted at create, but n8n only knows these values (others behave like the default).
_ON_ERROR = ("stopWorkflow", "continueRegularOutput", "continueErrorOutput")
_EXECUTION_ORDER = ("v0", "v1")


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found in a workflow."""

    code: str
    message: str
    node: str | None = None
    severity: Severity = "error"
    hint: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "node": self.node,
            "severity": self.severity,
            "hint": self.hint,
        }

    def brief(self) -> dict[str, Any]:
        """The fields that say something (no severity, no empty ones): what a prompt shows."""
        full = {"code": self.code, "node": self.node, "message": self.message, "hint": self.hint}
        return {k: v for k, v in full.items() if v}

    def plain(self) -> str:
        """One line for a person: `Node: message`."""
        return f"{self.node}: {self.message}" if self.node else self.message

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Issue:
        """An issue from `to_dict()`/`brief()` output, as stored in a run's context."""
        severity: Severity = "warning" if data.get("severity") == "warning" else "error"
        return cls(
            code=str(data.get("code") or "error"),
            message=str(data.get("message") or ""),
            node=data.get("node") or None,
            severity=severity,
            hint=str(data.get("hint") or ""),
        )


@dataclass(slots=True)
class ValidationReport:
    """All issues found; `valid` means no error-severity issue."""

    issues: list[Issue] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def valid(self) -> bool:
        return not any(i.severity == "error" for i in self.issues)

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "errors": [i.to_dict() for i in self.errors],
            "warnings": [i.to_dict() for i in self.warnings],
        }


def validate(
    wf: object,
    *,
    catalog: NodeCatalog | None = None,
    policy: NodePolicy | None = None,
) -> ValidationReport:
    """Check a workflow (parsed JSON) against the node catalog and the node policy."""
    v = _Validator(catalog or default_catalog(), policy)
    v.run(wf)
    return ValidationReport(v.issues)


# ---------------------------------------------------------------------------------------------


class _Missing:
    """JavaScript's `undefined` (a parameter that is not set)."""

    def __repr__(self) -> str:
        return "undefined"


MISSING: Any = _Missing()


def _fmt_version(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


def _is_number(x: object) -> TypeGuard[int | float]:
    return isinstance(x, int | float) and not isinstance(x, bool)


class _Validator:
    def __init__(self, catalog: NodeCatalog, policy: NodePolicy | None) -> None:
        self.catalog = catalog
        self.policy = policy
        self.issues: list[Issue] = []

    def add(
        self,
        code: str,
        message: str,
        *,
        node: str | None = None,
        hint: str = "",
        severity: Severity = "error",
    ) -> None:
        self.issues.append(Issue(code, message, node, severity, hint))

    # -- top level ------------------------------------------------------------------------------

    def run(self, wf: object) -> None:
        if not isinstance(wf, dict):
            self.add(
                "invalid_json_shape",
                f"The workflow must be a JSON object, not {_json_kind(wf)}.",
                hint='Return one JSON object with "name", "nodes" and "connections".',
            )
            return
        if not isinstance(wf.get("name"), str) or not wf.get("name"):
            self.add(
                "missing_field",
                'The workflow has no "name".',
                hint='Add a short descriptive "name" to the workflow.',
                severity="warning",
            )
        nodes_raw = wf.get("nodes")
        if nodes_raw is None:
            self.add("missing_field", 'The workflow has no "nodes" list.', hint=_HINT_NODES)
            return
        if not isinstance(nodes_raw, list):
            self.add(
                "invalid_json_shape",
                f'"nodes" must be a list, not {_json_kind(nodes_raw)}.',
                hint=_HINT_NODES,
            )
            return
        conns = wf.get("connections")
        if conns is None:
            self.add(
                "missing_field",
                'The workflow has no "connections" object.',
                hint='Add "connections": an object keyed by source node name.',
            )
            conns = {}
        elif not isinstance(conns, dict):
            self.add(
                "invalid_json_shape",
                f'"connections" must be an object keyed by node name, not {_json_kind(conns)}.',
                hint='Make "connections" an object keyed by source node name.',
            )
            conns = {}

        self.check_settings(wf.get("settings"))
        nodes: dict[str, dict[str, Any]] = {}
        specs: dict[str, NodeSpec | None] = {}
        names_by_id: dict[str, str] = {}
        for i, raw in enumerate(nodes_raw):
            node = self.check_node_shape(i, raw)
            if node is None:
                continue
            name = node["name"]
            self.check_node_id(node, names_by_id)
            if name in nodes:
                self.add(
                    "duplicate_node_name",
                    f'Two nodes are named "{name}".',
                    node=name,
                    hint=f'Rename one of the nodes called "{name}" and update its connections.',
                )
                continue
            nodes[name] = node
            specs[name] = self.check_node_type(node)

        edges = self.check_connections(conns, nodes, specs)
        connected = {s for s, _, _ in edges} | {t for _, t, _ in edges}
        for name, node in nodes.items():
            spec = specs[name]
            if spec is None or node.get("disabled") is True:
                continue
            if spec.type == STICKY_NOTE:
                continue
            # n8n only checks parameters of nodes that are wired in or start runs.
            wired = name in connected or spec.is_trigger
            self.check_parameters(node, spec, severity="error" if wired else "warning")
        for name, node in nodes.items():
            if specs.get(name) is not None and specs[name].type == STICKY_NOTE:  # type: ignore[union-attr]
                continue
            self.check_expressions(name, node.get("parameters"))
        self.check_triggers_and_reachability(nodes, specs, edges)

    # -- nodes ----------------------------------------------------------------------------------

    def check_node_shape(self, i: int, raw: object) -> dict[str, Any] | None:
        if not isinstance(raw, dict):
            self.add(
                "invalid_json_shape",
                f"Node #{i + 1} must be a JSON object, not {_json_kind(raw)}.",
                hint=_HINT_NODES,
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
        elif not _is_number(raw["typeVersion"]):
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
        elif not (isinstance(pos, list) and len(pos) == 2 and all(_is_number(p) for p in pos)):
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
                f'Node "{label}" has "parameters" that are not an object ({_json_kind(params)}).',
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
        for key, kind in _NODE_FIELD_TYPES.items():
            if key not in raw or _has_kind(raw[key], kind):
                continue
            self.add(
                "invalid_field_type",
                f'Node "{label}" has "{key}" as {_json_kind(raw[key])}; n8n only accepts '
                f"{_KIND_NAMES[kind]} there.",
                node=label,
                hint=_field_hint(key, kind),
            )
        on_error = raw.get("onError")
        if isinstance(on_error, str) and on_error not in _ON_ERROR:
            self.add(
                "invalid_field_type",
                f'Node "{label}" has onError "{on_error}", which n8n does not know.',
                node=label,
                hint=f"Set onError to one of {', '.join(_ON_ERROR)}, or leave it out.",
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
                f'"settings" must be an object, not {_json_kind(settings)}; it is replaced by '
                "the defaults.",
                hint='Make "settings" an object such as {"executionOrder": "v1"}.',
                severity="warning",
            )
            return
        for key, kind in _SETTING_TYPES.items():
            if key not in settings:
                continue
            value = settings[key]
            if isinstance(kind, tuple):
                if value in kind and isinstance(value, str):
                    continue
                allowed = ", ".join(f'"{v}"' for v in kind)
                self.add(
                    "invalid_field_type",
                    f"settings.{key} is {_shown(value)}; n8n only accepts {allowed}.",
                    hint=f"Set settings.{key} to one of {allowed}, or leave it out.",
                )
            elif not _has_kind(value, kind):
                self.add(
                    "invalid_field_type",
                    f"settings.{key} is {_json_kind(value)}; n8n only accepts "
                    f"{_KIND_NAMES[kind]} there.",
                    hint=f"Set settings.{key} to {_KIND_NAMES[kind]}, or leave it out.",
                )
        order = settings.get("executionOrder")
        if isinstance(order, str) and order not in _EXECUTION_ORDER:
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
        return f"Set typeVersion to {_fmt_version(spec.latest_version)} (the newest supported)."

    def _deny(self, name: str, ntype: str, spec: NodeSpec | None) -> None:
        assert self.policy is not None
        shown = spec.display_name if spec is not None else ntype
        self.add(
            "node_denied",
            f'Node "{name}" ({shown}) is not allowed in this project: {self.policy.why(ntype)}',
            node=name,
            hint=f"Remove the {shown} node and reach the goal with allowed "
            "nodes (e.g. the HTTP Request or Code node).",
        )

    def check_node_type(self, node: dict[str, Any]) -> NodeSpec | None:
        name, ntype = node["name"], node["type"]
        spec = self.catalog.get(ntype)
        if self.policy is not None and self.policy.is_denied(ntype):
            # The policy speaks first: "not allowed, and why" is what the user and the repair
            # prompt must hear, even for types this n8n would not load anyway.
            self._deny(name, ntype, spec)
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
            closest = self.catalog.closest_type(ntype)
            if closest and self.policy is not None and self.policy.is_denied(closest):
                # Never suggest a denied type: "executeCommand" means the denied node.
                self._deny(name, closest, self.catalog.get(closest))
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
        if _is_number(tv) and spec.version_class(float(tv)) is None:
            supported = ", ".join(_fmt_version(v) for v in spec.versions)
            self.add(
                "unknown_type_version",
                f'Node "{name}" ({ntype}) has typeVersion {tv}, which this n8n does not have '
                f"(supported: {supported}).",
                node=name,
                hint=f"Set typeVersion to {_fmt_version(spec.latest_version)} "
                "and use that version's parameters.",
            )
        return spec

    # -- parameters -----------------------------------------------------------------------------

    def check_parameters(self, node: dict[str, Any], spec: NodeSpec, *, severity: Severity) -> None:
        tv = node.get("typeVersion")
        version = float(tv) if _is_number(tv) else spec.default_version
        vc = spec.version_class(version)
        params = node.get("parameters")
        if vc is None or ("parameters" in node and not isinstance(params, dict)):
            return  # a malformed "parameters" is reported once, by check_node_shape
        ctx = _ParamContext(version, spec.type)
        values = _with_defaults(vc, params or {}, ctx)
        missing = [p for p in vc.params if p.required and _is_missing(p, values, ctx)]
        seen: set[str] = set()
        for p in vc.params:
            if p.modes is None or p.name in seen:
                continue
            bad = _locator_mismatch(p, values, ctx)
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
        for path, text in _expression_strings(params, "parameters"):
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

    def check_connections(
        self,
        conns: dict[str, Any],
        nodes: dict[str, dict[str, Any]],
        specs: dict[str, NodeSpec | None],
    ) -> list[tuple[str, str, str]]:
        """Check connections; returns the valid edges as (source, target, connection type)."""
        ids = {n.get("id"): name for name, n in nodes.items() if isinstance(n.get("id"), str)}
        edges: list[tuple[str, str, str]] = []
        reported: set[tuple[str, str]] = set()

        def bad_endpoint(ref: str, role: str, where: str | None) -> None:
            if (ref, role) in reported:
                return
            reported.add((ref, role))
            if ref in ids:
                self.add(
                    "connection_by_id",
                    f'A connection {role} is the node id "{ref}" instead of its name.',
                    node=ids[ref],
                    hint=f'Key connections by node name: use "{ids[ref]}" instead of "{ref}".',
                )
            else:
                self.add(
                    "dangling_connection",
                    f'A connection {role} "{ref}", which is not a node of this workflow.',
                    node=where,
                    hint=f"Remove the connection or point it at an existing node name "
                    f'instead of "{ref}".',
                )

        for src, by_type in conns.items():
            src_ok = src in nodes
            if not src_ok:
                bad_endpoint(src, "comes from", None)
            if not isinstance(by_type, dict):
                self.add(
                    "invalid_json_shape",
                    f'The connections of "{src}" must be an object keyed by connection type.',
                    node=src if src_ok else None,
                    hint='Write connections as {"Source": {"main": [[{"node": "Target", '
                    '"type": "main", "index": 0}]]}}.',
                )
                continue
            for ctype, outputs in by_type.items():
                if not isinstance(outputs, list):
                    self.add(
                        "invalid_json_shape",
                        f'Connections "{src}".{ctype} must be a list of outputs.',
                        node=src if src_ok else None,
                        hint=_HINT_CONN,
                    )
                    continue
                n_out = _output_count(nodes[src], specs.get(src), ctype) if src_ok else None
                for idx, targets in enumerate(outputs):
                    if targets is None:
                        continue
                    if not isinstance(targets, list):
                        self.add(
                            "invalid_json_shape",
                            f'Connections "{src}".{ctype}[{idx}] must be a list of targets.',
                            node=src if src_ok else None,
                            hint=_HINT_CONN,
                        )
                        continue
                    if targets and n_out is not None and idx >= n_out:
                        spec = specs.get(src)
                        label = spec.display_name if spec else src
                        self.add(
                            "output_index_out_of_range",
                            f'"{src}" ({label}) has {n_out} {ctype} output'
                            f"{'' if n_out == 1 else 's'}, but a connection uses output "
                            f"{idx} (counted from 0).",
                            node=src,
                            hint=f'Connect from outputs 0..{n_out - 1} of "{src}" only'
                            + (" (IF: 0 = true, 1 = false)." if label == "If" else "."),
                        )
                    for t in targets:
                        if not isinstance(t, dict) or not isinstance(t.get("node"), str):
                            self.add(
                                "invalid_json_shape",
                                f'A connection from "{src}" is not an object with a "node".',
                                node=src if src_ok else None,
                                hint=_HINT_CONN,
                            )
                            continue
                        self.check_connection_entry(src, ctype, idx, t, src_ok)
                        dst = t["node"]
                        if dst not in nodes:
                            bad_endpoint(dst, "goes to", src if src_ok else None)
                        elif src_ok:
                            edges.append((src, dst, str(t.get("type") or ctype)))
        return edges

    def check_connection_entry(
        self, src: str, ctype: str, idx: int, target: dict[str, Any], src_ok: bool
    ) -> None:
        # n8n's structure check: every entry has a non-empty "type" and an integer "index" >= 0.
        ttype, tindex = target.get("type"), target.get("index")
        where = f'The connection from "{src}" ({ctype}[{idx}]) to "{target["node"]}"'
        if not isinstance(ttype, str) or not ttype:
            problem = 'has no "type"' if ttype is None else '"type" is not a non-empty string'
        elif not _is_number(tindex) or not float(tindex).is_integer() or tindex < 0:
            problem = 'has no "index"' if tindex is None else '"index" is not a whole number >= 0'
        else:
            return
        self.add(
            "invalid_json_shape",
            f"{where}: {problem}.",
            node=src if src_ok else None,
            hint=_HINT_CONN,
        )

    # -- triggers and reachability --------------------------------------------------------------

    def check_triggers_and_reachability(
        self,
        nodes: dict[str, dict[str, Any]],
        specs: dict[str, NodeSpec | None],
        edges: list[tuple[str, str, str]],
    ) -> None:
        live = {n for n in nodes if nodes[n].get("disabled") is not True}
        triggers = {n for n in live if (s := specs.get(n)) is not None and s.is_trigger}
        manual = {n for n in live if (s := specs.get(n)) is not None and s.is_manual_trigger}
        unknown = any(specs.get(n) is None for n in live)
        if not triggers and not unknown:
            if manual:
                msg = (
                    "The workflow only has a manual trigger, which cannot run on its own, so "
                    "n8n will not activate it."
                )
            else:
                msg = "The workflow has no trigger node, so n8n will not activate it."
            self.add(
                "no_trigger",
                msg,
                hint="Start the workflow with a trigger such as Schedule Trigger "
                "(n8n-nodes-base.scheduleTrigger), Webhook or an app trigger.",
            )
        roots = triggers | manual
        if not roots:
            return
        forward: dict[str, set[str]] = {}
        for src, dst, ctype in edges:
            forward.setdefault(src, set()).add(dst)
            if ctype != "main":
                # Sub-nodes (models, tools, memory) feed their parent; they run with it.
                forward.setdefault(dst, set()).add(src)
        seen = set(roots)
        stack = list(roots)
        while stack:
            for nxt in forward.get(stack.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        for name in nodes:
            spec = specs.get(name)
            if name in seen or name not in live or (spec is not None and spec.type == STICKY_NOTE):
                continue
            self.add(
                "unreachable_node",
                f'Node "{name}" is not connected to any trigger, so it never runs.',
                node=name,
                hint=f'Connect "{name}" to the flow after the trigger, or remove it.',
                severity="warning",
            )


_KIND_NAMES = {
    "string": "a string",
    "boolean": "true or false",
    "number": "a number",
    "object": "an object",
}


def _has_kind(value: object, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "number":
        return _is_number(value)
    return isinstance(value, dict)


def _field_hint(key: str, kind: str) -> str:
    if key == "credentials":
        return (
            'Write credentials as an object keyed by credential type, e.g. {"slackApi": '
            '{"id": "…", "name": "…"}}, or leave "credentials" out.'
        )
    return f'Set "{key}" to {_KIND_NAMES[kind]}, or leave it out.'


def _shown(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else _json_kind(value)


_HINT_NODES = 'Make "nodes" a list of node objects with name, type, typeVersion, position.'
_HINT_CONN = (
    'Write connections as {"Source": {"main": [[{"node": "Target", "type": "main", "index": 0}]]}}.'
)


def _json_kind(x: object) -> str:
    if x is None:
        return "null"
    if isinstance(x, bool):
        return "a boolean"
    if isinstance(x, int | float):
        return "a number"
    if isinstance(x, str):
        return "a string"
    if isinstance(x, list):
        return "a list"
    return "an object"


# -- outputs ------------------------------------------------------------------------------------


def _output_count(node: dict[str, Any], spec: NodeSpec | None, ctype: str) -> int | None:
    """How many outputs of `ctype` the node has, or None when unknown (then nothing is checked)."""
    if spec is None:
        return None
    tv = node.get("typeVersion")
    vc = spec.version_class(float(tv) if _is_number(tv) else None)
    if vc is None:
        return None
    params = node.get("parameters") if isinstance(node.get("parameters"), dict) else {}
    extra = 1 if ctype == "main" and node.get("onError") == "continueErrorOutput" else 0
    if vc.outputs is None:
        n = _dynamic_outputs(spec.type, float(tv) if _is_number(tv) else None, params or {})
        return None if n is None or ctype != "main" else n + extra
    count = sum(1 for o in vc.outputs if o == ctype)
    if count == 0:
        return None  # n8n decides per parameters; be conservative
    if ctype == "main":
        count = max(count, vc.output_names)
    return count + extra


def _dynamic_outputs(
    node_type: str, version: float | None, params: Mapping[str, Any]
) -> int | None:
    if node_type == "n8n-nodes-base.switch" and version is not None and version >= 3:
        mode = params.get("mode", "rules")
        if mode == "expression":
            n = params.get("numberOutputs", 4)
            return n if _is_number(n) and not isinstance(n, float) else None
        if mode != "rules":
            return None
        rules = params.get("rules", {})
        values = rules.get("values") if isinstance(rules, dict) else None
        if values is None:
            values = []
        if not isinstance(values, list):
            return None
        options = params.get("options") if isinstance(params.get("options"), dict) else {}
        fallback = (options or {}).get("fallbackOutput")
        return len(values) + (1 if fallback == "extra" else 0) or None
    return None


# -- required parameters (mirrors n8n-workflow's displayParameter / addToIssuesIfMissing) -------


@dataclass(frozen=True, slots=True)
class _ParamContext:
    version: float
    node_type: str


def _get_path(values: Mapping[str, Any], path: str) -> Any:
    cur: Any = values
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            return MISSING
    return cur


def _property_values(values: Mapping[str, Any], key: str, ctx: _ParamContext) -> list[Any]:
    if key == "@version":
        value: Any = ctx.version or 0
    elif key == "@tool":
        value = ctx.node_type.endswith("Tool")
    elif key == "@feature":
        return []
    else:
        value = _get_path(values, key.lstrip("/"))
    if isinstance(value, dict) and value.get("__rl"):
        value = value.get("value", MISSING)
    return list(value) if isinstance(value, list) else [value]


def _js_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


def _compare(a: Any, b: Any, op: str) -> bool:
    if _is_number(a) and _is_number(b):
        return _ordered(float(a), float(b), op)
    if isinstance(a, str) and isinstance(b, str):
        return _ordered(a, b, op)
    return False


def _ordered(x: Any, y: Any, op: str) -> bool:
    if op == "gte":
        return bool(x >= y)
    if op == "lte":
        return bool(x <= y)
    if op == "gt":
        return bool(x > y)
    return bool(x < y)


def _check_conditions(conditions: Any, actual: list[Any]) -> bool:
    if not isinstance(conditions, list):
        conditions = [conditions]
    for cond in conditions:
        if isinstance(cond, dict) and "_cnd" in cond and len(cond) == 1:
            items = list((cond["_cnd"] or {}).items())
            if not items:
                continue
            key, target = items[0]
            if not actual:
                if key == "not":
                    return True
                continue
            if all(_cnd_one(key, target, v) for v in actual):
                return True
        elif any(_js_equal(v, cond) for v in actual):
            return True
    return False


def _cnd_one(key: str, target: Any, v: Any) -> bool:
    if key == "eq":
        return _js_equal(v, target)
    if key == "not":
        return not _js_equal(v, target)
    if key in ("gte", "lte", "gt", "lt"):
        return _compare(v, target, key)
    if key == "between" and isinstance(target, dict):
        return _compare(v, target.get("from"), "gte") and _compare(v, target.get("to"), "lte")
    if key == "includes":
        return isinstance(v, str) and isinstance(target, str) and target in v
    if key == "startsWith":
        return isinstance(v, str) and isinstance(target, str) and v.startswith(target)
    if key == "endsWith":
        return isinstance(v, str) and isinstance(target, str) and v.endswith(target)
    if key == "regex":
        try:
            return isinstance(v, str) and re.search(str(target), v) is not None
        except re.error:
            return False
    if key == "exists":
        return v is not MISSING and v is not None and v != ""
    return False


def _displayed(p: ParamSpec, values: Mapping[str, Any], ctx: _ParamContext) -> bool:
    opts = p.display_options
    if not opts:
        return True
    show = opts.get("show")
    if show:
        for key, conds in show.items():
            vals = _property_values(values, key, ctx)
            if any(isinstance(v, str) and v.startswith("=") for v in vals):
                return True
            if not _check_conditions(conds, vals):
                return False
    hide = opts.get("hide")
    if hide:
        for key, conds in hide.items():
            vals = _property_values(values, key, ctx)
            if vals and _check_conditions(conds, vals):
                return False
    return True


def _with_defaults(
    vc: VersionClass, params: Mapping[str, Any], ctx: _ParamContext
) -> dict[str, Any]:
    # n8n fills in the default of every displayed parameter before it checks required ones.
    values = dict(params)
    for p in vc.params:
        if p.name not in values and _displayed(p, values, ctx):
            values[p.name] = p.default if p.default is not None else MISSING
    return values


def _empty(p: ParamSpec, value: Any) -> bool:
    if p.type in ("string", "dateTime", "options"):
        return value is MISSING or value == ""
    if p.type == "multiOptions":
        return isinstance(value, list) and not value
    if p.type in ("resourceLocator", "workflowSelector", "agentSelector"):
        if isinstance(value, dict):
            inner = value.get("value")
            return not _is_number(inner) and not inner
        return value is MISSING or not value
    return False


@lru_cache(maxsize=4096)
def _js_regex(rx: str) -> re.Pattern[str] | None:
    try:
        return re.compile("^" + rx + r"\Z")
    except re.error:
        return None


def _locator_mismatch(
    p: ParamSpec, values: Mapping[str, Any], ctx: _ParamContext
) -> tuple[str, str] | None:
    """(mode, value) when a resource locator's value fails its mode's validation regex."""
    value = values.get(p.name, MISSING)
    if not isinstance(value, dict) or "value" not in value or "mode" not in value:
        return None
    rxs = (p.modes or {}).get(str(value.get("mode")))
    if not rxs or not _displayed(p, values, ctx):
        return None
    raw = value.get("value")
    text = "" if raw is None or raw == "" else _js_string(raw)
    if text.startswith("="):
        return None
    for rx in rxs:
        pattern = _js_regex(rx)
        if pattern is not None and pattern.search(text) is None:
            return str(value.get("mode")), text
    return None


def _js_string(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _is_missing(p: ParamSpec, values: Mapping[str, Any], ctx: _ParamContext) -> bool:
    if not _displayed(p, values, ctx):
        return False
    value = values.get(p.name, MISSING)
    if p.multiple:
        return isinstance(value, list) and any(_empty(p, v) for v in value)
    return _empty(p, value)


# -- expressions --------------------------------------------------------------------------------


def _expression_strings(value: object, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        if value.startswith("=") and "{{" in value:
            yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _expression_strings(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _expression_strings(v, f"{path}[{i}]")


_CLOSE = {")": "(", "]": "[", "}": "{"}
_REGEX_PREV = set("(,=:[!&|?{};+-*%<>~^") | {""}


def expression_problem(text: str) -> tuple[str | None, bool]:
    """Describe what is wrong with an n8n expression string, and whether n8n would fail on it.

    Returns (None, False) when the expression is fine. Inside each `{{ … }}` the JavaScript
    must have balanced (), [] and {} outside strings, template literals and regex literals.
    """
    i, n = 0, len(text)
    while True:
        start = text.find("{{", i)
        if start < 0:
            return None, False
        j = start + 2
        stack: list[str] = []
        prev = ""
        while j < n:
            c = text[j]
            if c in "'\"`":
                end = _skip_string(text, j)
                if end < 0:
                    return f"unclosed {c} string inside {{{{ }}}}", True
                j = end
                prev = "a"
                continue
            if text.startswith("//", j):
                nl = text.find("\n", j)
                j = n if nl < 0 else nl
                continue
            if text.startswith("/*", j):
                end_c = text.find("*/", j + 2)
                if end_c < 0:
                    return "unclosed /* comment inside {{ }}", True
                j = end_c + 2
                continue
            if c == "/" and prev in _REGEX_PREV:
                end = _skip_regex(text, j)
                if end > 0:
                    j = end
                    prev = "a"
                    continue
            if c == "}" and not stack and text.startswith("}}", j):
                break
            if c in "([{":
                stack.append(c)
            elif c in ")]}":
                if not stack or stack[-1] != _CLOSE[c]:
                    return f"unbalanced '{c}' inside {{{{ }}}}", True
                stack.pop()
            if not c.isspace():
                prev = c if not (c.isalnum() or c in "_$.") else "a"
            j += 1
        if j >= n:
            if stack:
                return f"unclosed '{stack[-1]}' inside an unclosed {{{{", True
            # n8n evaluates an unclosed `={{ $json.x` as the literal text: wrong, but no failure.
            return "{{ is never closed with }}", False
        if stack:
            return f"unclosed '{stack[-1]}' inside {{{{ }}}}", True
        i = j + 2


def _skip_string(text: str, j: int) -> int:
    quote = text[j]
    k = j + 1
    n = len(text)
    while k < n:
        c = text[k]
        if c == "\\":
            k += 2
            continue
        if c == quote:
            return k + 1
        if quote == "`" and c == "$" and text.startswith("${", k):
            depth = 1
            k += 2
            while k < n and depth:
                if text[k] in "'\"`":
                    end = _skip_string(text, k)
                    if end < 0:
                        return -1
                    k = end
                    continue
                if text[k] == "{":
                    depth += 1
                elif text[k] == "}":
                    depth -= 1
                k += 1
            continue
        if c == "\n" and quote != "`":
            return -1
        k += 1
    return -1


def _skip_regex(text: str, j: int) -> int:
    k = j + 1
    n = len(text)
    in_class = False
    while k < n:
        c = text[k]
        if c == "\\":
            k += 2
            continue
        if c == "\n":
            return -1
        if c == "[":
            in_class = True
        elif c == "]":
            in_class = False
        elif c == "/" and not in_class:
            k += 1
            while k < n and text[k].isalpha():
                k += 1
            return k
        k += 1
    return -1
