"""`clixen eval PROMPTS_FILE [--json] [--keep]`: run each request of a file through the real
pipeline (the configured model, the configured n8n) in a throwaway project, and report per
request and in total: first reply valid, valid after repair, deployed and activated, test
execution, repairs, tool rounds (the model's node lookups), tokens, seconds. Compare models and
prompt changes with it; the CI runs it against the scripted LLM (tests/cli/test_eval_cli.py).
What it deployed is deleted afterwards.

PROMPTS_FILE holds one request a line (blank lines and lines starting with # are skipped), or a
JSON list of strings.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.context import cli_actor
from core.kernel.errors import InvalidInput, LLMNotConfigured

if TYPE_CHECKING:
    from core.pipeline import PipelineServices, ProgressEvent

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
COLUMNS = (
    ("first_reply_valid", "1st ok"),
    ("valid_after_repair", "valid"),
    ("deployed", "active"),
    ("test_execution", "test run"),
    ("repairs", "repairs"),
    ("tool_rounds", "lookups"),
    ("tokens", "tokens"),
    ("seconds", "secs"),
)


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "eval",
        help="run a file of requests through the pipeline in a throwaway project and score them",
    )
    p.add_argument("prompts_file", type=Path, metavar="PROMPTS_FILE")
    p.add_argument("--json", action="store_true", help="one JSON object with rows and totals")
    p.add_argument(
        "--keep", action="store_true", help="keep the project and deployed workflows afterwards"
    )
    p.add_argument("--watch", type=float, default=5.0, help="seconds to watch each deploy")
    p.set_defaults(func=run)


def read_requests(path: Path) -> list[str]:
    """The requests of a prompts file (one a line, or a JSON list of strings)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise InvalidInput(f"{path}: {e.strerror or e}") from e
    if text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise InvalidInput(f"{path} is not a JSON list: {e.msg}") from e
        if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
            raise InvalidInput(f"{path} must be a JSON list of strings.")
        requests = [x.strip() for x in data]
    else:
        requests = [ln.strip() for ln in text.splitlines()]
    found = [r for r in requests if r and not r.startswith("#")]
    if not found:
        raise InvalidInput(f"{path} holds no request.")
    return found


def run(args: argparse.Namespace) -> int:
    from cli.pipeline import _services

    requests = read_requests(args.prompts_file)
    try:
        with _services(watch_s=args.watch) as services:
            rows = evaluate(services, requests, keep=args.keep)
    except LLMNotConfigured as e:
        print(str(e), file=sys.stderr)
        return EXIT_CONFIG
    totals = summarize(rows)
    if args.json:
        print(json.dumps({"rows": rows, "totals": totals}, indent=2))
    else:
        print(table(rows, totals))
    return EXIT_OK


def evaluate(
    services: PipelineServices, requests: list[str], *, keep: bool = False
) -> list[dict[str, Any]]:
    """One result row per request, run in a new project that is removed afterwards (with what
    it deployed) unless `keep`."""
    from core.kernel.settings import get_settings
    from core.pipeline import RunContext, execute_run, get_run
    from core.usecases.projects import create_project
    from core.usecases.requests import request_run

    actor = cli_actor()
    project = create_project(
        services.session_factory,
        actor=actor,
        name=f"eval-{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10_000}",
    )
    project_id, project_name = project.id, project.name
    rows: list[dict[str, Any]] = []
    deployed: list[str] = []
    try:
        for request in requests:
            events: list[ProgressEvent] = []
            started = time.monotonic()
            created = request_run(
                services, settings=get_settings(), actor=actor, text=request, project=project_name
            )
            outcome = execute_run(services, created.run_id, events.append)
            seconds = time.monotonic() - started
            if outcome.n8n_workflow_id:
                deployed.append(outcome.n8n_workflow_id)
            context = RunContext.of(get_run(services, created.run_id).context)
            steps = [str(e.step) for e in events]
            first_deploy = steps.index("deploying") if "deploying" in steps else None
            execution = context.last_execution
            rows.append(
                {
                    "request": request,
                    "run_id": created.run_id,
                    "n8n_workflow_id": outcome.n8n_workflow_id,
                    "first_reply_valid": first_deploy is not None
                    and "repairing" not in steps[:first_deploy],
                    "valid_after_repair": first_deploy is not None,
                    "deployed": bool(outcome.ok and outcome.n8n_workflow_id),
                    "test_execution": execution.status if execution is not None else "none",
                    "question": outcome.question,
                    "repairs": outcome.repairs,
                    "tool_rounds": context.tool_rounds,
                    "tokens": outcome.tokens,
                    "seconds": round(seconds, 2),
                }
            )
    finally:
        if not keep:
            _clean_up(services, project_id, deployed)
        else:
            print(f"kept project {project_name!r}", file=sys.stderr)
    return rows


def _clean_up(services: PipelineServices, project_id: int, n8n_ids: list[str]) -> None:
    from core.kernel.errors import ClixenError
    from core.usecases.projects import discard_project

    for n8n_id in n8n_ids:
        try:
            services.n8n.delete_workflow(n8n_id)
        except ClixenError as e:
            print(f"could not delete n8n workflow {n8n_id}: {e}", file=sys.stderr)
    discard_project(services.session_factory, actor=cli_actor(), project_id=project_id)


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows) or 1
    return {
        "requests": len(rows),
        "first_reply_valid": sum(r["first_reply_valid"] for r in rows) / n,
        "valid_after_repair": sum(r["valid_after_repair"] for r in rows) / n,
        "deployed": sum(r["deployed"] for r in rows) / n,
        "test_execution_ok": sum(r["test_execution"] == "success" for r in rows) / n,
        "repairs": sum(r["repairs"] for r in rows),
        "tool_rounds": sum(r["tool_rounds"] for r in rows),
        "tokens": sum(r["tokens"] for r in rows),
        "seconds": round(sum(r["seconds"] for r in rows), 2),
    }


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def table(rows: list[dict[str, Any]], totals: dict[str, Any]) -> str:
    head = "| request | " + " | ".join(label for _, label in COLUMNS) + " |"
    lines = [head, "| --- |" + " ---: |" * len(COLUMNS)]
    for r in rows:
        request = r["request"] if len(r["request"]) <= 50 else r["request"][:49] + "…"
        lines.append(f"| {request} | " + " | ".join(_cell(r[key]) for key, _ in COLUMNS) + " |")
    lines.append(
        f"| total ({totals['requests']}) | {totals['first_reply_valid']:.0%} | "
        f"{totals['valid_after_repair']:.0%} | {totals['deployed']:.0%} | "
        f"{totals['test_execution_ok']:.0%} ok | {totals['repairs']} | "
        f"{totals['tool_rounds']} | {totals['tokens']} | "
        f"{totals['seconds']} |"
    )
    return "\n".join(lines)
