"""Ask for a workflow and follow the run: request a run as an actor, find where a run shows
itself, what a reply in a thread is about, and the summary of a finished run.

The pattern of every use case (see `core.usecases`): an `Actor`, keyword dependencies, a typed
result; the front end renders it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from core.conversation.threads import (
    RunThread,
    ThreadTarget,
    find_run_thread,
    find_thread_target,
    set_run_message,
)
from core.credentials.secrets import list_secrets
from core.deploy.workflows import find_workflow, get_version
from core.graph import Layout, text_outline, workflow_graph
from core.kernel import slack_trigger
from core.kernel.errors import LLMNotConfigured, NotFound
from core.kernel.models import PipelineRun
from core.kernel.settings import Settings
from core.kernel.vocabulary import Role, RunKind
from core.pipeline import PipelineServices, RunOutcome, list_runs, start_run
from core.pipeline.credential_wait import CredentialChoice, credential_choices
from core.usecases.projects import project_named
from core.usecases.versions import version_picture
from core.workspace.policy import NodePolicy, policy_for_project
from core.workspace.projects import Actor


@dataclass(frozen=True)
class RequestedRun:
    """A run a request started: its id and the request as stored (sanitised); `created` is
    False when the idempotency key had already started it (a retry, a double submit)."""

    run_id: int
    request: str
    created: bool


def request_run(
    pipeline: PipelineServices | None,
    *,
    settings: Settings,
    actor: Actor,
    text: str,
    idempotency_key: str | None = None,
    channel_id: str | None = None,
    thread_ts: str | None = None,
    workflow_id: int | None = None,
    project: str | None = None,
    timezone: str | None = None,
    test_sample: dict[str, Any] | None = None,
) -> RequestedRun:
    """Start a run for `text`: a new workflow in the project called `project` (None: the
    actor's active project), or (with `workflow_id`) an edit of that workflow in its own
    project. The run is stored `queued` and claimed by this process; drive it with
    `core.pipeline.execute_run`. `test_sample`: the JSON body of a test call after deploy.

    Raises LLMNotConfigured (no model configured), NotFound (no such workflow or project), and
    what `core.pipeline.start_run` raises: PermissionDenied below editor, InvalidInput,
    TooManyRuns, NotReady.
    """
    if not settings.llm_configured or pipeline is None:
        raise LLMNotConfigured()
    with pipeline.session_factory.begin() as session:
        if workflow_id is not None:
            wf = find_workflow(session=session, workflow_id=workflow_id)
            if wf is None:
                raise NotFound(f"There is no workflow #{workflow_id}.")
            project_id = wf.project_id
        else:
            # start_run checks the editor role; here only membership picks the project.
            project_id = project_named(session, actor=actor, name=project, at_least=Role.viewer).id
    run, created = start_run(
        pipeline,
        team_id=actor.team_id,
        user_id=actor.user_id,
        project_id=project_id,
        request=text,
        kind=RunKind.edit if workflow_id is not None else RunKind.create,
        workflow_id=workflow_id,
        idempotency_key=idempotency_key,
        slack_channel_id=channel_id,
        slack_thread_ts=thread_ts,
        timezone=timezone,
        test_sample=test_sample,
    )
    return RequestedRun(run_id=int(run.id), request=run.request, created=created)


def runs(
    session_factory: sessionmaker[Session],
    *,
    actor: Actor,
    project: str | None = None,
    state: str | None = None,
    limit: int = 20,
) -> list[PipelineRun]:
    """The newest runs of the actor's workspace, newest first: of the project called `project`
    (its members only) or of every project when None; optionally only those in `state`."""
    with session_factory.begin() as session:
        project_id = (
            project_named(session, actor=actor, name=project, at_least=Role.viewer).id
            if project is not None
            else None
        )
        return list_runs(
            session=session,
            team_id=actor.team_id,
            project_id=project_id,
            state=state,
            limit=max(1, min(limit, 200)),
        )


@dataclass(frozen=True)
class PromptInputs:
    """What a request's prompt takes from its project: its secrets' names (never values) and
    the node policy in force."""

    secret_names: list[str]
    policy: NodePolicy
    project: str = ""  # the project's name


def prompt_inputs(
    session_factory: sessionmaker[Session], *, actor: Actor, project: str | None
) -> PromptInputs:
    """The prompt inputs of the project called `project` (None: the actor's active one), for
    its members."""
    with session_factory.begin() as session:
        found = project_named(session, actor=actor, name=project, at_least=Role.viewer)
        names = [s.name for s in list_secrets(session=session, project_id=found.id)]
        policy = policy_for_project(session=session, project_id=found.id)
        return PromptInputs(names, policy, found.name)


def record_run_message(
    session_factory: sessionmaker[Session],
    *,
    run_id: int,
    message_ts: str,
    thread_ts: str | None = None,
) -> None:
    """Remember where the run shows its progress (and the thread opened for it, if one was)."""
    with session_factory.begin() as session:
        recorded = set_run_message(
            session=session, run_id=run_id, message_ts=message_ts, thread_ts=thread_ts
        )
    if not recorded:
        raise NotFound(f"There is no request {run_id}.")


def run_thread(session_factory: sessionmaker[Session], run_id: int) -> RunThread | None:
    """Where the run lives in chat (channel, thread, progress message) and its request; None
    for an unknown run."""
    with session_factory.begin() as session:
        return find_run_thread(session=session, run_id=run_id)


def thread_target(
    session_factory: sessionmaker[Session], *, actor: Actor, channel_id: str, thread_ts: str
) -> ThreadTarget | None:
    """What a reply in this thread of the actor's workspace is about: ("answer", run id) for a
    run waiting on a question, ("edit", workflow id) for a workflow made there, else None."""
    with session_factory.begin() as session:
        return find_thread_target(
            session=session, team_id=actor.team_id, channel_id=channel_id, thread_ts=thread_ts
        )


def waiting_for(
    session_factory: sessionmaker[Session], outcome: RunOutcome
) -> list[CredentialChoice]:
    """What a run waiting for credentials asks for, node by node, with the project's secrets
    of each accepted type."""
    return credential_choices(session_factory, outcome.run_id, list(outcome.credentials_needed))


@dataclass(frozen=True)
class RunSummary:
    """What a succeeded run made: the deployed version, what it does (outline, the model's
    description), where to open it in n8n, and its picture
    (the nodes an edit changed marked)."""

    workflow_id: int
    version: int
    name: str
    description: str | None
    outline: list[str]
    n8n_url: str | None
    thread_ts: str | None
    picture: Layout
    # Its Slack trigger (issue 25): runs by hand (a Run button), listens in these channels.
    runs_by_hand: bool = False
    listens_in: tuple[str, ...] = ()


def run_summary(
    session_factory: sessionmaker[Session], *, settings: Settings, outcome: RunOutcome
) -> RunSummary:
    """The summary of a succeeded run (`outcome.ok` with its workflow and version)."""
    if outcome.workflow_id is None or outcome.version is None:
        raise NotFound(f"Request {outcome.run_id} made no workflow.")
    with session_factory.begin() as session:
        wf = find_workflow(session=session, workflow_id=outcome.workflow_id)
        if wf is None:
            raise NotFound(f"There is no workflow #{outcome.workflow_id}.")
        name, n8n_id = wf.name, wf.n8n_workflow_id
        thread = wf.slack_thread_ts
        payload = dict(
            get_version(session=session, workflow_id=wf.id, version=outcome.version).json_payload
        )
        if thread is None:
            run = find_run_thread(session=session, run_id=outcome.run_id)
            thread = run.thread_ts if run else None
    graph = workflow_graph(payload)
    base = settings.n8n_public_url or settings.n8n_url
    return RunSummary(
        workflow_id=outcome.workflow_id,
        version=outcome.version,
        name=name,
        description=outcome.summary,
        outline=text_outline(graph),
        n8n_url=f"{base.rstrip('/')}/workflow/{n8n_id}" if base and n8n_id else None,
        thread_ts=thread,
        picture=version_picture(
            session_factory,
            workflow_id=outcome.workflow_id,
            version=outcome.version,
            title=f"{name} · v{outcome.version}",
        ),
        runs_by_hand=slack_trigger.runs_by_hand(payload),
        listens_in=slack_trigger.listens_in(payload),
    )
