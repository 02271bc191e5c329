"""The node lookups the model may call, on hostile arguments: answered with an error it can act
on, in bounded work, never an exception (no service needed)."""

from __future__ import annotations

import json

from core.catalog import default_catalog
from core.generation.node_lookup.tools import NodeLookup


def _error_of(answer: str) -> str:
    return str(json.loads(answer).get("error", ""))


def test_hostile_arguments_get_an_error_not_an_exception() -> None:
    lookup = NodeLookup(catalog=default_catalog())
    deep = "[" * 200_000 + "]" * 200_000
    assert "too long" in _error_of(lookup.answer("search_nodes", deep))
    assert "too long" in _error_of(lookup.answer("get_node_spec", "x" * 20_000))
    long_name = json.dumps({"type": "n8n-nodes-base." + "a" * 20_000})
    assert _error_of(lookup.answer("get_node_spec", long_name))
    assert _error_of(lookup.answer("search_nodes", "not json"))
    assert _error_of(lookup.answer("search_nodes", "[1, 2]"))
    assert _error_of(lookup.answer("drop_tables", "{}"))


def test_a_plain_search_still_answers() -> None:
    found = json.loads(
        NodeLookup(catalog=default_catalog()).answer("search_nodes", '{"query": "rss"}')
    )
    assert "error" not in found
