"""`clixen search QUERY... [--json]`: what the model's `search_nodes` tool answers for the same
words — up to 8 node types, each with its purpose, whether it starts a workflow and its
(resource, operation) pairs — with the default policy's denied types left out, as for a new
project. Needs no database, LLM or n8n (the catalog shipped in core/data)."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "search", help="search the node catalogue as the model's search_nodes tool does"
    )
    p.add_argument("query", nargs="+", help="a few words: an app, a service, what to do")
    p.add_argument(
        "--json", action="store_true", help="the tool's JSON answer, as the model reads it"
    )
    p.set_defaults(func=run, uses_settings=False)


def run(args: argparse.Namespace) -> int:
    from core.catalog import default_catalog
    from core.generation.node_lookup.tools import NodeLookup
    from core.workspace.policy import DEFAULT_DENYLIST

    lookup = NodeLookup(default_catalog(), denied=frozenset(DEFAULT_DENYLIST))
    answer = json.loads(lookup.search(" ".join(args.query)))
    if args.json:
        print(json.dumps(answer, ensure_ascii=False, indent=2))
        return 0
    if "error" in answer:
        print(f"error: {answer['error']}")
        return 2
    if not answer["results"]:
        print("no node type matches; try other words (an app's name, or what to do)")
        return 1
    for rank, found in enumerate(answer["results"], 1):
        head = f"{rank}. {found['type']}" + (" [trigger]" if found["trigger"] else "")
        print(f"{head} — {found['purpose']}")
        ops = found.get("operations") or []
        if ops:
            shown = ", ".join("/".join(str(x) for x in op if x) for op in ops[:12])
            print(f"   operations: {shown}" + (f" …{len(ops) - 12} more" if len(ops) > 12 else ""))
    print("\nA spec: clixen spec TYPE [--resource R] [--operation O]")
    return 0
