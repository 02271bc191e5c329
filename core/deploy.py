"""Deploy a workflow version to n8n (create, or update the same n8n id), activate it, read it
back to confirm, and keep every version; `rollback_to` redeploys an earlier version as a new head.

Every deploy path (pipeline, Slack, CLI, HTTP API, rollback) goes through `deploy_version`, so the
validation gate, authorization, quota and version history cannot be skipped.

Order of a deploy, chosen so nothing is lost if n8n or this process fails halfway:
  1. one short transaction: authorize, validate, reserve quota, allocate vN under a row lock on
     the workflow, store vN as `pending`;
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
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from core import quotas, secrets, telemetry
from core.errors import ClixenError, InvalidInput, NotFound
from core.models import ProcessedAction, Project, Workflow, WorkflowVersion, utcnow
from core.n8n import N8nAPIError, N8nClient, N8nError, N8nNotFound
from core.policy import policy_for_project
from core.projects import Actor, Role
from core.settings import Settings, get_settings
from core.validation import ValidationReport, validate
from core.workflow import NODE_API_KEYS, SETTINGS_API_KEYS, N8nWorkflow, checksum, to_n8n_payload
from core.workflows import get_version, get_workflow, head_version

log = logging.getLogger(__name__)

SOURCES = frozenset({"generate", "repair", "edit", "rollback", "import"})
# How long a deploy waits for another deploy of the same workflow to finish.
LOCK_WAIT_S = 60.0
# n8n 2.x: a delete right after deactivation can answer 500 / "still being unpublished".
DELETE_SETTLE_S = 15.0
_LOCK_CLASS = 0x434C58  # "CLX": namespace of this module's advisory locks


class DeployFailed(ClixenError):
    """n8n refused or lost the deploy. `n8n_message` is n8n's own text (feed it to repair)."""

    code = "deploy_failed"

    def __init__(
        self, message: str, *, n8n_message: str, version: int | None, status: int | None = None
    ) -> None:
        self.n8n_message = n8n_message
        self.version = version
        self.status = status
        super().__init__(message)


class ValidationFailed(ClixenError):
    """The workflow has validation errors, so it was not deployed. `report` lists them."""

    code = "validation_failed"

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        errors = report.errors
        lines = [f"  - {(i.node + ': ') if i.node else ''}{i.message}" for i in errors[:10]]
        more = f"\n  … and {len(errors) - 10} more" if len(errors) > 10 else ""
        super().__init__(
            f"The workflow has {len(errors)} problem(s) and was not deployed:\n"
            + "\n".join(lines)
            + more
        )


class DeployBusy(ClixenError):
    code = "deploy_busy"


Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


# --- the per-workflow deploy lock -------------------------------------------------------------

_local_locks: dict[int, threading.Lock] = {}
_local_locks_guard = threading.Lock()


@contextlib.contextmanager
def _workflow_lock(session_factory: sessionmaker[Session], workflow_id: int) -> Iterator[None]:
    engine = session_factory.kw.get("bind")
    busy = DeployBusy("Another deploy of this workflow is still running; try again in a minute.")
    if not isinstance(engine, Engine) or engine.dialect.name != "postgresql":
        # SQLite runs in one process: a process-local lock serializes deploys there.
        with _local_locks_guard:
            lock = _local_locks.setdefault(workflow_id, threading.Lock())
        if not lock.acquire(timeout=LOCK_WAIT_S):
            raise busy
        try:
            yield
        finally:
            lock.release()
        return
    key = {"c": _LOCK_CLASS, "o": workflow_id & 0x7FFFFFFF}
    with engine.connect() as raw:
        conn = raw.execution_options(isolation_level="AUTOCOMMIT")
        deadline = time.monotonic() + LOCK_WAIT_S
        while not conn.scalar(text("SELECT pg_try_advisory_lock(:c, :o)"), key):
            if time.monotonic() >= deadline:
                raise busy
            time.sleep(0.05)
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:c, :o)"), key)


# --- helpers ----------------------------------------------------------------------------------


def _parse(json_payload: Mapping[str, Any] | N8nWorkflow) -> tuple[N8nWorkflow, dict[str, Any]]:
    """The workflow as a model (for validation) and as the JSON we will send (as given, only
    stripped of the fields n8n's API refuses)."""
    if isinstance(json_payload, N8nWorkflow):
        return json_payload, to_n8n_payload(json_payload)
    if not isinstance(json_payload, Mapping):
        raise InvalidInput("A workflow JSON must be an object with nodes and connections.")
    try:
        model = N8nWorkflow.model_validate(dict(json_payload))
    except ValueError as e:
        raise InvalidInput(f"That is not a valid n8n workflow JSON: {e}") from e
    return model, to_n8n_payload(dict(json_payload))


