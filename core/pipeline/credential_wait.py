"""A run that needs credentials: it checks references before deploy, stops `awaiting_credentials`
when a node has none the project can give, and resumes where it stopped when the secret arrives.

Contract: a waiting run is neither failed nor in progress (recovery leaves it alone) and keeps its
candidate. `provide_credentials` binds the project's secrets to the waiting nodes (named ones, or
the only secret of an accepted type), tests each through n8n before anything goes live, and only
then sends the run on to deploy. A rejected credential leaves the run waiting, with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.catalog.credential_domains import BOT_NODE_TYPES, BOT_SECRET
from core.credentials import needs as credentials
from core.credentials.secrets import secret_types
from core.kernel.errors import InvalidInput, NotFound
from core.kernel.models import PipelineRun, Secret
from core.kernel.vocabulary import Role, RunState
from core.pipeline import claims
from core.pipeline.active import ActiveRun, StopRun, credentials_message, outcome
from core.pipeline.types import NeededCredential, PipelineServices, Progress, RunContext, RunOutcome
from core.validation import Issue
from core.workspace.projects import require_role

logger = logging.getLogger(__name__)


def project_secret_types(session: Session, project_id: int) -> dict[str, str | None]:
    """The project's secrets: name → credential type (None: not typed yet)."""
    return secret_types(session=session, project_id=project_id)


def wrong_credentials(active: ActiveRun) -> list[Issue]:
    """References in the candidate to a project secret of another credential type."""
    candidate = active.context.candidate or {}
    with active.services.session_factory() as session:
        secrets = project_secret_types(session, active.run.project_id)
    issues = credentials.credential_issues(candidate, active.services.catalog, secrets)
    return [i for i in issues if i.code == "wrong_credential_type"]


def _auto_bind(
    candidate: dict[str, object],
    needs: list[credentials.CredentialNeed],
    secrets: Mapping[str, str | None],
    chosen: Mapping[str, str],
    ask: Sequence[str] = (),
) -> tuple[list[credentials.CredentialNeed], list[str]]:
    """Bind what can be bound: the secret chosen for a node, else the only secret of an accepted
    type — except for the nodes in `ask` (their credential must be chosen again) and never the
    Clixen bot's token (only chosen, and only for a Slack node). Returns the needs left and the
    secrets bound."""
    types = _node_types(candidate)
    left, bound = [], []
    for need in needs:
        name = chosen.get(need.node)
        if name is not None:
            ctype = secrets.get(name, "") if name in secrets else None
            if ctype is None or ctype not in need.types:
                raise InvalidInput(
                    f"Secret {name} is not a {' or '.join(need.types)} credential of this project."
                )
            if name == BOT_SECRET and types.get(need.node) not in BOT_NODE_TYPES:
                raise InvalidInput(
                    f"{BOT_SECRET} is the Clixen bot's own Slack token: only Slack nodes may "
                    f"use it, and {need.node} is not one. Add a credential of its own."
                )
        elif need.node not in ask:
            name = credentials.only_secret(need, secrets)
        if name is None:
            left.append(need)
            continue
        credentials.bind(candidate, node=need.node, credential_type=str(secrets[name]), secret=name)
        bound.append(name)
    return left, bound


def _node_types(candidate: Mapping[str, object]) -> dict[str, object]:
    nodes = candidate.get("nodes")
    return {
        str(n.get("name")): n.get("type")
        for n in (nodes if isinstance(nodes, list) else [])
        if isinstance(n, dict)
    }


def await_credentials(active: ActiveRun) -> None:
    """Before deploy: bind the project's only secret of each needed type (not to the nodes whose
    credential must be chosen again, `RunContext.ask_credentials`); if a node still has none,
    save the run `awaiting_credentials` and stop (StopRun)."""
    candidate = active.context.candidate
    assert candidate is not None
    ask = active.context.ask_credentials
    for node in candidate.get("nodes") or []:
        if isinstance(node, dict) and node.get("name") in ask:
            node.pop("credentials", None)  # whatever a repair wrote there: the user chooses
    needs = credentials.missing_credentials(candidate, active.services.catalog)
    if not needs:
        return
    with active.services.session_factory() as session:
        secrets = project_secret_types(session, active.run.project_id)
    left, _ = _auto_bind(candidate, needs, secrets, {}, active.context.ask_credentials)
    if not left:
        return
    active.context.credentials_needed = [
        NeededCredential(node=n.node, types=list(n.types)) for n in left
    ]
    active.save(RunState.awaiting_credentials, detail="waiting for credentials")
    active.emit(
        RunState.awaiting_credentials, credentials_message(active.context.credentials_needed)
    )
    raise StopRun


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
    from core.credentials.secrets import secret_key
    from core.credentials.sync import ensure_credential
    from core.pipeline.engine import execute_run

    with services.session_factory.begin() as session:
        run = session.get(PipelineRun, run_id, with_for_update=True)
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
        candidate = context.candidate
        assert candidate is not None
        secrets = project_secret_types(session, run.project_id)
        needs = credentials.missing_credentials(candidate, services.catalog)
        left, bound = _auto_bind(candidate, needs, secrets, chosen or {}, context.ask_credentials)
        rejected: list[str] = []
        if bound:
            key = secret_key(services.settings)
            rows = session.scalars(
                select(Secret).where(Secret.project_id == run.project_id, Secret.name.in_(bound))
            )
            for row in rows:
                # Tested before anything goes live: a rejected token is said now, in words.
                ensure_credential(session, n8n=services.n8n, row=row, key=key)
                check = credentials.check_credential(
                    services.n8n, str(row.n8n_credential_id), label=f"Secret {row.name}"
                )
                if check.rejected:
                    rejected.append(check.message)
                elif not check.checked:
                    logger.info("credential of secret %s %s", row.name, check.message)
        if rejected or left:
            waiting = RunContext.of(run.context)
            waiting.credentials_needed = [
                NeededCredential(node=n.node, types=list(n.types)) for n in left
            ] or waiting.credentials_needed
            run.context = waiting.stored()
            message = " ".join(rejected) or credentials_message(waiting.credentials_needed)
        else:
            context.candidate = candidate
            context.credentials_needed = []
            context.ask_credentials = []
            run.context = context.stored()
            run.state = RunState.deploying
            run.step_detail = "deploying"
            claims.hold_here(services, run)
            message = ""
    if message:
        from core.pipeline.runs import get_run

        return outcome(ActiveRun.of(services, get_run(services, run_id), progress), message=message)
    return execute_run(services, run_id, progress)


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
