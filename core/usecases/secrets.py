"""Give a project a secret, as an actor: the secret form's project, storing a typed secret
(encrypted, never echoed), and a credential typed into a waiting run's form. Editors only; every
project or run id here came back from a chat form, so it is checked again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from core.credentials.secrets import SecretInfo, secret_key, set_secret
from core.kernel.settings import Settings
from core.kernel.vocabulary import Role
from core.n8n import N8nClient
from core.pipeline.resume import waiting_runs
from core.pipeline.runs import run_and_project
from core.workspace.projects import Actor, project_for


@dataclass(frozen=True)
class SecretForm:
    """The project a new secret goes to."""

    project_id: int
    project: str


def secret_form(session_factory: sessionmaker[Session], *, actor: Actor) -> SecretForm:
    """The actor's active project, if they may add secrets to it (editors)."""
    with session_factory.begin() as session:
        project = project_for(
            session=session, project_id=None, team_id=actor.team_id, user_id=actor.user_id,
            at_least=Role.editor,
        )  # fmt: skip
        return SecretForm(project.id, project.name)


@dataclass(frozen=True)
class SavedSecret:
    """A secret stored; `waiting_runs`: the project's runs waiting for a credential, oldest
    first (give it to them: `core.pipeline.resume.provide_credentials`)."""

    secret: SecretInfo
    waiting_runs: list[int]


def save_secret(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    n8n: N8nClient | None,
    actor: Actor,
    project_id: int,
    name: str,
    value: str,
    credential_type: str | None = None,
    allowed_hosts: Sequence[str] | None = None,
) -> SavedSecret:
    """Store (or replace) the project's secret `name`, encrypted; a secret already in n8n has
    its credential updated. Raises PermissionDenied below editor, InvalidInput for an unusable
    name, type or host, SettingsError without CLIXEN_SECRET_KEY."""
    with session_factory.begin() as session:
        project_for(
            session=session, project_id=project_id, team_id=actor.team_id,
            user_id=actor.user_id, at_least=Role.editor,
        )  # fmt: skip
        info = set_secret(
            session=session,
            project_id=project_id,
            name=name,
            value=value,
            actor_user_id=actor.user_id,
            key=secret_key(settings),
            credential_type=credential_type,
            n8n=n8n,
            allowed_hosts=allowed_hosts,
        )
    with session_factory() as session:
        waiting = waiting_runs(session, project_id)
    return SavedSecret(info, waiting)


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
    with session_factory.begin() as session:
        _, project = run_and_project(
            session=session, run_id=run_id, team_id=actor.team_id, user_id=actor.user_id,
            at_least=Role.editor,
        )  # fmt: skip
        return set_secret(
            session=session,
            project_id=project.id,
            name=name,
            value=value,
            actor_user_id=actor.user_id,
            key=secret_key(settings),
            credential_type=credential_type,
            n8n=n8n,
            allowed_hosts=allowed_hosts,
        )
