"""Field checks: reading a field the upstream node does not output is a warning that names the
fields it has (n8n's output schemas, plus RSS items and the Schedule Trigger's item)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from core.catalog.output_schemas import default_index, output_shape, usable_share
from core.validation import validate
from core.validation.output_fields import USER_COLUMNS


def _node(name: str, kind: str, version: float, params: dict[str, Any], x: int) -> dict[str, Any]:
    return {
        "id": f"id-{x}",
        "name": name,
        "type": f"n8n-nodes-base.{kind}",
        "typeVersion": version,
        "position": [x, 0],
        "parameters": params,
    }


def _flow(*nodes: dict[str, Any]) -> dict[str, Any]:
    conns = {
        a["name"]: {"main": [[{"node": b["name"], "type": "main", "index": 0}]]}
        for a, b in itertools.pairwise(nodes)
    }
    return {"name": "f", "nodes": list(nodes), "connections": conns}


SCHEDULE = _node("Every morning", "scheduleTrigger", 1.2, {"rule": {"interval": [{}]}}, 0)
RSS_READ = _node("Read feed", "rssFeedRead", 1.2, {"url": "https://example.org/feed"}, 200)


def _set(expr: str) -> dict[str, Any]:
    return _node(
        "Shape",
        "set",
        3.4,
        {
            "assignments": {
                "assignments": [{"id": "a", "name": "text", "value": expr, "type": "string"}]
            }
        },
        400,
    )


def fields_warnings(wf: dict[str, Any]) -> list[str]:
    report = validate(wf)
    assert report.valid, report.to_dict()  # warnings only: never blocks
    return [i.message for i in report.warnings if i.code == "unknown_output_field"]


def test_json_title_after_rss_read_is_a_warning_naming_title() -> None:
    report = validate(_flow(SCHEDULE, RSS_READ, _set("={{ $json.Title }}")))
    assert report.valid
    [issue] = [i for i in report.warnings if i.code == "unknown_output_field"]
    assert issue.node == "Shape"
    assert 'reads $json.Title, but "Read feed" outputs no field "Title"' in issue.message
    assert "it has: title, " in issue.message  # the case-insensitive near miss first
    assert issue.hint == 'Write "title" (field names are case-sensitive).'


def test_real_fields_pass_and_unknown_shapes_are_not_checked() -> None:
    assert fields_warnings(_flow(SCHEDULE, RSS_READ, _set("={{ $json.title + $json.link }}"))) == []
    assert fields_warnings(_flow(SCHEDULE, RSS_READ, _set("={{ $json.contentSnippet }}"))) == []
    # after a Set node nothing is known about the fields: no warning
    after_set = _flow(
        SCHEDULE, _set("={{ 1 }}"), {**_set("={{ $json.anything }}"), "name": "B", "id": "b"}
    )
    after_set["nodes"][2]["position"] = [600, 0]
    assert fields_warnings(after_set) == []


def test_named_node_references_are_checked_in_expressions_and_code() -> None:
    code = _node(
        "Summarise",
        "code",
        2,
        {"jsCode": "return [{json: {d: $('Every morning').first().json['Day Of Week']}}];"},
        200,
    )
    [message] = fields_warnings(_flow(SCHEDULE, code))
    assert '"Every morning" outputs no field "Day Of Week"; it has: Day of week' in message
    expr = _set("={{ $('Every morning').item.json.timestamp }} {{ $json.nope }}")
    assert fields_warnings(_flow(SCHEDULE, expr)) == [
        'Node "Shape" reads $json.nope, but "Every morning" outputs no field "nope"; it has: '
        "timestamp, Readable date, Readable time, Day of week, Year, Month, Day of month, Hour, "
        "Minute, Second, Timezone."
    ]


def test_webhook_fields_come_from_n8ns_schema() -> None:
    hook = _node("Hook", "webhook", 2, {"path": "x", "httpMethod": "POST"}, 0)
    [message] = fields_warnings(_flow(hook, _set("={{ $json.email }}")))
    assert "it has: body, executionMode, headers, params, query, webhookUrl" in message


def test_the_shipped_index_covers_n8ns_schemas() -> None:
    mapped, seen = usable_share(default_index())
    assert seen == 1230 and mapped == 1230  # every schema file maps to a node type
    # the check leaves out user-column nodes, trigger-only folders and one-field samples
    assert checkable_share(default_index()) == (969, 1230)
    shape = output_shape("n8n-nodes-base.github", 1, "issue", "get")
    assert shape is not None and "title" in shape and "number" in shape


def checkable_share(index: Mapping[str, Any]) -> tuple[int, int]:
    """(schema files the check uses, schema files n8n ships): a schema counts when a node type
    that is not a trigger and not a user-columns node maps to it and it lists two or more fields
    (a trigger cannot select a resource/operation schema; see `node_output_shape`)."""
    folders = {
        folder
        for kind, folder in index["types"].items()
        if kind not in USER_COLUMNS and not kind.endswith("Trigger")
    }
    usable = sum(
        1
        for folder in folders
        for shapes in index["folders"].get(folder, {}).values()
        for shape in shapes.values()
        if isinstance(shape, dict) and len(shape) > 1
    )
    return usable, int(index["files"])
