"""`clixen prompt "REQUEST" [--project P] [--json]`: the generation prompt for a request, as a
dry run — no LLM call, no n8n. It answers "why did it pick this node?" and is what
benchmarks/retrieval.py measures.

The project's policy and secret names apply, as in a real run: `--project`/`-p`, else your
active project when the database is set up; with no database at all (nothing configured yet) the
default node policy and no secrets, and the summary says so.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.generation.replies import Retrieval


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "prompt",
        help="show the prompt generation would send for a request (dry run: no LLM, no n8n)",
    )
    p.add_argument("request", nargs="+", help="the request, in plain words")
    p.add_argument(
        "--project",
        "-p",
        help="use this project's node policy and secret names (default: your active project)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="one JSON object: messages, node_types (spec'd or listed), specs, candidates, "
        "tools, examples, tokens",
    )
    p.set_defaults(func=run, uses_settings=False)


def run(args: argparse.Namespace) -> int:
    from core.catalog import default_catalog
    from core.generation.node_lookup.tools import TOOL_SCHEMAS
    from core.generation.retrieval import first_message
    from core.generation.templates import TemplatesUnavailable, default_library
    from core.workspace.policy import NodePolicy

    request = " ".join(args.request)
    secret_names: list[str] = []
    policy = NodePolicy.default()
    project: str | None = None
    if args.project is not None or _database_exists():
        project, secret_names, policy = _project_inputs(args.project)
    try:
        library = default_library()
    except TemplatesUnavailable:
        library = None
    fm = first_message(
        text=request,
        catalog=default_catalog(),
        templates=library,
        secret_names=secret_names,
        denied_types=sorted(policy.denied),
    )
    found = fm.retrieval
    result = {
        "messages": fm.messages,
        "node_types": fm.node_types,
        "specs": [s["type"] for s in fm.specs],
        "candidates": fm.candidates,
        "tools": TOOL_SCHEMAS,
        "examples": [
            {"id": t.id, "name": t.name, "node_types": sorted(t.node_types)} for t in found.examples
        ],
        "tokens": fm.tokens,
        "project": project,
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(_summary(found, fm.tokens, templates=library is not None, project=project))
    return 0


def _database_exists() -> bool:
    from cli.context import database_exists

    return database_exists()


def _project_inputs(name: str | None) -> tuple[str, list[str], Any]:
    """The name, secret names and node policy of project `name` (None: the active one); the
    CLI user must be a member."""
    from cli.context import cli_actor, cli_session_factory
    from core.usecases.requests import prompt_inputs

    with cli_session_factory() as factory:
        found = prompt_inputs(factory, actor=cli_actor(), project=name)
    return found.project, found.secret_names, found.policy


def _summary(found: Retrieval, tokens: int, *, templates: bool, project: str | None) -> str:
    lines = [
        f"First message: about {tokens} tokens with the tool definitions (no LLM was called).",
        "",
        "Node specs it carries:",
    ]
    for spec in found.context.node_specs:
        extra = []
        if spec.get("trigger"):
            extra.append("trigger")
        if spec.get("operation"):
            extra.append(f"operation {spec['operation']}")
        lines.append(
            f"  {spec['type']} v{spec['typeVersion']}" + (f" ({', '.join(extra)})" if extra else "")
        )
    if found.candidates:
        lines += ["", "Also listed (the model can fetch their specs with get_node_spec):"]
        lines += [f"  {c.type}" + (" (trigger)" if c.trigger else "") for c in found.candidates]
    lines += ["", "Example workflows:"]
    if not templates:
        lines.append("  none (n8n-mcp's template library is not installed)")
    for t in found.examples:
        lines.append(f"  #{t.id} {t.name}")
        lines.append(f"      {', '.join(sorted(x.rsplit('.', 1)[-1] for x in t.node_types))}")
    ctx = found.context
    lines += [
        "",
        f"Project: {project} (its node policy and secret names)"
        if project
        else "Project: none (no database yet): the default node policy and no secrets",
        "Secrets named: " + (", ".join(ctx.secret_names) or "none"),
        "Denied types: " + (", ".join(ctx.denied_types) or "none"),
        "",
        "The full messages: clixen prompt --json ...",
    ]
    return "\n".join(lines)
