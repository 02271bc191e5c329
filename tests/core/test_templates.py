"""Templates from n8n-mcp's real nodes.db: emptied ones dropped, relevant ones found, kept small."""

from __future__ import annotations

import base64
import gzip
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from core.generation.template_compact import approx_tokens, compact_template
from core.generation.templates import (
    STICKY_NOTE,
    TemplateLibrary,
    TemplatesUnavailable,
    is_emptied,
)
from core.kernel.settings import Settings


@pytest.fixture(scope="module")
def library(template_library: TemplateLibrary) -> TemplateLibrary:
    return template_library


def _node(name: str, type_: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {"id": name, "name": name, "type": type_, "position": [0, 0], "parameters": parameters}


def _write_db(path: Path, workflows: list[tuple[str, dict[str, Any]]]) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE templates (id INTEGER PRIMARY KEY, name TEXT, description TEXT, "
            "workflow_json_compressed TEXT)"
        )
        for i, (name, wf) in enumerate(workflows, start=1):
            blob = base64.b64encode(gzip.compress(json.dumps(wf).encode())).decode()
            conn.execute(
                "INSERT INTO templates VALUES (?, ?, ?, ?)", (i, name, f"About {name}", blob)
            )


def test_emptied_templates_are_dropped(tmp_path: Path) -> None:
    note = _node("Note", STICKY_NOTE, {"content": "Read me"})
    emptied = {
        "nodes": [_node("Feed", "n8n-nodes-base.rssFeedRead", {}), note],
        "connections": {},
    }
    real = {
        "nodes": [_node("Feed", "n8n-nodes-base.rssFeedRead", {"url": "https://x.test/rss"})],
        "connections": {},
    }
    db = tmp_path / "nodes.db"
    _write_db(db, [("Emptied RSS", emptied), ("Real RSS", real)])

    lib = TemplateLibrary.load(db)

    assert [t.name for t in lib.templates] == ["Real RSS"]
    assert lib.dropped_emptied == 1


def test_the_real_library_has_no_emptied_templates(library: TemplateLibrary) -> None:
    # n8n-mcp 2.87.0 ships 2,352 templates, about a quarter emptied.
    assert 1500 < len(library) < 2352
    assert library.dropped_emptied > 400
    assert not any(is_emptied(t.workflow) for t in library.templates)


def test_rss_to_slack_finds_templates_with_rss_and_slack_nodes(library: TemplateLibrary) -> None:
    found = library.similar("RSS feed to Slack", k=3)
    assert len(found) == 3
    assert {"n8n-nodes-base.rssFeedRead", "n8n-nodes-base.slack"} <= found[0].node_types
    assert all("n8n-nodes-base.rssFeedRead" in t.node_types for t in found)


def test_node_types_steer_the_choice(library: TemplateLibrary) -> None:
    found = library.similar("post a message", k=3, node_types={"n8n-nodes-base.telegram"})
    assert all("n8n-nodes-base.telegram" in t.node_types for t in found)


def test_a_request_with_no_overlap_finds_nothing(library: TemplateLibrary) -> None:
    assert library.similar("zzqx qqzv", k=3) == []


def test_compact_keeps_a_runnable_shape_and_drops_noise(library: TemplateLibrary) -> None:
    template = library.similar("RSS feed to Slack", k=1)[0]
    small = compact_template(template.workflow)

    names = {n["name"] for n in small["nodes"]}
    assert names and all(n["type"] != STICKY_NOTE for n in small["nodes"])
    assert all(
        set(n)
        <= {"name", "type", "typeVersion", "parameters", "credentials", "onError", "disabled"}
        for n in small["nodes"]
    )
    for source, outputs in small["connections"].items():
        assert source in names
        for branches in outputs.values():
            assert all(c["node"] in names for branch in branches for c in branch)
    assert approx_tokens(small) < approx_tokens(template.workflow)


def test_compact_cuts_long_strings_and_hides_credential_ids() -> None:
    wf = {
        "name": "Long",
        "nodes": [
            {
                **_node("Code", "n8n-nodes-base.code", {"jsCode": "x" * 5000}),
                "credentials": {"slackApi": {"id": "42", "name": "Alice's Slack"}},
                "webhookId": "abc",
                "notes": "mine",
            },
            _node("Note", STICKY_NOTE, {"content": "hi"}),
        ],
        "connections": {"Code": {"main": [[{"node": "Note", "type": "main", "index": 0}]]}},
        "pinData": {"Code": [{"json": {}}]},
    }
    small = compact_template(wf, max_string=100)
    [code] = small["nodes"]
    assert len(code["parameters"]["jsCode"]) == 101
    assert code["credentials"] == {"slackApi": {"name": "slackApi"}}
    assert "webhookId" not in code and "position" not in code and "id" not in code
    assert small["connections"] == {"Code": {"main": [[]]}}
    assert "pinData" not in small


def test_typical_examples_fit_a_prompt_budget(library: TemplateLibrary) -> None:
    # Three examples must leave room in a generation prompt of about 6,000 tokens.
    for request in ("RSS feed to Slack", "new Google Sheets row to email", "webhook to Postgres"):
        examples = library.similar(request, k=3)
        assert sum(approx_tokens(compact_template(t.workflow)) for t in examples) < 4500, request


def test_a_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TemplatesUnavailable, match="not found"):
        TemplateLibrary.load(tmp_path / "nope.db")


def test_from_settings_reads_the_database_of_the_configured_n8n_mcp(tmp_path: Path) -> None:
    mcp = tmp_path / "n8n-mcp"
    (mcp / "dist" / "mcp").mkdir(parents=True)
    (mcp / "data").mkdir()
    real = {"nodes": [_node("Hook", "n8n-nodes-base.webhook", {"path": "x"})], "connections": {}}
    _write_db(mcp / "data" / "nodes.db", [("Only one", real)])
    settings = Settings(N8N_MCP_COMMAND=f"/usr/bin/node {mcp / 'dist' / 'mcp' / 'index.js'}")

    lib = TemplateLibrary.from_settings(settings, cache_dir=tmp_path / "cache")

    assert [t.name for t in lib.templates] == ["Only one"]
