"""Per-project secrets: encrypted at rest, decrypted only when used, never shown to the LLM.

The service functions (`set_secret`, `list_secrets`, `get_secret_value`, `delete_secret`,
`rotate_key`); encryption is `core.credentials.crypto`, n8n credentials `core.credentials.sync`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import String, bindparam, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from core.catalog.credential_domains import OWNER_NAMED, normalize_allowed_host
from core.credentials.crypto import (
    BINDING_PREFIX,
    SecretKeyMismatch,
    SecretMisplaced,
    decrypt,
    encrypt,
    is_postgres,
)
from core.credentials.host_fields import check_host_fields, project_policy
from core.credentials.sync import CredentialsAPI, owner_hosts_needed, sync_secrets
from core.kernel.errors import InvalidInput, NotFound
from core.kernel.models import ConnectedAccount, Project, Secret
from core.kernel.settings import Settings
from core.n8n.errors import N8nNotFound

log = logging.getLogger(__name__)

NAME_RE: Final = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
MAX_VALUE_CHARS: Final = 16_384


@dataclass(frozen=True)
class SecretInfo:
    """What may be shown about a secret anywhere (Slack, CLI, LLM prompt): never its value."""

    name: str
    credential_type: str | None
    created_by: str
    updated_at: dt.datetime
    # Where its n8n credential may be sent, besides its service's own domains.
    allowed_hosts: tuple[str, ...] = ()


def secret_key(settings: Settings) -> str:
    """CLIXEN_SECRET_KEY, or SettingsError naming it when it is missing (or a placeholder)."""
    settings.require("CLIXEN_SECRET_KEY")
    assert settings.secret_key is not None
    return settings.secret_key


def check_name(name: str) -> str:
    """`name` if it is a valid secret name (e.g. SLACK_TOKEN), else InvalidInput."""
    if not NAME_RE.fullmatch(name):
        raise InvalidInput(
            f"{name[:70]!r} is not a valid secret name: use capitals, digits and _, starting "
            "with a letter, at most 64 characters (e.g. SLACK_TOKEN)."
        )
    return name


def _check_key(key: str) -> None:
    if not key:
        raise InvalidInput("The secret key is empty: set CLIXEN_SECRET_KEY.")


# --- service functions ------------------------------------------------------------------------


def _get_row(session: Session, project_id: int, name: str) -> Secret | None:
    return session.scalars(
        select(Secret).where(Secret.project_id == project_id, Secret.name == name)
    ).one_or_none()


def set_secret(
    *,
    session: Session,
    project_id: int,
    name: str,
    value: str,
    actor_user_id: str,
    key: str,
    credential_type: str | None = None,
    allowed_hosts: Sequence[str] | None = None,
) -> SecretInfo:
    """Store (or replace) the project's secret `name`, encrypted; returns what may be shown.

    `allowed_hosts`: the hosts its n8n credential may be sent to from HTTP Request or GraphQL
    (None keeps those stored). A generic type (`httpHeaderAuth`, `oAuth2Api`, …) needs at least
    one (InvalidInput otherwise); a service type (`slackApi`) is limited to its service's domains
    and these are added (`core.catalog.credential_domains`). A host field of a JSON value (a
    database `host`, an API `url`…) on an internal host the project does not allow is refused
    (InvalidInput naming the field and `clixen policy allow-host`).

    No n8n call here (the caller's transaction is open): once it committed, `push_secret`
    updates a secret that already has an n8n credential in place; else the next deploy using
    the secret does it.
    """
    _check_given(name, value, key, credential_type)
    row = _get_row(session, project_id, name)
    check_store_key(session, key=key, replacing=row)
    _refuse_connected(session, row, name)
    hosts = _allowed_hosts(allowed_hosts)
    ctype = credential_type or (row.credential_type if row is not None else None)
    stored_hosts = hosts if hosts is not None else (row.allowed_hosts if row is not None else None)
    if ctype in OWNER_NAMED and not stored_hosts:
        raise InvalidInput(owner_hosts_needed(name, ctype))
    _check_hosts(session, project_id, name, value)
    ciphertext = encrypt(session, value=value, key=key, project_id=project_id, name=name)
    now = dt.datetime.now(dt.UTC)
    if row is None:
        row = Secret(
            project_id=project_id,
            name=name,
            ciphertext=ciphertext,
            credential_type=credential_type,
            allowed_hosts=hosts,
            created_by=actor_user_id,
            updated_at=now,
        )
        session.add(row)
    else:
        row.ciphertext = ciphertext
        row.updated_at = now
        if credential_type is not None:
            row.credential_type = credential_type
        if hosts is not None:
            row.allowed_hosts = hosts
    session.flush()
    log.info("secret %s of project %s set by %s", name, project_id, actor_user_id)
    return _info(row)


def _check_given(name: str, value: str, key: str, credential_type: str | None) -> None:
    """InvalidInput for a bad name, key, value or credential type, before anything is read."""
    check_name(name)
    _check_key(key)
    if not value:
        raise InvalidInput(f"The value of {name} is empty.")
    if len(value) > MAX_VALUE_CHARS:
        raise InvalidInput(f"The value of {name} is longer than {MAX_VALUE_CHARS:,} characters.")
    if credential_type is not None and not re.fullmatch(
        r"[A-Za-z][A-Za-z0-9]{0,99}", credential_type
    ):
        raise InvalidInput(
            f"{credential_type[:60]!r} is not an n8n credential type (e.g. slackApi)."
        )


def _refuse_connected(session: Session, row: Secret | None, name: str) -> None:
    if row is not None and session.scalar(
        select(ConnectedAccount.service).where(ConnectedAccount.secret_id == row.id)
    ):
        # Its n8n credential holds a token n8n refreshes; a pasted value would overwrite it.
        raise InvalidInput(
            f"{name} is a connected account, not a pasted secret: reconnect it instead "
            f"(`clixen connect {name.lower().replace('_', '-')}`, or Connect in Slack)."
        )


def type_to_set(*, session: Session, project_id: int, name: str) -> str | None:
    """Before a value is asked for: the credential type the project's secret `name` has (None:
    new or untyped), or InvalidInput when it is a connected account (reconnected, not set)."""
    row = _get_row(session, project_id, check_name(name))
    _refuse_connected(session, row, name)
    return row.credential_type if row is not None else None


def check_store_key(session: Session, *, key: str, replacing: Secret | None = None) -> None:
    """The store holds one key: `key` must read the most recently written secret (other than
    the one being replaced), else SecretKeyMismatch names that secret and nothing is written —
    a secret stored under another key would make the next `rotate` fail halfway."""
    query = select(Secret).order_by(Secret.updated_at.desc(), Secret.id.desc()).limit(1)
    if replacing is not None:
        query = query.where(Secret.id != replacing.id)
    newest = session.scalars(query).first()
    if newest is None:
        return
    try:
        decrypt(session, row=newest, key=key)
    except SecretMisplaced:
        return  # that row's problem (set it again), not the key's
    except SecretKeyMismatch:
        project = session.get(Project, newest.project_id)
        where = project.name if project is not None else f"#{newest.project_id}"
        raise SecretKeyMismatch(
            f"CLIXEN_SECRET_KEY cannot read secret {newest.name} of project {where}, which is "
            "stored under another key: nothing was saved. Set "
            "CLIXEN_SECRET_KEY to the key the secrets are stored under (after `clixen secret "
            "rotate`, the new one) and run the command again."
        ) from None


def _check_hosts(session: Session, project_id: int, name: str, value: str) -> None:
    """A JSON object value (a credential's fields): its host fields hold to the project's
    internal-host policy (a single value is a token or a password, never a host)."""
    if not value.lstrip().startswith("{"):
        return
    try:
        data = json.loads(value)
    except json.JSONDecodeError:
        return
    if isinstance(data, dict):
        check_host_fields(name, data, project_policy(session, project_id))


def _allowed_hosts(values: Sequence[str] | None) -> list[str] | None:
    if values is None:
        return None
    try:
        return list(dict.fromkeys(normalize_allowed_host(v) for v in values))
    except ValueError as e:
        raise InvalidInput(str(e)) from None


def _info(row: Secret) -> SecretInfo:
    return SecretInfo(
        row.name,
        row.credential_type,
        row.created_by,
        row.updated_at,
        tuple(row.allowed_hosts or ()),
    )


def list_secrets(*, session: Session, project_id: int) -> list[SecretInfo]:
    """The project's secrets by name (with credential type), never their values."""
    rows = session.scalars(
        select(Secret).where(Secret.project_id == project_id).order_by(Secret.name)
    ).all()
    return [_info(r) for r in rows]


def secret_types(*, session: Session, project_id: int) -> dict[str, str | None]:
    """The project's secrets: name → credential type (None: not typed yet)."""
    rows = session.execute(
        select(Secret.name, Secret.credential_type).where(Secret.project_id == project_id)
    ).all()
    return {name: ctype for name, ctype in rows}


def get_secret_value(*, session: Session, project_id: int, name: str, key: str) -> str:
    """Decrypt and return the value of the project's secret `name` (NotFound if absent)."""
    _check_key(key)
    row = _get_row(session, project_id, check_name(name))
    if row is None:
        raise NotFound(f"This project has no secret named {name}.")
    return decrypt(session, row=row, key=key)


def delete_secret(*, session: Session, project_id: int, name: str) -> str | None:
    """Delete the project's secret `name`; returns the id of its n8n credential (None: it had
    none), for `forget_credential` once the caller's transaction committed."""
    row = _get_row(session, project_id, check_name(name))
    if row is None:
        raise NotFound(f"This project has no secret named {name}.")
    credential_id = row.n8n_credential_id
    session.delete(row)
    session.flush()
    log.info("secret %s of project %s deleted", name, project_id)
    return credential_id


def push_secret(
    session_factory: sessionmaker[Session],
    *,
    n8n: CredentialsAPI,
    project_id: int,
    name: str,
    key: str,
) -> bool:
    """After `set_secret` committed: a secret that already has an n8n credential gets it
    updated in place now (same id), so every workflow using it runs with the new value from its
    next execution. True when it was written; n8n's refusal is raised (the new value stays
    stored, and the next deploy tries again)."""
    with session_factory() as session:
        row = _get_row(session, project_id, check_name(name))
        present = row is not None and row.n8n_credential_id is not None
    if not present:
        return False
    sync_secrets(session_factory, n8n=n8n, project_id=project_id, names=[name], key=key)
    return True


def forget_credential(n8n: CredentialsAPI, credential_id: str | None) -> None:
    """Delete a deleted secret's n8n credential (already gone in n8n: nothing to do)."""

    if credential_id:
        with contextlib.suppress(N8nNotFound):
            n8n.delete_credential(credential_id)


def rotate_key(*, session: Session, old_key: str, new_key: str) -> int:
    """Re-encrypt every secret of every project from `old_key` to `new_key`; returns the count.

    All or nothing: one row that `old_key` cannot decrypt leaves every row unchanged
    (SecretKeyMismatch). Values are not changed, so n8n credentials stay in sync.
    """
    _check_key(old_key)
    _check_key(new_key)
    unreadable = unreadable_secrets(session, key=old_key)
    if unreadable:
        raise SecretKeyMismatch(rotate_failure(unreadable))
    if is_postgres(session):
        # The header stays as it is (a misplaced value stays refused); a value stored before
        # values were bound gets the header of the row it is on.
        try:
            with session.begin_nested():
                result = session.execute(
                    text(
                        "UPDATE secrets SET ciphertext = pgp_sym_encrypt("
                        " CASE WHEN starts_with(plain.value, :prefix) THEN plain.value"
                        " ELSE :prefix || secrets.project_id || ':' || secrets.name || chr(10)"
                        " || plain.value END, :new_key)"
                        " FROM (SELECT id, pgp_sym_decrypt(ciphertext, :old_key) AS value"
                        " FROM secrets) AS plain WHERE plain.id = secrets.id"
                    ).bindparams(
                        bindparam("prefix", BINDING_PREFIX, type_=String),
                        bindparam("old_key", old_key, type_=String),
                        bindparam("new_key", new_key, type_=String),
                    )
                )
        except DBAPIError:
            raise SecretKeyMismatch() from None
        session.expire_all()
        return int(getattr(result, "rowcount", 0) or 0)
    rows = session.scalars(select(Secret).order_by(Secret.id)).all()
    fresh = {
        r.id: encrypt(
            session,
            value=decrypt(session, row=r, key=old_key),
            key=new_key,
            project_id=r.project_id,
            name=r.name,
        )
        for r in rows
    }
    for secret_id, ciphertext in fresh.items():
        session.execute(
            update(Secret)
            .where(Secret.id == secret_id)
            .values(ciphertext=ciphertext, updated_at=Secret.updated_at)
            .execution_options(synchronize_session=False)
        )
    session.expire_all()
    return len(fresh)


def unreadable_secrets(session: Session, *, key: str) -> list[tuple[str, str]]:
    """(project name, secret name) of every secret `key` cannot decrypt, oldest first."""
    bad = []
    for row, project in session.execute(
        select(Secret, Project.name)
        .join(Project, Project.id == Secret.project_id)
        .order_by(Secret.id)
    ):
        try:
            decrypt(session, row=row, key=key)
        except SecretMisplaced:
            pass  # readable with this key; the rotation keeps it bound where it was made
        except SecretKeyMismatch:
            bad.append((project, row.name))
    return bad


def rotate_failure(unreadable: Sequence[tuple[str, str]]) -> str:
    """Why a rotation stopped before changing anything, and the ways out."""
    names = ", ".join(f"{name} (project {project})" for project, name in unreadable[:5])
    more = f" and {len(unreadable) - 5} more" if len(unreadable) > 5 else ""
    project, first = unreadable[0]
    return (
        f"Nothing was re-encrypted: CLIXEN_SECRET_KEY cannot read {names}{more}, stored under "
        "another key. Either run the rotation with CLIXEN_SECRET_KEY set to the key those were "
        "stored under (if every other secret is under it too), or set each of them again with "
        f"the current key (`clixen secret delete {first} --project {project}`, then `clixen "
        f"secret set {first} --project {project}`) and run `clixen secret rotate` again."
    )
