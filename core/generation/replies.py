"""Turning LLM replies into candidate workflows, and the fixes that need no LLM.

`parse_reply` reads a reply strictly (one JSON object: a workflow with a summary, or a question).
`apply_deterministic_fixes` repairs the mistakes a machine can fix for free (typeVersion too high,
id-keyed connections, missing package prefix, missing "=" before an expression, missing ids or
positions, n8n's Slack Trigger that never fires here turned into Clixen's)
so that LLM repairs are spent only on real problems. `retrieve_context` (from
`core.generation.retrieval`) picks the node specs and example workflows a prompt needs.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.catalog import NodeCatalog
from core.generation.retrieval import Retrieval, retrieve, retrieve_context
from core.kernel.safety import LLMOutputInvalid, parse_llm_json
from core.validation.slack_trigger import replace_n8n_slack_triggers

__all__ = [
    "ProposedWorkflow",
    "Question",
    "Retrieval",
    "apply_deterministic_fixes",
    "known_versions",
    "parse_reply",
    "retrieve",
    "retrieve_context",
]

MAX_QUESTION_CHARS = 500
MAX_SUMMARY_CHARS = 300


@dataclass(frozen=True)
class ProposedWorkflow:
    """The workflow an LLM reply proposes, and its one-line summary ("" when it gave none)."""

    workflow: dict[str, Any]
    summary: str


@dataclass(frozen=True)
class Question:
    text: str


def parse_reply(text: str) -> ProposedWorkflow | Question:
    """The candidate workflow or clarifying question in an LLM reply; raises LLMOutputInvalid."""
    data = parse_llm_json(text)
    question = data.get("question")
    if "workflow" not in data and isinstance(question, str) and question.strip():
        return Question(question.strip()[:MAX_QUESTION_CHARS])
    wf = data.get("workflow")
    if wf is None and "nodes" in data:
        wf = data  # a bare workflow object: usable, the summary is simply missing
    if not isinstance(wf, dict):
        raise LLMOutputInvalid('the reply has neither a "workflow" object nor a "question"')
    nodes = wf.get("nodes")
    if not isinstance(nodes, list) or not nodes:
        raise LLMOutputInvalid('"workflow.nodes" must be a non-empty list')
    if not all(isinstance(n, dict) for n in nodes):
        raise LLMOutputInvalid('every entry of "workflow.nodes" must be an object')
    if not isinstance(wf.get("connections", {}), dict):
        raise LLMOutputInvalid('"workflow.connections" must be an object')
    wf.setdefault("connections", {})
    summary = data.get("summary")
    summary_text = summary.strip()[:MAX_SUMMARY_CHARS] if isinstance(summary, str) else ""
    return ProposedWorkflow(workflow=wf, summary=summary_text)


# --- deterministic fixes ----------------------------------------------------------------------

_EXPR = re.compile(r"\{\{.*\}\}", re.S)


def _fix_expressions(value: Any) -> tuple[Any, int]:
    """Prefix "=" to string parameters that hold a {{ }} expression without it."""
    if isinstance(value, str):
        if not value.startswith("=") and _EXPR.search(value):
            return "=" + value, 1
        return value, 0
    if isinstance(value, list):
        total = 0
        items = []
        for item in value:
            fixed, n = _fix_expressions(item)
            items.append(fixed)
            total += n
        return items, total
    if isinstance(value, dict):
        total = 0
        out = {}
        for k, v in value.items():
            fixed, n = _fix_expressions(v)
            out[k] = fixed
            total += n
        return out, total
    return value, 0


def apply_deterministic_fixes(
    workflow: Mapping[str, Any], *, known_versions: Mapping[str, Sequence[float]]
) -> tuple[dict[str, Any], list[str]]:
    """A copy of `workflow` with machine-fixable mistakes repaired, and what was changed.

    `known_versions` maps each known node type to the typeVersions the installed n8n supports.
    """
    wf = copy.deepcopy(dict(workflow))
    fixes: list[str] = replace_n8n_slack_triggers(wf)
    nodes = wf.get("nodes")
    if not isinstance(nodes, list):
        return wf, fixes
    ids_to_names: dict[str, str] = {}
    seen_ids: set[str] = set()
    for i, node in enumerate(nodes):
        if not isinstance(node, dict):
            continue
        name = node.get("name")
        # n8n refuses `null` in any node field; an omitted optional field means its default.
        nulls = [k for k, v in node.items() if v is None and k not in ("name", "type")]
        for key in nulls:
            del node[key]
        if nulls:
            fixes.append(f"{name}: dropped empty field(s) {', '.join(sorted(nulls))}")
        ntype = node.get("type")
        if isinstance(ntype, str) and ntype not in known_versions:
            for prefix in ("n8n-nodes-base.", "@n8n/n8n-nodes-langchain."):
                if prefix + ntype in known_versions:
                    node["type"] = ntype = prefix + ntype
                    fixes.append(f"{name}: added the package prefix to the node type")
                    break
        versions = known_versions.get(ntype) if isinstance(ntype, str) else None
        if versions:
            highest = max(versions)
            tv = node.get("typeVersion")
            if not isinstance(tv, int | float) or isinstance(tv, bool):
                node["typeVersion"] = _num(highest)
                fixes.append(f"{name}: set the missing typeVersion to {_num(highest)}")
            elif tv not in versions:
                fixed = max((v for v in versions if v <= tv), default=highest)
                node["typeVersion"] = _num(fixed)
                fixes.append(f"{name}: typeVersion {tv} is not supported, using {_num(fixed)}")
        if "parameters" not in node or not isinstance(node.get("parameters"), dict):
            node["parameters"] = {}
        else:
            node["parameters"], n = _fix_expressions(node["parameters"])
            if n:
                fixes.append(f"{name}: added the missing '=' before {n} expression(s)")
        nid = node.get("id")
        if not isinstance(nid, str) or not nid or nid in seen_ids:
            node["id"] = str(uuid.uuid4())
            fixes.append(f"{name}: gave the node a unique id")
        seen_ids.add(node["id"])
        if isinstance(nid, str) and isinstance(name, str):
            ids_to_names[nid] = name
        pos = node.get("position")
        if not (
            isinstance(pos, list)
            and len(pos) == 2
            and all(isinstance(p, int | float) and not isinstance(p, bool) for p in pos)
        ):
            node["position"] = [250 + 220 * i, 300]
            fixes.append(f"{name}: gave the node a position")
    names = {n.get("name") for n in nodes if isinstance(n, dict)}
    conns = wf.get("connections")
    if isinstance(conns, dict):
        renamed: dict[str, Any] = {}
        for source, outputs in conns.items():
            if source not in names and source in ids_to_names:
                fixes.append(f"connections: keyed {source!r} by node name instead of id")
                source = ids_to_names[source]
            renamed[source] = _rename_targets(outputs, names, ids_to_names, fixes)
        wf["connections"] = renamed
    return wf, fixes


def _rename_targets(
    outputs: Any, names: set[Any], ids_to_names: Mapping[str, str], fixes: list[str]
) -> Any:
    if not isinstance(outputs, dict):
        return outputs
    for groups in outputs.values():
        if not isinstance(groups, list):
            continue
        for group in groups:
            if not isinstance(group, list):
                continue
            for link in group:
                if isinstance(link, dict):
                    target = link.get("node")
                    if isinstance(target, str) and target not in names and target in ids_to_names:
                        link["node"] = ids_to_names[target]
                        fixes.append(f"connections: target {target!r} named instead of id")
    return outputs


def _num(v: float) -> float | int:
    return int(v) if float(v).is_integer() else v


def known_versions(catalog: NodeCatalog) -> dict[str, tuple[float, ...]]:
    """Every node type the installed n8n knows, with its supported typeVersions."""
    return {t: spec.versions for t, spec in catalog.nodes.items()}
