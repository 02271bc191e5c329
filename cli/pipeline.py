"""`clixen create|edit|answer|runs`: the generation pipeline from a terminal.

The same core functions as Slack: `start_run`, `execute_run`, `answer_question`. Exit codes:
0 deployed, 1 failed, 2 configuration or usage problem (e.g. no LLM configured), 3 waiting for an
answer to a clarifying question (`clixen answer RUN "…"` continues).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from cli.context import cli_actor, cli_n8n, cli_session_factory
from core.kernel.errors import InvalidInput, LLMNotConfigured
from core.kernel.vocabulary import IN_PROGRESS, RunKind, RunState

if TYPE_CHECKING:
    from core.pipeline import PipelineServices, ProgressEvent, RunOutcome

logger = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_QUESTION = 0, 1, 2, 3
# The run waits for a credential: `clixen secret set` gives it and resumes the run.
EXIT_CREDENTIALS = 4


def register(sub: Any) -> None:
    cr = sub.add_parser("create", help="turn a plain-language request into a running workflow")
    cr.add_argument("request", help='what to automate, e.g. "every morning post … to #news"')
    cr.add_argument("--project", "-p", help="project name (default: your active project)")
    _common(cr)
    cr.set_defaults(func=_create)

    ed = sub.add_parser("edit", help="change a deployed workflow (a new version, same n8n id)")
    ed.add_argument("workflow", help="workflow name or #id")
    ed.add_argument("request", help='the change, e.g. "also post errors to #ops"')
    ed.add_argument("--project", "-p")
    _common(ed)
    ed.set_defaults(func=_edit)

    an = sub.add_parser("answer", help="answer a run's clarifying question and continue it")
    an.add_argument("run", type=int, help="run id printed by create/edit")
    an.add_argument("answer", help="your answer")
    an.add_argument("--no-input", action="store_true", help="never prompt on the terminal")
    an.set_defaults(func=_answer)

    rs = sub.add_parser("runs", help="recent pipeline runs, newest first")
    rs.add_argument("--state", help="only runs in this state (e.g. failed, awaiting_input)")
    rs.add_argument("--project", "-p")
    rs.add_argument("--limit", type=int, default=20)
    rs.add_argument("--json", action="store_true", help="one JSON object per line")
    rs.set_defaults(func=_runs)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--test-sample",
        metavar="JSON",
        help="for a webhook workflow: JSON body of a test call made right after deploy",
    )
    p.add_argument("--watch", type=float, default=5.0, metavar="S", help="seconds to watch runs")
    p.add_argument(
        "--no-input",
        action="store_true",
        help="print a clarifying question and exit 3 instead of asking on the terminal",
    )


@contextmanager
def _services(*, watch_s: float = 5.0) -> Iterator[PipelineServices]:
    from core.kernel.settings import get_settings
    from core.pipeline import build_services

    settings = get_settings()
    if not settings.llm_configured:
        raise LLMNotConfigured()  # before the database or n8n is opened
    with ExitStack() as stack:
        factory = stack.enter_context(cli_session_factory())
        n8n = stack.enter_context(cli_n8n())
        services = build_services(settings, session_factory=factory, n8n=n8n, watch_s=watch_s)
        if services.mcp is not None:
            stack.callback(services.mcp.close)
        yield services


def _print_progress(event: ProgressEvent) -> None:
    if event.step in (
        RunState.succeeded,
        RunState.failed,
        RunState.awaiting_input,
        RunState.awaiting_credentials,
    ):
        return  # the final outcome is printed once, below
    print(f"[run {event.run_id}] {event.step}: {event.message}", flush=True)


def _sample(args: argparse.Namespace) -> dict[str, Any] | None:
    if not getattr(args, "test_sample", None):
        return None
    try:
        value = json.loads(args.test_sample)
    except json.JSONDecodeError as e:
        raise InvalidInput(f"--test-sample is not valid JSON: {e.msg}") from e
    if not isinstance(value, dict):
        raise InvalidInput("--test-sample must be a JSON object.")
    return value


def _finish(services: PipelineServices, outcome: RunOutcome, *, no_input: bool) -> int:
    """Print the outcome; ask clarifying questions on an interactive terminal."""
    from core.pipeline import answer_question

    while outcome.state == RunState.awaiting_input:
        print(f"[run {outcome.run_id}] question: {outcome.question}")
        if no_input or not sys.stdin.isatty():
            print(f'Answer with: clixen answer {outcome.run_id} "your answer"')
            return EXIT_QUESTION
        reply = input("> ").strip()
        if not reply:
            print(f'No answer given. Later: clixen answer {outcome.run_id} "your answer"')
            return EXIT_QUESTION
        outcome = answer_question(services, outcome.run_id, reply, _print_progress)
    if outcome.state == RunState.awaiting_credentials:
        print_credentials_needed(outcome)
        return EXIT_CREDENTIALS
    if outcome.ok:
        print(outcome.message)
        if outcome.review_id is not None:
            # Review before live: nothing in n8n yet; an owner decides.
            print(
                f"workflow #{outcome.workflow_id}: v{outcome.review_version} waits in review "
                f"#{outcome.review_id} (clixen reviews show {outcome.review_id}), run "
                f"{outcome.run_id}, {outcome.tokens} tokens"
            )
        elif outcome.workflow_id is not None:
            print(
                f"workflow #{outcome.workflow_id} (n8n id {outcome.n8n_workflow_id}), "
                f"version {outcome.version}, run {outcome.run_id}, "
                f"{outcome.repairs} repair(s), {outcome.tokens} tokens"
            )
        return EXIT_OK
    print(f"[run {outcome.run_id}] failed:\n{outcome.message}", file=sys.stderr)
    return EXIT_FAILED


def print_credentials_needed(outcome: RunOutcome) -> None:
    """The exact commands that give a waiting run its credentials."""
    from core.catalog.credential_needs import suggested_secret_name
    from core.connect import service_for_type

    print(f"[run {outcome.run_id}] waiting for credentials: {outcome.message}")
    for node, types in outcome.credentials_needed:
        ctype = types[0]
        alternatives = f" (or one of {', '.join(types[1:])})" if len(types) > 1 else ""
        service = service_for_type(ctype)
        if service is not None:  # an OAuth2 account: connected with a link, never pasted
            command = f"clixen connect {service.name} --run {outcome.run_id} --wait"
        else:
            command = f"clixen secret set {suggested_secret_name(ctype)} --type {ctype}"
        print(f"  {node}: {command}{alternatives}")
    print(
        "A secret's value is read from stdin (hidden on a terminal); a connect link opens the "
        "provider's consent page. The run then resumes and deploys."
    )


def _llm_missing(e: LLMNotConfigured) -> int:
    print(str(e), file=sys.stderr)
    return EXIT_CONFIG


def _create(args: argparse.Namespace) -> int:
    return _start(args, kind=RunKind.create)


def _edit(args: argparse.Namespace) -> int:
    return _start(args, kind=RunKind.edit)


def _start(args: argparse.Namespace, *, kind: RunKind) -> int:
    from core.kernel.settings import get_settings
    from core.pipeline import execute_run
    from core.usecases.requests import request_run
    from core.usecases.versions import find_workflow_id

    actor = cli_actor()
    sample = _sample(args)
    try:
        with _services(watch_s=args.watch) as services:
            workflow_id = (
                find_workflow_id(
                    services.session_factory, actor=actor, ref=args.workflow, project=args.project
                )
                if kind == RunKind.edit
                else None
            )
            started = request_run(
                services,
                settings=get_settings(),
                actor=actor,
                text=args.request,
                workflow_id=workflow_id,
                project=args.project,
                test_sample=sample,
            )
            print(f"[run {started.run_id}] started ({kind})", flush=True)
            outcome = execute_run(services, started.run_id, _print_progress)
            return _finish(services, outcome, no_input=args.no_input)
    except LLMNotConfigured as e:
        return _llm_missing(e)


def _answer(args: argparse.Namespace) -> int:
    from core.pipeline import answer_question

    actor = cli_actor()
    try:
        with _services() as services:
            outcome = answer_question(
                services,
                args.run,
                args.answer,
                _print_progress,
                team_id=actor.team_id,
                user_id=actor.user_id,
            )
            return _finish(services, outcome, no_input=args.no_input)
    except LLMNotConfigured as e:
        return _llm_missing(e)


def _runs(args: argparse.Namespace) -> int:
    from core.usecases.requests import runs as list_runs

    with cli_session_factory() as factory:
        found = list_runs(
            factory,
            actor=cli_actor(),
            project=args.project,
            state=args.state,
            limit=args.limit,
        )
    if not found:
        print("no runs")
        return EXIT_OK
    for r in found:
        row = {
            "id": r.id,
            "state": r.state,
            "kind": r.kind,
            "workflow_id": r.workflow_id,
            "repairs": r.total_repairs,
            "tokens": r.prompt_tokens + r.completion_tokens,
            "needs_review": r.needs_review,
            "created_at": r.created_at.isoformat() if r.created_at else None,
            "request": r.request,
        }
        if args.json:
            print(json.dumps(row))
            continue
        request = r.request if len(r.request) <= 60 else r.request[:59] + "…"
        flag = " needs-review" if r.needs_review else ""
        live = " (in progress)" if r.state in IN_PROGRESS else ""
        print(
            f"{r.id:>5}  {r.state:<15} {r.kind:<6} wf={r.workflow_id or '-':<5} "
            f"repairs={r.total_repairs} tokens={row['tokens']}{flag}{live}  {request}"
        )
    return EXIT_OK
