"""A waiting run goes on: given the credentials it waited for, it resumes where it stopped.

`provide_credentials` binds the project's secrets to the waiting nodes (named ones, or the only
secret of an accepted type: `core.credentials.resolve`), writes and tests each through n8n (with
no transaction open) before anything goes live, and only then sends the run on to deploy. A
rejected credential leaves the run waiting, with the reason.
`resume_waiting_runs` does it for every waiting run of a project once a secret arrives.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.credentials import needs as credentials
from core.credentials.needs import adopt_bot_token, bot_token_nodes, slack_channels
from core.credentials.resolve import Resolution, resolve
from core.credentials.secrets import push_secret, secret_key, secret_types
from core.credentials.sync import sync_secrets
from core.kernel.errors import InvalidInput, NotFound
from core.kernel.models import PipelineRun
from core.kernel.vocabulary import Role, RunState
from core.pipeline import claims
from core.pipeline.active import ActiveRun, credentials_message, outcome
from core.pipeline.engine import execute_run
from core.pipeline.runs import get_run, run_and_project
from core.pipeline.types import NeededCredential, PipelineServices, Progress, RunContext, RunOutcome
from core.workspace.projects import require_role

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PostAsBot:
    """What "Post as Clixen" settled: the bot's secret for each waiting Slack node, the public
    channels its workflow posts to (for the bot to join) and the run's thread."""

    chosen: dict[str, str]
    channels: list[str]
    channel: str | None
    thread_ts: str | None


def post_as_bot(
    services: PipelineServices, *, run_id: int, node: str, team_id: str, user_id: str, token: str
) -> PostAsBot:
    """A project owner lets the waiting run's Slack nodes post as the Clixen bot: its token
    becomes the project's slackApi secret (`adopt_bot_token`, owners only) and every waiting
    Slack node is to use it (never bound by type alone). Give the result's `chosen` to
    `provide_credentials` once the bot joined the channels."""
    with services.session_factory.begin() as session:
        run, project = run_and_project(
            session=session, run_id=run_id, team_id=team_id, user_id=user_id, at_least=Role.viewer
        )
        secret = adopt_bot_token(
            session=session,
            project_id=project.id,
            team_id=team_id,
            user_id=user_id,
            token=token,
            key=secret_key(services.settings),
        )
        context = RunContext.of(run.context)
        candidate = context.candidate or {}
        waiting = [n.node for n in context.credentials_needed] or [node]
        settled = PostAsBot(
            chosen=dict.fromkeys(bot_token_nodes(candidate, waiting), secret),
            channels=list(slack_channels(candidate)),
            channel=run.slack_channel_id,
            thread_ts=run.slack_thread_ts,
        )
        project_id = project.id
    # A token set again: its n8n credential follows now (no transaction open).
    push_secret(
        services.session_factory,
        n8n=services.n8n,
        project_id=project_id,
        name=secret,
        key=secret_key(services.settings),
    )
    return settled


def credential_form_project(
    session_factory: sessionmaker[Session], *, run_id: int, team_id: str, user_id: str
) -> str:
    """The name of the waiting run's project, when the user may give it a credential (editors)."""
    with session_factory() as session:
        _, project = run_and_project(
            session=session, run_id=run_id, team_id=team_id, user_id=user_id, at_least=Role.editor
        )
        return project.name


def provide_credentials(
    services: PipelineServices,
    run_id: int,
    *,
    chosen: Mapping[str, str] | None = None,
    team_id: str | None = None,
    user_id: str | None = None,
    progress: Progress | None = None,
) -> RunOutcome:
    """Give a run waiting for credentials the project's secrets and, once every node has one
    that n8n did not reject, drive it on to deploy.

    `chosen`: node name → secret name picked by the user; other nodes get the project's only
    secret of an accepted type. With `team_id`/`user_id`, only an editor of the run's project
    may do it (any editor: a secret is the project's, not the requester's). Raises NotFound,
    PermissionDenied, InvalidInput (a run not waiting, a secret of the wrong type).
    """
    # 1. Read and decide (no lock held across n8n): which secrets the waiting nodes get.
    project_id, context, secrets = _waiting_run(services, run_id, team_id, user_id)
    assert context.candidate is not None
    resolution = resolve(
        context.candidate,
        secrets,
        services.catalog,
        chosen=chosen or {},
        ask=context.ask_credentials,
    )
    # 2. n8n, with no transaction open: each secret's credential written and tested before
    # anything goes live (a rejected token is said now, in words).
    rejected = _write_and_test(services, project_id, sorted(set(resolution.bound.values())))
    # 3. Record, if the run still waits as it did (another click may have sent it on).
    message = _record(services, run_id, context, resolution, rejected)
    if message:
        return outcome(
            ActiveRun.of(services, get_run(services, run_id), progress),
            message=message,
            rejected=" ".join(rejected) or None,
        )
    return execute_run(services, run_id, progress)


