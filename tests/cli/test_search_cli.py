"""`clixen search QUERY [--json]`: what the model's search_nodes tool answers (issue 29)."""

from __future__ import annotations

import json

import pytest

from core.catalog import default_catalog
from core.generation.node_lookup.tools import NodeLookup
from core.workspace.policy import DEFAULT_DENYLIST
from tests.cli.common import run


def test_search_json_is_the_tools_answer(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run(capsys, "search", "google", "sheets", "--json")
    assert code == 0
    lookup = NodeLookup(default_catalog(), denied=frozenset(DEFAULT_DENYLIST))
    assert json.loads(stdout) == json.loads(lookup.search("google sheets"))
    assert json.loads(stdout)["results"][0]["type"] == "n8n-nodes-base.googleSheets"


def test_search_text_ranks_and_leaves_denied_types_out(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run(capsys, "search", "data", "table")
    assert code == 0
    assert stdout.startswith("1. ") and "n8n-nodes-base.dataTable " not in stdout
    assert "clixen spec TYPE" in stdout


@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        ("clickup", "n8n-nodes-base.clickUp"),
        ("linkedin", "n8n-nodes-base.linkedIn"),
        ("openai chat model", "@n8n/n8n-nodes-langchain.lmChatOpenAi"),
    ],
)
def test_names_as_users_type_them_are_found_first(query: str, wanted: str) -> None:
    lookup = NodeLookup(default_catalog())
    results = json.loads(lookup.search(query))["results"]
    assert results[0]["type"] == wanted
