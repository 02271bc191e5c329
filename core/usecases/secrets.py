"""Give a project a secret, as an actor: the secret form's project, storing a typed secret
(encrypted, never echoed), and a credential typed into a waiting run's form. Editors only; every
project or run id here came back from a chat form, so it is checked again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from core.connect.accounts import resync_accounts
from core.credentials.secrets import (
    SecretInfo,
    forget_credential,
    list_secrets,
    push_secret,
    rotate_key,
    secret_key,
    set_secret,
    type_to_set,
)
from core.credentials.secrets import delete_secret as remove_secret
from core.credentials.sync import resync_credentials
from core.kernel.errors import InvalidInput
from core.kernel.settings import Settings
from core.kernel.vocabulary import Role
from core.n8n import N8nClient
from core.pipeline.resume import waiting_runs
from core.pipeline.runs import run_and_project
from core.triggers import rotate_secrets as rotate_trigger_secrets
from core.usecases.projects import ProjectRef, project_named
from core.workspace.projects import Actor


@dataclass(frozen=True)
class SecretForm:
    """The project a new secret goes to."""

    project_id: int
    project: str


def secret_form(session_factory: sessionmaker[Session], *, actor: Actor) -> SecretForm:
    """The actor's active project, if they may add secrets to it (editors)."""
    with session_factory.begin() as session:
        project = project_named(session, actor=actor, name=None, at_least=Role.editor)
        return SecretForm(project.id, project.name)


@dataclass(frozen=True)
class SavedSecret:
    """A secret stored in `project`; `waiting_runs`: the project's runs waiting for a
    credential, oldest first (give it to them: `core.pipeline.resume.provide_credentials`)."""

    secret: SecretInfo
    project_id: int
    project: str
    waiting_runs: list[int]


def secret_type_to_set(
    session_factory: sessionmaker[Session], *, actor: Actor, project: ProjectRef, name: str
) -> str | None:
    """Before a value is asked for: the credential type the secret `name` of the project has
    (None: new or untyped), for editors; InvalidInput for a connected account."""
    with session_factory.begin() as session:
        found = project_named(session, actor=actor, name=project, at_least=Role.editor)
        return type_to_set(session=session, project_id=found.id, name=name)


def save_secret(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    n8n: N8nClient | None,
    actor: Actor,
    project: ProjectRef,
    name: str,
    value: str,
    credential_type: str | None = None,
    allowed_hosts: Sequence[str] | None = None,
) -> SavedSecret:
    """Store (or replace) the secret `name` of the project `project` refers to, encrypted; a
    secret already in n8n has its credential updated. Raises PermissionDenied below editor,
    InvalidInput for an unusable name, type or host, SettingsError without CLIXEN_SECRET_KEY."""
    key = secret_key(settings)
    with session_factory.begin() as session:
        found = project_named(session, actor=actor, name=project, at_least=Role.editor)
        project_id, project_name = found.id, found.name
        info = set_secret(
            session=session,
            project_id=project_id,
            name=name,
            value=value,
            actor_user_id=actor.user_id,
            key=key,
            credential_type=credential_type,
            allowed_hosts=allowed_hosts,
        )
    if n8n is not None:  # after the commit: a secret already in n8n gets it updated now
        push_secret(session_factory, n8n=n8n, project_id=project_id, name=name, key=key)
    with session_factory() as session:
        waiting = waiting_runs(session, project_id)
    return SavedSecret(info, project_id, project_name, waiting)


def save_run_credential(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    n8n: N8nClient | None,
    actor: Actor,
    run_id: int,
    name: str,
    value: str,
    credential_type: str,
    allowed_hosts: Sequence[str] | None = None,
) -> SecretInfo:
    """Store the credential typed into a waiting run's form as the secret `name` of the run's
    project (`value`: the n8n credential's data as JSON). NotFound for a run that no longer
    exists, PermissionDenied below editor, InvalidInput as `save_secret`."""
    key = secret_key(settings)
    with session_factory.begin() as session:
        _, project = run_and_project(
            session=session, run_id=run_id, team_id=actor.team_id, user_id=actor.user_id,
            at_least=Role.editor,
        )  # fmt: skip
        project_id = project.id
        info = set_secret(
            session=session,
            project_id=project_id,
            name=name,
            value=value,
            actor_user_id=actor.user_id,
            key=key,
            credential_type=credential_type,
            allowed_hosts=allowed_hosts,
        )
    if n8n is not None:  # after the commit: a secret already in n8n gets it updated now
        push_secret(session_factory, n8n=n8n, project_id=project_id, name=name, key=key)
    return info


def secrets(
    session_factory: sessionmaker[Session], *, actor: Actor, project: ProjectRef = None
) -> tuple[str, list[SecretInfo]]:
    """(project name, its secrets by name): never a value; for the project's members."""
    with session_factory.begin() as session:
        found = project_named(session, actor=actor, name=project, at_least=Role.viewer)
        return found.name, list_secrets(session=session, project_id=found.id)


def delete_secret(
    session_factory: sessionmaker[Session],
    *,
    n8n: N8nClient | None,
    actor: Actor,
    project: ProjectRef,
    name: str,
) -> str:
    """Delete the project's secret `name` (and its n8n credential, given n8n); editors only.
    Returns the project's name."""
    with session_factory.begin() as session:
        found = project_named(session, actor=actor, name=project, at_least=Role.editor)
        credential_id = remove_secret(session=session, project_id=found.id, name=name)
        project_name = found.name
    if n8n is not None:  # after the commit: no transaction open while n8n is called
        forget_credential(n8n, credential_id)
    return project_name


def rotate_secret_key(
    session_factory: sessionmaker[Session], *, settings: Settings, new_key: str
) -> int:
    """Re-encrypt every secret (and every Slack trigger's webhook secret) from CLIXEN_SECRET_KEY
    to `new_key` (an operator's act); how many. InvalidInput when the new key is empty or the
    same."""
    old_key = secret_key(settings)
    if not new_key or new_key == old_key:
        raise InvalidInput("Give a new key that differs from CLIXEN_SECRET_KEY.")
    with session_factory.begin() as session:
        count = rotate_key(session=session, old_key=old_key, new_key=new_key)
        # The webhook secrets of Slack triggers are sealed under the same key: one transaction.
        return count + rotate_trigger_secrets(session=session, old_key=old_key, new_key=new_key)


def resync_secrets(
    session_factory: sessionmaker[Session], *, settings: Settings, n8n: N8nClient
) -> tuple[int, list[str]]:
    """Write every stale n8n credential again (an operator's act, after an upgrade): (how many
    were written, why each other one was refused)."""
    key = secret_key(settings)
    written, refused = resync_credentials(session_factory=session_factory, n8n=n8n, key=key)
    accounts, not_accounts = resync_accounts(session_factory=session_factory, n8n=n8n)
    return written + accounts, refused + not_accounts
