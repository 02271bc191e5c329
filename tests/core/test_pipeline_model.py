"""A run's typed working data (`RunContext`) and the one builder of the pipeline's services: no
database, no n8n, no LLM needed."""

from __future__ import annotations

from typing import Any

import pytest

from core.generation.llm import LLMClient
from core.kernel.errors import LLMNotConfigured
from core.kernel.settings import Settings
from core.pipeline import (
    Answer,
    DeployedVersion,
    ExecutionSeen,
    ProblemKind,
    RunContext,
    RuntimeFailure,
    build_services,
)
from core.validation import Issue

CANDIDATE = {"name": "Order check", "nodes": [{"name": "Hook", "type": "n8n-nodes-base.webhook"}]}

# A context with every key, in the shape the pipeline stored before `RunContext` existed.
OLD_SHAPE: dict[str, Any] = {
    "test_sample": {"total": -5},
    "answers": [{"question": "Which channel?", "answer": "#news"}],
    "base_workflow": {"name": "Before the edit", "nodes": []},
    "candidate": CANDIDATE,
    "summary": "Checks each order.",
    "problems": [
        {
            "code": "execution_failed",
            "message": "order total is negative",
            "node": "Check order",
            "severity": "error",
            "hint": "",
        }
    ],
    "problem_kind": "runtime",
    "bad_reply": None,
    "fixes": ["added the package prefix to scheduleTrigger"],
    "deployed": [{"version": 1, "checksum": "abc"}, {"version": 2, "checksum": "def"}],
    "watch_after": "41",
    "last_execution": {"id": "42", "status": "error"},
    "runtime_failures": [{"node": "Check order", "message": "order total is negative"}],
}


def test_a_context_stored_by_the_old_code_loads_with_every_key_typed() -> None:
    context = RunContext.model_validate(OLD_SHAPE)
    assert context.test_sample == {"total": -5}
    assert context.answers == [Answer(question="Which channel?", answer="#news")]
    assert context.base_workflow == {"name": "Before the edit", "nodes": []}
    assert context.candidate == CANDIDATE and context.summary == "Checks each order."
    assert context.problems == [
        Issue(code="execution_failed", message="order total is negative", node="Check order")
    ]
    assert context.problem_kind is ProblemKind.runtime
    assert context.bad_reply is None
    assert context.fixes == ["added the package prefix to scheduleTrigger"]
    assert context.deployed[-1] == DeployedVersion(version=2, checksum="def")
    assert context.version == 2
    assert context.watch_after == "41"
    assert context.last_execution == ExecutionSeen(id="42", status="error")
    assert context.runtime_failures == [
        RuntimeFailure(node="Check order", message="order total is negative")
    ]


def test_what_a_context_stores_loads_back_the_same() -> None:
    context = RunContext.model_validate(OLD_SHAPE)
    stored = context.stored()
    assert RunContext.model_validate(stored) == context
    # Problems are stored as `Issue.to_dict()`, as before.
    assert stored["problems"] == OLD_SHAPE["problems"]
    assert stored["deployed"] == OLD_SHAPE["deployed"]


def test_a_new_run_stores_an_empty_context_and_loads_any_old_partial_one() -> None:
    assert RunContext.of(None).stored() == {}
    assert RunContext.of({}) == RunContext()
    # An empty test sample still asks for a test call: it is not the same as none.
    assert RunContext(test_sample={}).stored() == {"test_sample": {}}
    # Rows written mid-way by older code: a few keys, a problem in `brief()` form, a key we no
    # longer use, a cleared problem kind.
    partial = RunContext.of(
        {
            "candidate": CANDIDATE,
            "problems": [{"code": "reply_not_json", "message": "not JSON"}],
            "problem_kind": None,
            "something_else": 1,
        }
    )
    assert partial.candidate == CANDIDATE and partial.problem_kind is None
    assert partial.problems == [Issue(code="reply_not_json", message="not JSON")]
    assert "something_else" not in partial.stored()


@pytest.mark.parametrize("kind", ["validation", "runtime", "parse"])
def test_every_problem_kind_loads(kind: str) -> None:
    assert RunContext.of({"problem_kind": kind}).problem_kind == kind


def _settings(**values: Any) -> Settings:
    blank: dict[str, Any] = {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": "", "N8N_MCP_COMMAND": ""}
    return Settings(**{**blank, **values})


def test_services_require_an_llm_unless_told_otherwise() -> None:
    factory: Any = object()  # passed through untouched: nothing is opened here
    n8n: Any = object()
    with pytest.raises(LLMNotConfigured):
        build_services(_settings(), session_factory=factory, n8n=n8n)
    lean = build_services(
        _settings(),
        session_factory=factory,
        n8n=n8n,
        require_llm=False,
        with_mcp=False,
        with_templates=False,
        watch_s=0.0,
    )
    assert lean.llm is None and lean.mcp is None and lean.templates is None
    assert lean.session_factory is factory and lean.n8n is n8n and lean.watch_s == 0.0
    full = build_services(
        _settings(OPENAI_API_KEY="sk-test"),
        session_factory=factory,
        n8n=n8n,
        require_llm=False,
    )
    assert isinstance(full.llm, LLMClient)
    assert full.mcp is None  # N8N_MCP_COMMAND is not set
