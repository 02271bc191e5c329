"""Starting and listing runs: `start_run` stores a request as a `queued` run (the core entry point
of a create or an edit: it sanitises the request, checks the user's role and their number of
requests in progress, once), `get_run` reads one, `list_runs` lists a workspace's newest. Nothing
here drives a run: see `engine`; a new run is claimed by this process until a worker drives it
(see `claims`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.errors import InvalidInput, NotFound
from core.kernel.models import PipelineRun, Project, Workflow
from core.kernel.safety import sanitize_request, valid_timezone
from core.kernel.vocabulary import IN_PROGRESS, Role, RunKind, RunState, WorkflowStatus
from core.pipeline.claims import hold_here
from core.pipeline.types import PipelineError, PipelineServices, RunContext
from core.workspace import quotas
from core.workspace.projects import project_for, require_role


def start_run(
    services: PipelineServices,
    *,
    team_id: str,
    user_id: str,
    project_id: int,
    request: str,
    kind: RunKind | str = RunKind.create,
    workflow_id: int | None = None,
    idempotency_key: str | None = None,
    slack_channel_id: str | None = None,
    slack_thread_ts: str | None = None,
    test_sample: Mapping[str, Any] | None = None,
    timezone: str | None = None,
) -> tuple[PipelineRun, bool]:
    """The persisted run (state `queued`) for this request, and whether it was created now.

    A known `idempotency_key` returns the existing run and starts nothing (Slack retries, double
    clicks). `test_sample` is the JSON body of a test call made after deploy when the workflow
    starts with a webhook; `timezone` is the requester's (an unknown name is dropped). The run
    is claimed by this process (`services.owner`), whose heartbeat keeps the claim while the
    run waits for a worker: drive it with `execute_run`.
    Raises PermissionDenied (the user is not an editor of the project), InvalidInput (an
    unusable request or kind), NotFound, TooManyRuns (the user has `max_concurrent_runs`
    requests in progress already), NotReady (this replica's database, n8n or n8n-mcp is not
    available: nothing is stored).
    """
    if services.readiness is not None:
        services.readiness.require_ready()
    if kind not in (RunKind.create, RunKind.edit):
        raise InvalidInput(f"Unknown run kind {kind!r}: use create or edit.")
    kind = RunKind(kind)
    if kind == RunKind.edit and workflow_id is None:
        raise InvalidInput("An edit needs the workflow to change.")
    if idempotency_key is not None:
        existing = run_by_key(services.session_factory, idempotency_key)
        if existing is not None:
            return existing, False
    clean = sanitize_request(request)
    context = RunContext(
        test_sample=dict(test_sample) if test_sample is not None else None,
        timezone=valid_timezone(timezone),
    )
    with services.session_factory.begin() as session:
        require_role(
            session=session,
            project_id=project_id,
            team_id=team_id,
            user_id=user_id,
            at_least=Role.editor,
        )
        if workflow_id is not None:
            wf = session.get(Workflow, workflow_id)
            if wf is None or wf.project_id != project_id or wf.status == WorkflowStatus.deleted:
                raise NotFound(f"Workflow {workflow_id} does not exist in this project.")
            if kind == RunKind.edit and wf.head_version < 1:
                raise InvalidInput("That workflow has no deployed version to edit yet.")
        hold_run_place(services, session, team_id=team_id, user_id=user_id)
        new_run = PipelineRun(
            project_id=project_id,
            workflow_id=workflow_id,
            team_id=team_id,
            user_id=user_id,
            kind=kind,
            request=clean,
            state=RunState.queued,
            idempotency_key=idempotency_key,
            context=context.stored(),
            slack_channel_id=slack_channel_id,
            slack_thread_ts=slack_thread_ts,
        )
        hold_here(services, new_run)
        run: PipelineRun | None = new_run
        try:
            with session.begin_nested():
                session.add(run)
        except IntegrityError:
            run = None
    if run is None:
        # The same key arrived twice at once; the other request's run is the one.
        existing = run_by_key(services.session_factory, idempotency_key or "")
        if existing is None:
            raise PipelineError("The run could not be stored; please try again.")
        return existing, False
    services.claims.hold(services, run.id, services.owner)
    return run, True


def hold_run_place(
    services: PipelineServices, session: Session, *, team_id: str, user_id: str
) -> None:
    """Raise TooManyRuns unless the user has room for one more request in progress; the place
    stays held (their quota row locked) until `session`'s transaction ends, so concurrent starts
    of one user are counted one at a time."""
    quotas.lock_user_day(session=session, team_id=team_id, user_id=user_id, now=services.clock())
    running = session.scalar(
        select(func.count(PipelineRun.id)).where(
            PipelineRun.team_id == team_id,
            PipelineRun.user_id == user_id,
            PipelineRun.state.in_(IN_PROGRESS),
        )
    )
    quotas.check_concurrent_runs(running=int(running or 0), settings=services.settings)


def run_by_key(factory: sessionmaker[Session], key: str) -> PipelineRun | None:
    """The run started with idempotency key `key`, if any (detached)."""
    with factory() as session:
        return session.scalar(select(PipelineRun).where(PipelineRun.idempotency_key == key))


def run_and_project(
    *, session: Session, run_id: int, team_id: str, user_id: str, at_least: Role
) -> tuple[PipelineRun, Project]:
    """A run of the user's workspace and its project, when the user has `at_least` rights in
    that project. NotFound for no such run (or one of another workspace: the same answer),
    PermissionDenied below `at_least`. Run ids come back from chat buttons: always untrusted."""
    run = session.get(PipelineRun, run_id)
    if run is None or run.team_id != team_id:
        raise NotFound(f"There is no request {run_id}.")
    project = project_for(
        session=session, project_id=run.project_id, team_id=team_id, user_id=user_id,
        at_least=at_least,
    )  # fmt: skip
    return run, project


def get_run(services: PipelineServices, run_id: int) -> PipelineRun:
    """Run `run_id` as stored now (detached); NotFound if there is none."""
    with services.session_factory() as session:
        run = session.get(PipelineRun, run_id)
        if run is None:
            raise NotFound(f"Run {run_id} does not exist.")
        return run


def list_runs(
    *,
    session: Session,
    team_id: str,
    project_id: int | None = None,
    state: RunState | str | None = None,
    limit: int = 20,
) -> list[PipelineRun]:
    """The newest runs of a workspace (optionally one project, one state), newest first.
    An unknown `state` is InvalidInput listing the states there are."""
    if state is not None and state not in {s.value for s in RunState}:
        raise InvalidInput(
            f"{str(state)[:40]!r} is not a run state; use one of: "
            + ", ".join(s.value for s in RunState)
            + "."
        )
    stmt = select(PipelineRun).where(PipelineRun.team_id == team_id)
    if project_id is not None:
        stmt = stmt.where(PipelineRun.project_id == project_id)
    if state is not None:
        stmt = stmt.where(PipelineRun.state == state)
    return list(session.scalars(stmt.order_by(PipelineRun.id.desc()).limit(limit)))