def _waiting_run(
    services: PipelineServices, run_id: int, team_id: str | None, user_id: str | None
) -> tuple[int, RunContext, dict[str, str | None]]:
    """The waiting run's project, context and the project's secrets (name → type), once the
    actor may give it credentials."""
    with services.session_factory() as session:
        run = session.get(PipelineRun, run_id)
        if run is None:
            raise NotFound(f"Run {run_id} does not exist.")
        if team_id is not None and run.team_id != team_id:
            raise InvalidInput("This request belongs to another workspace.")
        if team_id is not None and user_id is not None:
            require_role(
                session=session,
                project_id=run.project_id,
                team_id=team_id,
                user_id=user_id,
                at_least=Role.editor,
            )
        if run.state != RunState.awaiting_credentials:
            raise InvalidInput(f"Run {run_id} is not waiting for credentials (it is {run.state}).")
        context = RunContext.of(run.context)
        assert context.candidate is not None
        return run.project_id, context, secret_types(session=session, project_id=run.project_id)


def _write_and_test(services: PipelineServices, project_id: int, bound: list[str]) -> list[str]:
    """Write the n8n credentials of the `bound` secrets and test each; what n8n rejected."""
    rejected: list[str] = []
    if not bound:
        return rejected
    ids = sync_secrets(
        services.session_factory,
        n8n=services.n8n,
        project_id=project_id,
        names=bound,
        key=secret_key(services.settings),
    )
    for name in bound:
        check = credentials.check_credential(services.n8n, ids[name], label=f"Secret {name}")
        if check.rejected:
            rejected.append(check.message)
        elif not check.checked:
            logger.info("credential of secret %s %s", name, check.message)
    return rejected


def _record(
    services: PipelineServices,
    run_id: int,
    context: RunContext,
    resolution: Resolution,
    rejected: list[str],
) -> str:
    """Save what the run got: sent on to deploy (claimed here; returns ""), or still waiting
    (returns why, for the user). InvalidInput when it no longer waits as it did."""
    with services.session_factory.begin() as session:
        run = session.get(PipelineRun, run_id, with_for_update=True)
        if (
            run is None
            or run.state != RunState.awaiting_credentials
            or RunContext.of(run.context).candidate != context.candidate
        ):
            state = run.state if run is not None else "gone"
            raise InvalidInput(f"Run {run_id} is not waiting for credentials (it is {state}).")
        if rejected or resolution.missing:
            waiting = RunContext.of(run.context)
            waiting.credentials_needed = [
                NeededCredential(node=n.node, types=list(n.types)) for n in resolution.missing
            ] or waiting.credentials_needed
            run.context = waiting.stored()
            return " ".join(rejected) or credentials_message(waiting.credentials_needed)
        context.candidate = resolution.workflow
        context.credentials_needed = []
        context.ask_credentials = []
        run.context = context.stored()
        run.state = RunState.deploying
        run.step_detail = "deploying"
        claims.hold_here(services, run)
        return ""


def waiting_runs(session: Session, project_id: int) -> list[int]:
    """The ids of the project's runs waiting for credentials, oldest first."""
    return list(
        session.scalars(
            select(PipelineRun.id)
            .where(
                PipelineRun.project_id == project_id,
                PipelineRun.state == RunState.awaiting_credentials,
            )
            .order_by(PipelineRun.id)
        )
    )


def resume_waiting_runs(
    services: PipelineServices, *, project_id: int, progress: Progress | None = None
) -> list[RunOutcome]:
    """After a secret was set: every run of the project waiting for credentials tries again."""
    with services.session_factory() as session:
        ids = waiting_runs(session, project_id)
    return [provide_credentials(services, run_id, progress=progress) for run_id in ids]
