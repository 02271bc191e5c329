"""Deploy a workflow version to n8n (create, or update the same n8n id), activate it, read it
back to confirm, and keep every version.

Every deploy path (pipeline, Slack, CLI, HTTP API, rollback) goes through `deploy_version`, so the
settings filter, the validation gate (with the project's node policy: denied types, inline
sub-workflows, other projects' workflows, internal hosts), authorization, quota and version
history cannot be skipped.

Order of a deploy, chosen so nothing is lost if n8n or this process fails halfway:
  1. one short transaction: authorize, pass the gate (`gate.check`: bind the project's secrets
     by name, cut the settings to what the product sets, each change a progress line, and
     validate); then, with no transaction open, sync the secrets to n8n credentials
     (`gate.bind`); then one short transaction: authorize again, reserve quota, allocate vN
     under a row lock on the workflow, store vN as `pending`;
  2. n8n calls (no transaction open): create or update, activate, read back and compare;
  3. one short transaction: vN `deployed` (previous head `superseded`), or vN `failed` with
     n8n's message and the quota refunded.
Deploys of one workflow are serialized by a lock on the workflow (a Postgres advisory lock held
on its own autocommit connection, so no transaction stays open across HTTP calls).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core import triggers
from core.catalog import NodeCatalog
from core.credentials.secrets import secret_key
from core.deploy.errors import DeployFailed, HeadMoved, ReviewPending
from core.deploy.gate import bind, check, parse, unreserved_name
from core.deploy.lock import workflow_lock
from core.deploy.publish import WAIT_NOTE_S, SayLine, push, still_waiting
from core.deploy.readback import Mismatch
from core.deploy.review import open_request, request_review, review_required
from core.deploy.settle import fail, succeed
from core.deploy.workflows import get_version, get_workflow, head_version
from core.kernel.errors import InvalidInput
from core.kernel.models import (
    ProcessedAction,
    VersionReview,
    Workflow,
    WorkflowVersion,
    utcnow,
)
from core.kernel.settings import Settings
from core.kernel.vocabulary import Role, VersionSource, VersionStatus, WorkflowStatus
from core.n8n import N8nAPIError, N8nClient, N8nConnectionError, N8nError, N8nUnauthorized
from core.n8n.workflow_json import N8nWorkflow, checksum
from core.workspace import quotas
from core.workspace.projects import Actor

log = logging.getLogger(__name__)


def _quiet(_: str) -> None:
    pass


def _n8n_message(e: Exception) -> str:
    return e.message if isinstance(e, N8nAPIError) else str(e)


def replay(session_factory: sessionmaker[Session], key: str) -> WorkflowVersion | None:
    with session_factory.begin() as session:
        done = session.get(ProcessedAction, key)
        if done is None:
            return None
        return get_version(
            session=session,
            workflow_id=int(done.result["workflow_id"]),
            version=int(done.result["version"]),
        )


# --- workflows --------------------------------------------------------------------------------


def deploy_version(
    *,
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    workflow_id: int,
    json_payload: Mapping[str, Any] | N8nWorkflow,
    source: VersionSource,
    actor: Actor,
    prompt: str | None = None,
    run_id: int | None = None,
    rolled_back_from: int | None = None,
    idempotency_key: str | None = None,
    progress: SayLine | None = None,
    settings: Settings,
    expected_head: int | None = None,
    catalog: NodeCatalog | None = None,
    checked: str | None = None,
    review: bool = True,
) -> WorkflowVersion:
    """Deploy `json_payload` as the workflow's next version and return it (status `deployed`).

    `catalog`: the node catalog to validate with (the run's; default the shipped one).
    `checked`: the digest of the gate's `inspect` of this same payload, from the pipeline's
    validate step: validation is then not repeated unless the payload or the policy changed.

    Node credentials that name a project secret (`{"slackApi": {"name": "SLACK_TOKEN"}}`) are
    bound to that secret's n8n credential first
    (`core.credentials.sync.sync_project_credentials`, with CLIXEN_SECRET_KEY from `settings`);
    the stored version holds the bound references, never a value.
    Workflow settings the product does not let the LLM choose are cut before validation
    (`filter_settings`); each change is reported through `progress`.

    A node that needs a credential and names none gets the project's only secret of an accepted
    type (never the bot's token); when it cannot, CredentialsMissing is raised before n8n.

    Raises PermissionDenied (actor below editor, or a credential that is not the project's),
    ValidationFailed (validation errors, including the project's node policy), QuotaExceeded,
    SettingsError (secrets used but no CLIXEN_SECRET_KEY), InvalidInput (a secret the project
    does not have), DeployFailed (n8n refused it: the version is kept as `failed` with n8n's
    message and the quota is refunded) or DeployBusy.
    With an `idempotency_key` seen before, returns the version that key produced.
    `expected_head`: the version the payload was built from (0 for a workflow never deployed);
    when the head moved past it meanwhile (a rollback, an edit, a repair), raises HeadMoved and
    deploys nothing, so a change made from an older version never silently undoes a newer one.

    Review before live (the project's setting, `core.deploy.review`): with it on, the version
    passes every guard above and is stored `awaiting_review` with a review request, nothing is
    sent to n8n, and ReviewPending names the request (the same payload asked again names the
    same request). `review=False` only for what is not a new workflow version of a person's or
    the model's making: resuming the running version, an owner's restore.
    """
    say = progress or _quiet
    _, payload = parse(json_payload)  # size guards and only the fields n8n takes
    key = f"deploy:{idempotency_key}" if idempotency_key else None
    # Everything this deploy asks of n8n ends within CLIXEN_N8N_DEADLINE_S.
    deadline_s = settings.n8n_deadline_s
    with workflow_lock(session_factory, workflow_id), n8n.deadline(deadline_s):
        if key and (earlier := replay(session_factory, key)) is not None:
            return earlier
        trigger = prepare_trigger(session_factory, workflow_id, payload, actor, settings)
        new = _NewVersion(
            workflow_id=workflow_id,
            source=VersionSource(source),
            actor=actor,
            prompt=prompt,
            run_id=run_id,
            rolled_back_from=rolled_back_from,
            expected_head=expected_head,
            review=review,
        )
        version, payload, n8n_id, reserved_at = _allocate(
            session_factory,
            new,
            payload,
            say=say,
            n8n=n8n,
            settings=settings,
            catalog=catalog,
            checked=checked,
        )
        if version.status == VersionStatus.awaiting_review:
            raise _pending(session_factory, version)
        return publish_stored(
            session_factory,
            n8n,
            trigger=trigger,
            version=version,
            payload=payload,
            n8n_id=n8n_id,
            actor=actor,
            reserved_at=reserved_at,
            key=key,
            say=say,
            deadline_s=deadline_s,
        )


def publish_stored(
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    *,
    trigger: triggers.Prepared,
    version: WorkflowVersion,
    payload: dict[str, Any],
    n8n_id: str | None,
    actor: Actor,
    reserved_at: dt.datetime,
    key: str | None,
    say: SayLine,
    deadline_s: float,
) -> WorkflowVersion:
    """Phases 2 and 3 of a deploy (under the workflow's lock, no transaction open): n8n gets
    the stored version `version`; it is recorded `deployed`, or `failed` with n8n's message."""
    try:
        with still_waiting(say, every_s=min(WAIT_NOTE_S, deadline_s / 4)):
            n8n_id = push(
                session_factory=session_factory,
                n8n=n8n,
                workflow_id=version.workflow_id,
                n8n_id=n8n_id,
                payload=trigger.for_n8n(session_factory=session_factory, n8n=n8n, payload=payload),
                version=version.version,
                say=say,
            )
    except (N8nError, Mismatch) as e:
        refused_key = isinstance(e, N8nUnauthorized)
        fail(
            session_factory=session_factory,
            n8n=n8n,
            version=version,
            actor=actor,
            reserved_at=reserved_at,
            message=_n8n_message(e),
            # n8n refused the key: it changed nothing, and would refuse the restore too.
            restore_head=not refused_key,
        )
        raise _deploy_failed(e, version.version) from e
    except BaseException:
        # Anything unexpected (a bug, the database, Ctrl-C): never leave vN pending with the
        # quota taken; the original error is what the caller sees.
        _fail_interrupted(session_factory, n8n, version, actor, reserved_at)
        raise
    done = succeed(
        session_factory=session_factory,
        version=version,
        n8n_id=n8n_id,
        actor=actor,
        key=key,
        # In the same transaction: the subscriptions become the version's as it goes live.
        also=lambda session: trigger.activated(
            session, team_id=actor.team_id, version=version.version
        ),
    )
    say(f"v{done.version} deployed and active in n8n (id {n8n_id})")
    return done


def _deploy_failed(e: N8nError | Mismatch, version: int) -> DeployFailed:
    """What the caller is told when n8n refused version `version` or did not answer."""
    what = (
        "n8n did not answer while deploying"
        if isinstance(e, N8nConnectionError)
        else "could not deploy"
        if isinstance(e, N8nUnauthorized)
        else "n8n did not accept"
    )
    return DeployFailed(
        f"{what} version {version}: {_n8n_message(e)}",
        n8n_message=_n8n_message(e),
        version=version,
        status=e.status if isinstance(e, N8nAPIError) else None,
        unanswered=isinstance(e, N8nConnectionError),
    )


def _fail_interrupted(
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    version: WorkflowVersion,
    actor: Actor,
    reserved_at: dt.datetime,
) -> None:
    """vN `failed` (quota refunded) after an internal error; a failure here is not the news."""
    with contextlib.suppress(Exception):
        fail(
            session_factory=session_factory,
            n8n=n8n,
            version=version,
            actor=actor,
            reserved_at=reserved_at,
            message="The deploy was interrupted by an internal error.",
            category="internal",
        )


def prepare_trigger(
    session_factory: sessionmaker[Session],
    workflow_id: int,
    payload: dict[str, Any],
    actor: Actor,
    settings: Settings,
) -> triggers.Prepared:
    """The version's Slack trigger checked, where it listens checked with Slack, and
    CLIXEN_SECRET_KEY (which seals its webhook secret) required, before anything is stored (no
    transaction open); an editor only, like the deploy itself."""
    if triggers.has_trigger(payload):
        with session_factory.begin() as session:
            authorized(session, workflow_id, actor)
    return triggers.prepare(
        workflow_id=workflow_id,
        payload=payload,
        user_id=actor.user_id,
        key=lambda: secret_key(settings),
    )


@dataclass(frozen=True)
class _NewVersion:
    """What the version about to be stored says of itself."""

    workflow_id: int
    source: VersionSource
    actor: Actor
    prompt: str | None
    run_id: int | None
    rolled_back_from: int | None
    expected_head: int | None
    review: bool = True


def _allocate(
    session_factory: sessionmaker[Session],
    new: _NewVersion,
    payload: dict[str, Any],
    *,
    say: SayLine,
    n8n: N8nClient,
    settings: Settings,
    catalog: NodeCatalog | None,
    checked: str | None,
) -> tuple[WorkflowVersion, dict[str, Any], str | None, dt.datetime]:
    """Phase 1 of a deploy: the payload through the gate, the project's secrets bound in n8n
    (between the two transactions), then vN stored `pending` (or `awaiting_review` with its
    request); the version, the payload as stored, the n8n id to update and when the deploy
    quota was reserved."""
    workflow_id, actor, expected_head = new.workflow_id, new.actor, new.expected_head
    project_id, payload = _gate(
        session_factory, new, payload, say=say, catalog=catalog, checked=checked
    )
    # After validation (a refused workflow never creates a credential) and between the
    # transactions: n8n is never called with one open.
    payload = bind(
        session_factory, n8n=n8n, project_id=project_id, payload=payload, settings=settings, say=say
    )
    with session_factory.begin() as session:
        wf = _deployable(session, workflow_id, actor, expected_head)
        reserved_at = utcnow()
        reviewed = new.review and review_required(session, wf.project_id)
        named = {**payload, "name": unreserved_name(wf.name)}
        if reviewed and (asked := open_request(session, wf, checksum(named))) is not None:
            # The same payload asked again (a retried run, a second click): the same request.
            return (
                get_version(session=session, workflow_id=workflow_id, version=asked.version),
                named,
                None,
                reserved_at,
            )
        _reserve_deploy(session, new, wf.project_id, reserved_at, settings)
        # `_deployable` locked the row already when it checked the head; else lock it here.
        locked = (
            wf
            if expected_head is not None
            else session.execute(
                select(Workflow).where(Workflow.id == workflow_id).with_for_update()
            ).scalar_one()
        )
        _fail_stale_pending(session, workflow_id)
        payload = {**payload, "name": unreserved_name(locked.name)}
        version = _add_version(session, new, payload)
        n8n_id = locked.n8n_workflow_id
        if reviewed:
            request_review(session, locked, version, actor)
            say(f"v{version.version} stored; it waits for a project owner's approval")
            return version, payload, None, reserved_at
    say(f"v{version.version} stored; sending to n8n")
    return version, payload, n8n_id, reserved_at


def _gate(
    session_factory: sessionmaker[Session],
    new: _NewVersion,
    payload: dict[str, Any],
    *,
    say: SayLine,
    catalog: NodeCatalog | None,
    checked: str | None,
) -> tuple[int, dict[str, Any]]:
    """One transaction: the actor may deploy the workflow, and the payload passes the gate
    (settings the LLM may not choose cut first, so the version stored is the cut one); the
    project's id and the checked payload."""
    with session_factory.begin() as session:
        wf = _deployable(session, new.workflow_id, new.actor, new.expected_head)
        payload, _ = check(
            session=session,
            project_id=wf.project_id,
            payload=payload,
            say=say,
            catalog=catalog,
            checked=checked,
        )
        return wf.project_id, payload


def _reserve_deploy(
    session: Session,
    new: _NewVersion,
    project_id: int,
    reserved_at: dt.datetime,
    settings: Settings,
) -> None:
    """Take one deploy of the actor's daily quota; rollbacks are recovery: they never count
    against (or get blocked by) the daily limit."""
    if new.source == VersionSource.rollback:
        return
    quotas.reserve_deploy(
        session=session,
        team_id=new.actor.team_id,
        user_id=new.actor.user_id,
        project_id=project_id,
        now=reserved_at,
        settings=settings,
    )


def _fail_stale_pending(session: Session, workflow_id: int) -> None:
    """Deploys of this workflow are serialized, so a `pending` version seen here belongs to a
    deploy whose process stopped halfway: record that instead of leaving it pending forever."""
    for stale in session.scalars(
        select(WorkflowVersion).where(
            WorkflowVersion.workflow_id == workflow_id,
            WorkflowVersion.status == VersionStatus.pending,
        )
    ):
        stale.status = VersionStatus.failed
        stale.error = "Interrupted before n8n confirmed it (the deploying process stopped)."


def _add_version(session: Session, new: _NewVersion, payload: dict[str, Any]) -> WorkflowVersion:
    """vN stored `pending`, numbered after the workflow's last version (under its row lock)."""
    last = session.scalar(
        select(func.max(WorkflowVersion.version)).where(
            WorkflowVersion.workflow_id == new.workflow_id
        )
    )
    version = WorkflowVersion(
        workflow_id=new.workflow_id,
        version=(last or 0) + 1,
        json_payload=payload,
        checksum=checksum(payload),
        prompt=new.prompt,
        source=new.source,
        status=VersionStatus.pending,
        created_by=new.actor.user_id,
        run_id=new.run_id,
        rolled_back_from=new.rolled_back_from,
    )
    session.add(version)
    session.flush()
    return version


def _pending(session_factory: sessionmaker[Session], version: WorkflowVersion) -> ReviewPending:
    """The ReviewPending naming `version`'s open review request."""
    with session_factory.begin() as session:
        wf = session.get(Workflow, version.workflow_id)
        asked = session.scalar(
            select(VersionReview).where(
                VersionReview.workflow_id == version.workflow_id,
                VersionReview.version == version.version,
            )
        )
        assert wf is not None and asked is not None
        return ReviewPending(
            review_id=asked.id, workflow_id=wf.id, version=version.version, name=wf.name
        )


def _deployable(
    session: Session, workflow_id: int, actor: Actor, expected_head: int | None
) -> Workflow:
    """The workflow, if `actor` may deploy it now: not deleted, and (with `expected_head`) its
    head still the one the payload was built from (checked under its row lock, and under the
    deploy lock, so it cannot move until this deploy is stored)."""
    wf = authorized(session, workflow_id, actor)
    if wf.status == WorkflowStatus.deleted:
        raise InvalidInput(f"Workflow {wf.name!r} was deleted; create a new one.")
    if expected_head is not None:
        session.refresh(wf, with_for_update=True)
        if wf.head_version != expected_head:
            raise head_moved(session, wf, expected_head)
    return wf


def head_moved(session: Session, wf: Workflow, expected: int) -> HeadMoved:
    head = head_version(session=session, workflow_id=wf.id)
    return HeadMoved(
        expected=expected,
        head=wf.head_version,
        head_source=str(head.source) if head else "",
        rolled_back_from=head.rolled_back_from if head else None,
    )


def authorized(session: Session, workflow_id: int, actor: Actor) -> Workflow:
    """The workflow, if `actor` may change it (editor or more)."""
    return get_workflow(
        session=session,
        workflow_id=workflow_id,
        team_id=actor.team_id,
        user_id=actor.user_id,
        at_least=Role.editor,
    )
