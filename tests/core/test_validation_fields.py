"""Node fields, settings, node ids, connection entries and $fromAI expressions: our validator
says "error" exactly where n8n's create endpoint answers 400 (checked against the real n8n)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from core.n8n.client import N8nClient
from core.n8n.errors import N8nAPIError
from core.validation import validate
from tests.conftest import N8nStack

Change = Callable[[dict[str, Any]], None]


def workflow() -> dict[str, Any]:
    """Schedule → HTTP Request: valid, and n8n creates and activates it."""
    return {
        "name": "fields",
        "nodes": [
            {
                "id": "a1",
                "name": "Every hour",
                "type": "n8n-nodes-base.scheduleTrigger",
                "typeVersion": 1.2,
                "position": [0, 0],
                "parameters": {"rule": {"interval": [{"field": "hours"}]}},
            },
            {
                "id": "b2",
                "name": "Fetch",
                "type": "n8n-nodes-base.httpRequest",
                "typeVersion": 4.2,
                "position": [200, 0],
                "parameters": {"url": "https://example.com"},
            },
        ],
        "connections": {"Every hour": {"main": [[{"node": "Fetch", "type": "main", "index": 0}]]}},
        "settings": {"executionOrder": "v1"},
    }


def on_node(key: str, value: object) -> Change:
    def change(wf: dict[str, Any]) -> None:
        wf["nodes"][1][key] = value

    return change


def on_settings(key: str, value: object) -> Change:
    def change(wf: dict[str, Any]) -> None:
        wf["settings"][key] = value

    return change


def on_link(key: str, value: object) -> Change:
    def change(wf: dict[str, Any]) -> None:
        entry = wf["connections"]["Every hour"]["main"][0][0]
        if value is DELETE:
            del entry[key]
        else:
            entry[key] = value

    return change


DELETE = object()

# (what, change, code of our error or None when n8n accepts it)
CASES: list[tuple[str, Change, str | None]] = [
    ("credentials as a string", on_node("credentials", "httpHeaderAuth"), "invalid_field_type"),
    ("credentials as null", on_node("credentials", None), "invalid_field_type"),
    ("credentials as a list", on_node("credentials", []), "invalid_field_type"),
    (
        "credentials as an object",
        on_node("credentials", {"httpHeaderAuth": {"id": "1", "name": "x"}}),
        None,
    ),
    ("waitBetweenTries null", on_node("waitBetweenTries", None), "invalid_field_type"),
    ("waitBetweenTries a string", on_node("waitBetweenTries", "1000"), "invalid_field_type"),
    ("waitBetweenTries a number", on_node("waitBetweenTries", 1000), None),
    ("maxTries null", on_node("maxTries", None), "invalid_field_type"),
    ("maxTries a number", on_node("maxTries", 3), None),
    ("notesInFlow a string", on_node("notesInFlow", "true"), "invalid_field_type"),
    ("notesInFlow a boolean", on_node("notesInFlow", True), None),
    ("disabled a number", on_node("disabled", 1), "invalid_field_type"),
    ("retryOnFail null", on_node("retryOnFail", None), "invalid_field_type"),
    ("alwaysOutputData a string", on_node("alwaysOutputData", "yes"), "invalid_field_type"),
    ("notes a number", on_node("notes", 5), "invalid_field_type"),
    ("webhookId null", on_node("webhookId", None), "invalid_field_type"),
    ("id a number", on_node("id", 7), "invalid_field_type"),
    ("onError null", on_node("onError", None), "invalid_field_type"),
    ("onError an unknown string (accepted)", on_node("onError", "keepGoing"), None),
    ("parameters null", on_node("parameters", None), "invalid_json_shape"),
    ("parameters a string", on_node("parameters", "url=x"), "invalid_json_shape"),
    ("two nodes share an id", on_node("id", "a1"), "duplicate_node_id"),
    ("callerPolicy empty", on_settings("callerPolicy", ""), "invalid_field_type"),
    ("callerPolicy in its enum", on_settings("callerPolicy", "workflowsFromSameOwner"), None),
    (
        "saveDataErrorExecution outside its enum",
        on_settings("saveDataErrorExecution", "some"),
        "invalid_field_type",
    ),
    ("executionTimeout a string", on_settings("executionTimeout", "60"), "invalid_field_type"),
    ("executionOrder null", on_settings("executionOrder", None), "invalid_field_type"),
    ("executionOrder unknown (accepted)", on_settings("executionOrder", "v2"), None),
    ("errorWorkflow a number", on_settings("errorWorkflow", 5), "invalid_field_type"),
    (
        "saveManualExecutions a string",
        on_settings("saveManualExecutions", "true"),
        "invalid_field_type",
    ),
    ("connection without type", on_link("type", DELETE), "invalid_json_shape"),
    ("connection without index", on_link("index", DELETE), "invalid_json_shape"),
    ("connection index -1", on_link("index", -1), "invalid_json_shape"),
    ("connection index a string", on_link("index", "0"), "invalid_json_shape"),
]


def changed(change: Change) -> dict[str, Any]:
    wf = workflow()
    change(wf)
    return wf


@pytest.mark.parametrize(("what", "change", "code"), CASES, ids=[c[0] for c in CASES])
def test_field_types_as_n8n_accepts_them(what: str, change: Change, code: str | None) -> None:
    report = validate(changed(change))
    assert [i.code for i in report.errors] == ([code] if code else []), what
    assert all(i.hint for i in report.errors)


@pytest.fixture
def client(n8n: N8nStack) -> Iterator[N8nClient]:
    with N8nClient(n8n.url, n8n.api_key) as c:
        yield c


def test_n8n_rejects_at_create_exactly_what_we_call_an_error(client: N8nClient) -> None:
    disagreements = []
    for what, change, code in CASES:
        wf = changed(change)
        wf["name"] = f"clixen field check: {what}"
        try:
            created = client.create_workflow(wf)
        except N8nAPIError as e:
            if code is None:
                disagreements.append((what, "n8n rejects, we accept", e.message[:200]))
            continue
        client.delete_workflow(str(created["id"]))
        if code is not None:
            disagreements.append((what, "n8n accepts, we reject", code))
    assert disagreements == []


def test_unknown_on_error_and_execution_order_are_warnings() -> None:
    report = validate(changed(on_node("onError", "keepGoing")))
    assert [i.code for i in report.warnings] == ["invalid_field_type"]
    assert "continueErrorOutput" in report.warnings[0].hint
    report = validate(changed(on_settings("executionOrder", "v2")))
    assert [i.code for i in report.warnings] == ["invalid_field_type"]


def test_empty_ids_may_repeat_but_a_shared_id_names_both_nodes() -> None:
    wf = workflow()
    for n in wf["nodes"]:
        n["id"] = ""
    assert validate(wf).valid
    report = validate(changed(on_node("id", "a1")))
    [issue] = report.errors
    assert issue.node == "Fetch"
    assert '"Every hour" and "Fetch"' in issue.message
    assert "unique id" in issue.hint


def test_missing_settings_are_fine_and_a_non_object_is_only_a_warning() -> None:
    wf = workflow()
    del wf["settings"]
    assert validate(wf).valid
    wf["settings"] = []
    report = validate(wf)
    assert report.valid
    assert [i.code for i in report.warnings] == ["invalid_json_shape"]


def with_expression(text: str) -> dict[str, Any]:
    wf = workflow()
    wf["nodes"][1]["parameters"]["url"] = text
    return wf


@pytest.mark.parametrize(
    "text",
    [
        # template #5554 in a tool node: the "(" is never closed
        "=https://x.io/get/{{ ( $fromAI('name', 'Name', 'string') }}",
        "={{ ( /*n8n-auto-generated-fromAI-override*/ $fromAI('price', ``, 'string') }}",
        # template #5566: an unescaped apostrophe ends the string early
        "={{ $fromAI('market', 'the seller's marketplace', 'string') }}",
    ],
)
def test_broken_from_ai_expressions_are_errors(text: str) -> None:
    assert [i.code for i in validate(with_expression(text)).errors] == ["expression_syntax"]


@pytest.mark.parametrize(
    "text",
    [
        "={{ $fromAI('name', 'Name (full)', 'string') }}",
        "={{ /*n8n-auto-generated-fromAI-override*/ $fromAI('price', ``, 'string') }}",
        "=https://x.io/{{ $fromAI('id', 'the seller\\'s id', 'string') }}/items",
    ],
)
def test_balanced_from_ai_expressions_pass(text: str) -> None:
    assert validate(with_expression(text)).valid
