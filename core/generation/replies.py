"""Turning LLM replies into candidate workflows.

`parse_reply` reads a reply strictly (one JSON object: a workflow with a summary, or a question);
the fixes that need no LLM live beside the validator (`core.validation.fixes`).
`retrieve_context` (from `core.generation.retrieval`) picks the node specs and example workflows a
prompt needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.generation.retrieval import Retrieval, retrieve, retrieve_context
from core.kernel.safety import LLMOutputInvalid, parse_llm_json

__all__ = [
    "ProposedWorkflow",
    "Question",
    "Retrieval",
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
