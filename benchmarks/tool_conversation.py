"""What a whole create costs in the tool conversation (issue 19), without an LLM: for each
request, the first message, then the lookups a model typically makes (one search_nodes, one
get_node_spec per listed type it needs), then the final call — each call's prompt estimated as
the pipeline reserves it (`estimate_tokens` of the conversation + the tool definitions).

    .venv/bin/python benchmarks/tool_conversation.py

The lookups are answered by the real `NodeLookup`; the model's final answer is not counted
(its size depends on the model), only what is sent.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.catalog import default_catalog
from core.generation.llm import estimate_tokens
from core.generation.node_lookup.tools import NodeLookup, tool_schema_tokens
from core.generation.retrieval import first_message
from core.generation.templates import default_library

CASES = (
    (
        "when someone mentions @helper in slack, an ai agent with an openai model and memory "
        "answers using two tools (search our notion docs, look up orders via our api) and "
        "replies in the thread",
        "notion tool",
        [("n8n-nodes-base.notionTool", "databasePage", "getAll")],
    ),
    (
        "webhook gets events; route by type: signup -> #growth on slack, cancel -> hubspot, "
        "everything else (fallback) emails me",
        "hubspot contact",
        [("n8n-nodes-base.hubspot", "contact", "upsert")],
    ),
    (
        "every hour put new typeform leads into google sheets, update the row if the email "
        "already exists",
        "google sheets",
        [("n8n-nodes-base.googleSheets", "sheet", "appendOrUpdate")],
    ),
)


def main() -> None:
    catalog, library = default_catalog(), default_library()
    print("| request | first message | + search | + spec | whole create (sent) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for text, query, specs in CASES:
        fm = first_message(text=text, catalog=catalog, templates=library)
        lookup = NodeLookup(catalog=catalog, templates=library)
        convo = list(fm.messages)
        calls = [fm.tokens]
        rounds = [("search_nodes", {"query": query})] + [
            ("get_node_spec", {"type": t, "resource": r, "operation": o}) for t, r, o in specs
        ]
        for i, (name, args) in enumerate(rounds):
            part = {
                "id": f"c{i}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(args)},
            }
            convo.append({"role": "assistant", "content": None, "tool_calls": [part]})
            answer = lookup.answer(name, json.dumps(args))
            convo.append({"role": "tool", "tool_call_id": f"c{i}", "content": answer})
            calls.append(estimate_tokens(convo) + tool_schema_tokens())
        print(f"| {text[:60]}… | {calls[0]:,} | {calls[1]:,} | {calls[2]:,} | {sum(calls):,} |")


if __name__ == "__main__":
    main()
