"""The validator: runs the node and graph checks over one workflow, in n8n's order."""

from __future__ import annotations

from typing import Any

from core.catalog import NodeCatalog, NodeSpec, default_catalog
from core.kernel.safety import MAX_NODES
from core.validation.connections import ConnectionChecks
from core.validation.credential_needs import missing_credential_issues
from core.validation.credential_use import short_name
from core.validation.guards import GuardChecks
from core.validation.nodes import NodeChecks
from core.validation.output_fields import field_issues
from core.validation.report import ValidationReport
from core.validation.shapes import HINT_NODES, STICKY_NOTE, json_kind
from core.validation.slack_trigger import slack_trigger_issues
from core.workspace.policy import NodePolicy


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


class _Validator(NodeChecks, ConnectionChecks, GuardChecks):
    # -- top level ------------------------------------------------------------------------------

    def run(self, wf: object) -> None:
        if not isinstance(wf, dict):
            self.add(
                "invalid_json_shape",
                f"The workflow must be a JSON object, not {json_kind(wf)}.",
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
            self.add("missing_field", 'The workflow has no "nodes" list.', hint=HINT_NODES)
            return
        if not isinstance(nodes_raw, list):
            self.add(
                "invalid_json_shape",
                f'"nodes" must be a list, not {json_kind(nodes_raw)}.',
                hint=HINT_NODES,
            )
            return
        if len(nodes_raw) > MAX_NODES:
            self.add(
                "too_many_nodes",
                f"The workflow has {len(nodes_raw)} nodes; Clixen deploys (and draws) at most "
                f"{MAX_NODES}.",
                hint="Split it into workflows that call each other (Execute Workflow), or "
                "remove nodes.",
            )
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
                f'"connections" must be an object keyed by node name, not {json_kind(conns)}.',
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
            if specs[name] is not None:
                self.check_guards(node, subject=f'Node "{name}"', report_as=name)
                self.check_credential_use(node, short_name(node["type"]))

        edges = self.check_connections(conns, nodes, specs)
        connected = {s for s, _, _ in edges} | {t for _, t, _ in edges}
        for name, node in nodes.items():
            spec = specs[name]
            if spec is None or node.get("disabled") is True:
                continue
            if spec.type == STICKY_NOTE:
                continue
            # n8n only checks parameters of nodes that are wired in or start runs.
            wired = name in connected or spec.lets_n8n_activate
            self.check_parameters(node, spec, severity="error" if wired else "warning")
        for name, node in nodes.items():
            if specs.get(name) is not None and specs[name].type == STICKY_NOTE:  # type: ignore[union-attr]
                continue
            self.check_expressions(name, node.get("parameters"))
        self.issues.extend(field_issues(nodes, edges, self.catalog))
        self.issues.extend(slack_trigger_issues(nodes, in_project=self.policy is not None))
        self.issues.extend(missing_credential_issues({"nodes": list(nodes.values())}, self.catalog))
        self.check_triggers_and_reachability(nodes, specs, edges)
