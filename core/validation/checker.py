"""The validator: every check is a function returning its issues (`nodes`, `connections`,
`guards`, `credential_use`, `output_fields`); this module runs them over one
workflow, in n8n's order, and adds up what they found."""

from __future__ import annotations

from typing import Any

from core.catalog import NodeCatalog, NodeSpec, default_catalog
from core.validation.base import Context
from core.validation.connections import check_connections, check_triggers_and_reachability
from core.validation.credential_use import (
    check_credential_use,
    missing_credential_issues,
    short_name,
)
from core.validation.guards import check_guards
from core.validation.nodes import (
    check_expressions,
    check_node_id,
    check_node_shape,
    check_node_type,
    check_parameters,
    check_settings,
    check_top_level,
)
from core.validation.output_fields import field_issues
from core.validation.report import Issue, ValidationReport
from core.validation.shapes import STICKY_NOTE
from core.validation.slack_trigger import slack_trigger_issues
from core.workspace.policy import NodePolicy


def validate(
    wf: object,
    *,
    catalog: NodeCatalog | None = None,
    policy: NodePolicy | None = None,
) -> ValidationReport:
    """Check a workflow (parsed JSON) against the node catalog and the node policy."""
    ctx = Context(catalog or default_catalog(), policy)
    parts, issues = check_top_level(wf)
    if parts is None:
        return ValidationReport(issues)
    raw_nodes, conns, settings = parts
    issues += check_settings(settings)
    nodes, specs, found = _nodes(ctx, raw_nodes)
    edges, found_in_connections = check_connections(conns, nodes, specs)
    wired = {s for s, _, _ in edges} | {t for _, t, _ in edges}
    drawn = {n for n, s in specs.items() if s is None or s.type != STICKY_NOTE}
    return ValidationReport(
        [
            *issues,
            *found,
            *found_in_connections,
            # n8n only checks the parameters of nodes that are wired in or start runs.
            *(
                issue
                for n, spec in specs.items()
                if spec is not None and n in drawn and nodes[n].get("disabled") is not True
                for issue in check_parameters(
                    nodes[n],
                    spec,
                    severity="error" if n in wired or spec.lets_n8n_activate else "warning",
                )
            ),
            *(
                i
                for n in nodes
                if n in drawn
                for i in check_expressions(n, nodes[n].get("parameters"))
            ),
            *field_issues(nodes, edges, ctx.catalog),
            *slack_trigger_issues(nodes, in_project=ctx.policy is not None),
            *missing_credential_issues({"nodes": list(nodes.values())}, ctx.catalog),
            *check_triggers_and_reachability(nodes, specs, edges),
        ]
    )


def _nodes(
    ctx: Context, raw_nodes: list[Any]
) -> tuple[dict[str, dict[str, Any]], dict[str, NodeSpec | None], list[Issue]]:
    """Each node on its own, in order: the nodes by name (the first of a name), their specs
    (None: unknown or denied type), and the issues of shapes, ids, names, types, guards and
    credential use."""
    nodes: dict[str, dict[str, Any]] = {}
    specs: dict[str, NodeSpec | None] = {}
    names_by_id: dict[str, str] = {}
    issues: list[Issue] = []
    for i, raw in enumerate(raw_nodes):
        node, found = check_node_shape(ctx, i, raw)
        issues += found
        if node is None:
            continue
        name, node_id = node["name"], node.get("id")
        if isinstance(node_id, str) and node_id:
            issues += check_node_id(node, names_by_id.get(node_id))
            names_by_id.setdefault(node_id, name)
        if name in nodes:
            issues.append(
                Issue(
                    "duplicate_node_name",
                    f'Two nodes are named "{name}".',
                    name,
                    hint=f'Rename one of the nodes called "{name}" and update its connections.',
                )
            )
            continue
        nodes[name] = node
        specs[name], found = check_node_type(ctx, node)
        issues += found
        if specs[name] is not None:
            issues += check_guards(ctx, node, subject=f'Node "{name}"', report_as=name)
            issues += check_credential_use(node, short_name(node["type"]))
    return nodes, specs, issues