def _plain_numbers(value: Any) -> Any:
    # n8n stores JSON in JavaScript, where 1.0 comes back as 1.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_numbers(v) for v in value]
    return value


def _comparable(body: Mapping[str, Any], sent: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a workflow body that we sent, ignoring what n8n adds (ids, timestamps,
    node ids and webhook ids it generates, settings defaults)."""
    sent_nodes = {n.get("name"): n for n in sent.get("nodes") or []}
    nodes = []
    for node in body.get("nodes") or []:
        ours = sent_nodes.get(node.get("name"), {})
        nodes.append({k: node.get(k) for k in NODE_API_KEYS if k in ours})
    settings = body.get("settings") or {}
    comparable = {
        "name": body.get("name"),
        "nodes": nodes,
        "connections": body.get("connections") or {},
        "settings": {
            k: settings.get(k) for k in SETTINGS_API_KEYS if k in (sent.get("settings") or {})
        },
    }
    return dict(_plain_numbers(comparable))


def _same(back: Mapping[str, Any], sent: Mapping[str, Any]) -> bool:
    """Whether n8n holds what we sent: checksums of the canonical JSON of both sides."""
    return checksum(_comparable(back, sent)) == checksum(_comparable(sent, sent))


def _confirm(n8n: N8nClient, n8n_id: str, sent: Mapping[str, Any]) -> None:
    """Read the workflow back from n8n: it must be active and hold exactly what we sent."""
    back = n8n.get_workflow(n8n_id)
    if not back.get("active"):
        raise _Mismatch("n8n reports the workflow as inactive after activation.")
    if not _same(back, sent):
        raise _Mismatch("n8n holds a different workflow than the one sent.")
    active_id, version_id = back.get("activeVersionId"), back.get("versionId")
    if active_id and version_id and active_id != version_id:
        raise _Mismatch("n8n is running an older published version than the one sent.")


class _Mismatch(Exception):
    pass


def _n8n_message(e: Exception) -> str:
    return e.message if isinstance(e, N8nAPIError) else str(e)


def _replay(session_factory: sessionmaker[Session], key: str) -> WorkflowVersion | None:
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


def create_workflow_record(
    *,
    session: Session,
    project_id: int,
    name: str,
    created_by: str,
    slack_channel_id: str | None = None,
    slack_thread_ts: str | None = None,
    description: str | None = None,
) -> Workflow:
    """A new workflow (status `draft`, no versions yet) in the project."""
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("A workflow name needs 1 to 200 characters.")
    if session.get(Project, project_id) is None:
        raise NotFound("That project does not exist.")
    wf = Workflow(
        project_id=project_id,
        name=name,
        description=description,
        created_by=created_by,
        slack_channel_id=slack_channel_id,
        slack_thread_ts=slack_thread_ts,
        status="draft",
        head_version=0,
    )
    session.add(wf)
    session.flush()
    return wf


def deploy_version(
    *,
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    workflow_id: int,
    json_payload: Mapping[str, Any] | N8nWorkflow,
    source: str,
    actor: Actor,
    prompt: str | None = None,
    run_id: int | None = None,
    rolled_back_from: int | None = None,
    idempotency_key: str | None = None,
    progress: Progress | None = None,
    settings: Settings | None = None,
) -> WorkflowVersion:
    """Deploy `json_payload` as the workflow's next version and return it (status `deployed`).

    Node credentials that name a project secret (`{"slackApi": {"name": "SLACK_TOKEN"}}`) are
    bound to that secret's n8n credential first (`core.secrets.sync_project_credentials`, with
    CLIXEN_SECRET_KEY from `settings`, default `get_settings()`); the stored version holds the
    bound references, never a value.

    Raises PermissionDenied (actor below editor, or a credential that is not the project's),
    ValidationFailed (validation errors, including the project's node policy), QuotaExceeded,
    SettingsError (secrets used but no CLIXEN_SECRET_KEY), InvalidInput (a secret the project
    does not have), DeployFailed (n8n refused it: the version is kept as `failed` with n8n's
    message and the quota is refunded) or DeployBusy.
    With an `idempotency_key` seen before, returns the version that key produced.
    """
    if source not in SOURCES:
        raise InvalidInput(f"Unknown version source {source!r}.")
    say = progress or _quiet
    model, payload = _parse(json_payload)
    key = f"deploy:{idempotency_key}" if idempotency_key else None
    with _workflow_lock(session_factory, workflow_id):
        if key and (earlier := _replay(session_factory, key)) is not None:
            return earlier
        version, payload, n8n_id, reserved_at = _allocate(
            session_factory=session_factory,
            workflow_id=workflow_id,
            model=model,
            payload=payload,
            source=source,
            actor=actor,
            prompt=prompt,
            run_id=run_id,
            rolled_back_from=rolled_back_from,
            say=say,
            n8n=n8n,
            settings=settings,
        )
        try:
            n8n_id = _push(
                session_factory=session_factory,
                n8n=n8n,
                workflow_id=workflow_id,
                n8n_id=n8n_id,
                payload=payload,
                version=version.version,
                say=say,
            )
        except (N8nError, _Mismatch) as e:
            _fail(
                session_factory=session_factory,
                n8n=n8n,
                version=version,
                actor=actor,
                reserved_at=reserved_at,
                message=_n8n_message(e),
            )
            status = e.status if isinstance(e, N8nAPIError) else None
            raise DeployFailed(
                f"n8n did not accept version {version.version}: {_n8n_message(e)}",
                n8n_message=_n8n_message(e),
                version=version.version,
                status=status,
            ) from e
        except BaseException:
            # Anything unexpected (a bug, the database, Ctrl-C): never leave vN pending with the
            # quota taken; the original error is what the caller sees.
            with contextlib.suppress(Exception):
                _fail(
                    session_factory=session_factory,
                    n8n=n8n,
                    version=version,
                    actor=actor,
                    reserved_at=reserved_at,
                    message="The deploy was interrupted by an internal error.",
                    category="internal",
                )
            raise
        done = _succeed(
            session_factory=session_factory,
            version=version,
            n8n_id=n8n_id,
            actor=actor,
            key=key,
        )
        say(f"v{done.version} deployed and active in n8n (id {n8n_id})")
        return done


def _allocate(
    *,
    session_factory: sessionmaker[Session],
    workflow_id: int,
    model: N8nWorkflow,
    payload: dict[str, Any],
    source: str,
    actor: Actor,
    prompt: str | None,
    run_id: int | None,
    rolled_back_from: int | None,
    say: Progress,
    n8n: N8nClient,
    settings: Settings | None,
) -> tuple[WorkflowVersion, dict[str, Any], str | None, dt.datetime]:
    with session_factory.begin() as session:
        wf = _authorized(session, workflow_id, actor)
        if wf.status == "deleted":
            raise InvalidInput(f"Workflow {wf.name!r} was deleted; create a new one.")
        say("validating")
        policy = policy_for_project(session=session, project_id=wf.project_id)
        report = validate(payload, policy=policy)
        if not report.valid:
            raise ValidationFailed(report)
        reserved_at = utcnow()
        # Rollbacks are recovery: they never count against (or get blocked by) the daily limit.
        if source != "rollback":
            quotas.reserve_deploy(
                session=session,
                team_id=actor.team_id,
                user_id=actor.user_id,
                project_id=wf.project_id,
                now=reserved_at,
            )
        # After validation (a refused workflow never creates a credential) and inside this
        # transaction (a failure here also undoes the quota reservation).
        payload = _bind_secrets(
            session, n8n=n8n, project_id=wf.project_id, payload=payload, settings=settings, say=say
        )
        locked = session.execute(
            select(Workflow).where(Workflow.id == workflow_id).with_for_update()
        ).scalar_one()
        # Deploys of this workflow are serialized, so a `pending` version seen here belongs to a
        # deploy whose process stopped halfway: record that instead of leaving it pending forever.
        for stale in session.scalars(
            select(WorkflowVersion).where(
                WorkflowVersion.workflow_id == workflow_id, WorkflowVersion.status == "pending"
            )
        ):
            stale.status = "failed"
            stale.error = "Interrupted before n8n confirmed it (the deploying process stopped)."
        last = session.scalar(
            select(func.max(WorkflowVersion.version)).where(
                WorkflowVersion.workflow_id == workflow_id
            )
        )
        payload = {**payload, "name": locked.name}
        version = WorkflowVersion(
            workflow_id=workflow_id,
            version=(last or 0) + 1,
            json_payload=payload,
            checksum=checksum(payload),
            prompt=prompt,
            source=source,
            status="pending",
            created_by=actor.user_id,
            run_id=run_id,
            rolled_back_from=rolled_back_from,
        )
        session.add(version)
        session.flush()
        n8n_id = locked.n8n_workflow_id
    say(f"v{version.version} stored; sending to n8n")
    return version, payload, n8n_id, reserved_at


def _bind_secrets(
    session: Session,
    *,
    n8n: N8nClient,
    project_id: int,
    payload: dict[str, Any],
    settings: Settings | None,
    say: Progress,
) -> dict[str, Any]:
    """`payload` with node credentials bound to the project's n8n credentials (unchanged when
    no node has credentials, so workflows without secrets need no CLIXEN_SECRET_KEY)."""
    if not any(isinstance(n, dict) and n.get("credentials") for n in payload.get("nodes") or []):
        return payload
    key = secrets.secret_key(settings or get_settings())
    say("binding project secrets as n8n credentials")
    return secrets.sync_project_credentials(
        session=session, project_id=project_id, n8n=n8n, key=key, workflow_json=payload
    )


def _push(
    *,
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    workflow_id: int,
    n8n_id: str | None,
    payload: dict[str, Any],
    version: int,
    say: Progress,
) -> str:
    published = False
    if n8n_id is not None:
        try:
            updated = n8n.update_workflow(n8n_id, payload)
            # n8n 2.x republishes an active workflow on update; activating again would redo it.
            published = bool(updated.get("active")) and updated.get(
                "activeVersionId"
            ) == updated.get("versionId")
            say(f"updated n8n workflow {n8n_id}")
        except N8nNotFound:
            # Someone deleted it in n8n: recreate rather than leave the workflow unrecoverable.
            n8n_id = None
    if n8n_id is None:
        created = n8n.create_workflow(payload)
        if not isinstance(created, dict) or not created.get("id"):
            raise _Mismatch("n8n answered the create without a workflow id.")
        n8n_id = str(created["id"])
        # Remember the id at once, so a crash before activation cannot orphan it in n8n.
        with session_factory.begin() as session:
            wf = session.get(Workflow, workflow_id)
            assert wf is not None
            wf.n8n_workflow_id = n8n_id
        say(f"created n8n workflow {n8n_id}")
    if not published:
        n8n.activate(n8n_id)
    say("activated; reading back")
    _confirm(n8n, n8n_id, payload)
    return n8n_id


def _succeed(
    *,
    session_factory: sessionmaker[Session],
    version: WorkflowVersion,
    n8n_id: str,
    actor: Actor,
    key: str | None,
) -> WorkflowVersion:
    with session_factory.begin() as session:
        wf = session.execute(
            select(Workflow).where(Workflow.id == version.workflow_id).with_for_update()
        ).scalar_one()
        row = get_version(session=session, workflow_id=wf.id, version=version.version)
        first = wf.head_version == 0
        if wf.head_version:
            previous = get_version(session=session, workflow_id=wf.id, version=wf.head_version)
            previous.status = "superseded"
        row.status = "deployed"
        row.deployed_at = utcnow()
        row.error = None
        wf.head_version = row.version
        wf.status = "active"
        wf.n8n_workflow_id = n8n_id
        common: dict[str, Any] = {
            "session": session,
            "team_id": actor.team_id,
            "user_id": actor.user_id,
            "project_id": wf.project_id,
            "workflow_id": wf.id,
        }
        props = {"version": row.version, "source": row.source}
        if first:
            telemetry.record(type=telemetry.WORKFLOW_CREATED, properties=props, **common)
        if row.source == "rollback":
            telemetry.record(type=telemetry.ROLLED_BACK, properties=props, **common)
        else:
            telemetry.record(type=telemetry.DEPLOYED, properties=props, **common)
        if key:
            session.add(
                ProcessedAction(key=key, result={"workflow_id": wf.id, "version": row.version})
            )
        session.flush()
        return row


def _fail(
    *,
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    version: WorkflowVersion,
    actor: Actor,
    reserved_at: dt.datetime,
    message: str,
    category: str = "n8n_rejected",
) -> None:
    with session_factory.begin() as session:
        wf = session.execute(
            select(Workflow).where(Workflow.id == version.workflow_id).with_for_update()
        ).scalar_one()
        row = get_version(session=session, workflow_id=wf.id, version=version.version)
        row.status = "failed"
        row.error = message[:4000]
        if wf.head_version == 0:
            wf.status = "failed"
        if version.source != "rollback":
            quotas.refund_deploy(
                session=session,
                team_id=actor.team_id,
                user_id=actor.user_id,
                project_id=wf.project_id,
                now=reserved_at,
            )
        telemetry.record(
            session=session,
            type=telemetry.ERROR,
            category=category,
            team_id=actor.team_id,
            user_id=actor.user_id,
            project_id=wf.project_id,
            workflow_id=wf.id,
            properties={"version": row.version, "source": row.source},
        )
        head = head_version(session=session, workflow_id=wf.id)
        n8n_id = wf.n8n_workflow_id
    if head is not None and n8n_id is not None:
        _restore(n8n, n8n_id, head.json_payload)


def _restore(n8n: N8nClient, n8n_id: str, payload: dict[str, Any]) -> None:
    """Best effort: put the last good version back in n8n after a failed update."""
    try:
        back = n8n.get_workflow(n8n_id)
        if back.get("active") and _same(back, payload):
            return
        n8n.update_workflow(n8n_id, payload)
        n8n.activate(n8n_id)
    except N8nError:
        log.warning("could not restore the last good version of n8n workflow %s", n8n_id)


# --- rollback, deactivate, delete ---------------------------------------------------------------


def rollback_to(
    *,
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    workflow_id: int,
    version: int,
    actor: Actor,
    idempotency_key: str | None = None,
    progress: Progress | None = None,
    settings: Settings | None = None,
) -> WorkflowVersion:
    """Redeploy version `version`'s JSON as a new head version (source `rollback`) on the same n8n
    workflow and return it. History stays linear: nothing is rewritten or removed.

    Raises InvalidInput for the current head or a version that never deployed. A repeated
    `idempotency_key` (double click, Slack retry) returns the first rollback's version.
    """
    # deploy_version stores the key as "deploy:<key>"; checking it here too skips the work early.
    key = f"rollback:{idempotency_key}" if idempotency_key else None
    if key and (earlier := _replay(session_factory, f"deploy:{key}")) is not None:
        return earlier
    with session_factory.begin() as session:
        wf = _authorized(session, workflow_id, actor)
        target = get_version(session=session, workflow_id=workflow_id, version=version)
        if version == wf.head_version:
            raise InvalidInput(f"v{version} is already the running version; nothing to roll back.")
        if target.status not in ("deployed", "superseded"):
            raise InvalidInput(
                f"v{version} never ran ({target.status}); roll back to a version that was deployed."
            )
        payload = dict(target.json_payload)
    return deploy_version(
        session_factory=session_factory,
        n8n=n8n,
        workflow_id=workflow_id,
        json_payload=payload,
        source="rollback",
        actor=actor,
        rolled_back_from=version,
        idempotency_key=key,
        progress=progress,
        settings=settings,
    )


def deactivate_workflow(
    *, session_factory: sessionmaker[Session], n8n: N8nClient, workflow_id: int, actor: Actor
) -> Workflow:
    """Stop the workflow in n8n (it keeps its versions and can be redeployed)."""
    with _workflow_lock(session_factory, workflow_id):
        with session_factory.begin() as session:
            wf = _authorized(session, workflow_id, actor)
            n8n_id = wf.n8n_workflow_id
        if n8n_id is not None:
            with contextlib.suppress(N8nNotFound):
                n8n.deactivate(n8n_id)
        with session_factory.begin() as session:
            wf = _authorized(session, workflow_id, actor)
            if wf.status != "deleted":
                wf.status = "inactive"
            return wf


def delete_workflow(
    *, session_factory: sessionmaker[Session], n8n: N8nClient, workflow_id: int, actor: Actor
) -> Workflow:
    """Remove the workflow from n8n (deactivating it first) and mark it `deleted` here; its
    version history is kept."""
    with _workflow_lock(session_factory, workflow_id):
        with session_factory.begin() as session:
            wf = _authorized(session, workflow_id, actor)
            n8n_id = wf.n8n_workflow_id
        if n8n_id is not None:
            n8n.delete_workflow(n8n_id, settle_s=DELETE_SETTLE_S)
        with session_factory.begin() as session:
            wf = _authorized(session, workflow_id, actor)
            wf.status = "deleted"
            return wf


def _authorized(session: Session, workflow_id: int, actor: Actor) -> Workflow:
    """The workflow, if `actor` may change it (editor or more)."""
    return get_workflow(
        session=session,
        workflow_id=workflow_id,
        team_id=actor.team_id,
        user_id=actor.user_id,
        at_least=Role.editor,
    )
