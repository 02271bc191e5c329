"""Per-project secrets: encrypted at rest, decrypted only when used, never shown to the LLM.

On Postgres the `secrets.ciphertext` column holds pgcrypto output (`pgp_sym_encrypt`), with the key
from CLIXEN_SECRET_KEY sent only as a bound parameter (engines hide parameters from logs and
errors). On the embedded SQLite default the same interface uses AES-256-GCM in Python with a key
derived by scrypt from CLIXEN_SECRET_KEY and a per-row salt and nonce; the project id and the
secret's name are authenticated with it, so a ciphertext cannot be moved to another secret.

At deploy time `sync_project_credentials` turns the secrets a workflow refers to into n8n
credentials of the project and binds them to the nodes by credential type.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy import String, bindparam, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.errors import ClixenError, InvalidInput, NotFound, PermissionDenied
from core.models import Secret
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)

NAME_RE: Final = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
MAX_VALUE_CHARS: Final = 16_384
_SQLITE_MAGIC: Final = b"CXS1"
_SALT_LEN, _NONCE_LEN = 16, 12


class SecretKeyMismatch(ClixenError):
    """Stored secrets cannot be decrypted with the configured key."""

    code = "secret_key_mismatch"

    def __init__(self) -> None:
        super().__init__(
            "A stored secret could not be decrypted with CLIXEN_SECRET_KEY: the key is wrong, or "
            "the secrets were encrypted under another key (rotate with `clixen secret rotate`)."
        )


class CredentialsAPI(Protocol):
    """The part of the n8n client that manages credentials (`core.n8n.N8nClient`)."""

    def create_credential(
        self, *, name: str, type: str, data: Mapping[str, Any]
    ) -> dict[str, Any]: ...

    def delete_credential(self, credential_id: str) -> None: ...

    def credential_schema(self, credential_type: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class SecretInfo:
    """What may be shown about a secret anywhere (Slack, CLI, LLM prompt): never its value."""

    name: str
    credential_type: str | None
    created_by: str
    updated_at: dt.datetime


def secret_key(settings: Settings | None = None) -> str:
    """CLIXEN_SECRET_KEY, or SettingsError naming it when it is missing (or a placeholder)."""
    settings = settings or get_settings()
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


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# --- encryption -------------------------------------------------------------------------------


def _aad(project_id: int, name: str) -> bytes:
    return f"clixen-secret:{project_id}:{name}".encode()


def _derive(key: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**14, r=8, p=1).derive(key.encode())


def _encrypt(session: Session, *, value: str, key: str, project_id: int, name: str) -> bytes:
    if _is_postgres(session):
        ciphertext = session.scalar(
            select(
                func.pgp_sym_encrypt(
                    bindparam("secret_value", value, type_=String),
                    bindparam("secret_key", key, type_=String),
                )
            )
        )
        assert isinstance(ciphertext, bytes)
        return ciphertext
    salt, nonce = os.urandom(_SALT_LEN), os.urandom(_NONCE_LEN)
    sealed = AESGCM(_derive(key, salt)).encrypt(nonce, value.encode(), _aad(project_id, name))
    return _SQLITE_MAGIC + salt + nonce + sealed


def _decrypt(session: Session, *, row: Secret, key: str) -> str:
    if _is_postgres(session):
        try:
            with session.begin_nested():  # a wrong key must not abort the caller's transaction
                plain = session.scalar(
                    select(
                        func.pgp_sym_decrypt(
                            bindparam("ciphertext", row.ciphertext),
                            bindparam("secret_key", key, type_=String),
                            type_=String,
                        )
                    )
                )
        except DBAPIError:
            # Not chained: the driver's error would carry the bound key into tracebacks.
            raise SecretKeyMismatch() from None
        assert isinstance(plain, str)
        return plain
    blob = bytes(row.ciphertext)
    if not blob.startswith(_SQLITE_MAGIC):
        raise SecretKeyMismatch()
    body = blob[len(_SQLITE_MAGIC) :]
    salt, nonce, sealed = body[:_SALT_LEN], body[_SALT_LEN : _SALT_LEN + _NONCE_LEN], body[28:]
    try:
        plain_bytes = AESGCM(_derive(key, salt)).decrypt(
            nonce, sealed, _aad(row.project_id, row.name)
        )
    except InvalidTag:
        raise SecretKeyMismatch() from None
    return plain_bytes.decode()


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
) -> SecretInfo:
    """Store (or replace) the project's secret `name`, encrypted; returns what may be shown."""
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
    ciphertext = _encrypt(session, value=value, key=key, project_id=project_id, name=name)
    row = _get_row(session, project_id, name)
    now = dt.datetime.now(dt.UTC)
    if row is None:
        row = Secret(
            project_id=project_id,
            name=name,
            ciphertext=ciphertext,
            credential_type=credential_type,
            created_by=actor_user_id,
            updated_at=now,
        )
        session.add(row)
    else:
        row.ciphertext = ciphertext
        row.updated_at = now
        if credential_type is not None:
            row.credential_type = credential_type
    session.flush()
    log.info("secret %s of project %s set by %s", name, project_id, actor_user_id)
    return _info(row)


def _info(row: Secret) -> SecretInfo:
    return SecretInfo(row.name, row.credential_type, row.created_by, row.updated_at)


def list_secrets(*, session: Session, project_id: int) -> list[SecretInfo]:
    """The project's secrets by name (with credential type), never their values."""
    rows = session.scalars(
        select(Secret).where(Secret.project_id == project_id).order_by(Secret.name)
    ).all()
    return [_info(r) for r in rows]


def get_secret_value(*, session: Session, project_id: int, name: str, key: str) -> str:
    """Decrypt and return the value of the project's secret `name` (NotFound if absent)."""
    _check_key(key)
    row = _get_row(session, project_id, check_name(name))
    if row is None:
        raise NotFound(f"This project has no secret named {name}.")
    return _decrypt(session, row=row, key=key)


def delete_secret(
    *, session: Session, project_id: int, name: str, n8n: CredentialsAPI | None = None
) -> None:
    """Delete the project's secret `name` and (given an n8n client) its n8n credential."""
    row = _get_row(session, project_id, check_name(name))
    if row is None:
        raise NotFound(f"This project has no secret named {name}.")
    if n8n is not None and row.n8n_credential_id:
        n8n.delete_credential(row.n8n_credential_id)
    session.delete(row)
    session.flush()
    log.info("secret %s of project %s deleted", name, project_id)


def rotate_key(*, session: Session, old_key: str, new_key: str) -> int:
    """Re-encrypt every secret of every project from `old_key` to `new_key`; returns the count.

    All or nothing: one row that `old_key` cannot decrypt leaves every row unchanged
    (SecretKeyMismatch). Values are not changed, so n8n credentials stay in sync.
    """
    _check_key(old_key)
    _check_key(new_key)
    if _is_postgres(session):
        try:
            with session.begin_nested():
                result = session.execute(
                    text(
                        "UPDATE secrets SET ciphertext = "
                        "pgp_sym_encrypt(pgp_sym_decrypt(ciphertext, :old_key), :new_key)"
                    ).bindparams(
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
        r.id: _encrypt(
            session,
            value=_decrypt(session, row=r, key=old_key),
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


# --- n8n credentials --------------------------------------------------------------------------

_SECRETISH = re.compile(r"(?i)token|key|secret|password")


def _credential_data(n8n: CredentialsAPI, row: Secret, value: str) -> dict[str, Any]:
    """The n8n credential `data` for a secret: a JSON object value as is, else the one field the
    credential type's schema needs."""
    if value.lstrip().startswith("{"):
        try:
            data = json.loads(value)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            return data
    ctype = row.credential_type or ""
    schema = n8n.credential_schema(ctype)
    props = schema.get("properties", {})
    strings = [k for k, v in props.items() if isinstance(v, dict) and v.get("type") == "string"]
    required = [k for k in schema.get("required", []) if k in strings]
    if len(required) == 1:
        return {required[0]: value}
    secretish = [k for k in strings if _SECRETISH.search(k)]
    if not required and len(secretish) == 1:
        return {secretish[0]: value}
    raise InvalidInput(
        f"Secret {row.name} is used as an n8n {ctype} credential, which needs several fields "
        f"({', '.join(strings)}). Set its value as a JSON object with those fields."
    )


def _node_credential_refs(workflow: Mapping[str, Any]) -> list[tuple[dict[str, Any], str, Any]]:
    refs: list[tuple[dict[str, Any], str, Any]] = []
    for node in workflow.get("nodes", []) or []:
        creds = node.get("credentials") if isinstance(node, dict) else None
        if isinstance(creds, dict):
            refs.extend((node, ctype, ref) for ctype, ref in creds.items())
    return refs


def _resolve(rows: list[Secret], node: Mapping[str, Any], ctype: str, ref: Any) -> Secret:
    """The project secret a node's credential reference means: by secret name, else the only
    secret of that credential type. Anything else (an id of a credential that is not ours)
    is refused: a workflow must never reach another project's credentials."""
    name = ref.get("name") if isinstance(ref, dict) else ref if isinstance(ref, str) else None
    by_name = [r for r in rows if r.name == name or _n8n_name(r) == name]
    if len(by_name) == 1:
        return by_name[0]
    ref_id = ref.get("id") if isinstance(ref, dict) else None
    by_id = [r for r in rows if ref_id and r.n8n_credential_id == str(ref_id)]
    if len(by_id) == 1:
        return by_id[0]
    if ref_id:
        raise PermissionDenied(
            f"Node {str(node.get('name'))[:80]!r} refers to an n8n credential that is not one of "
            "this project's secrets."
        )
    by_type = [r for r in rows if r.credential_type == ctype]
    if len(by_type) == 1:
        return by_type[0]
    if not by_type:
        raise InvalidInput(
            f"Node {str(node.get('name'))[:80]!r} needs a {ctype} credential and this project "
            f"has no secret of that type. Add one, e.g. `clixen secret set NAME --type {ctype}`."
        )
    raise InvalidInput(
        f"Node {str(node.get('name'))[:80]!r} needs a {ctype} credential and this project has "
        f"several ({', '.join(r.name for r in by_type)}); name the one to use in the request."
    )


def _n8n_name(row: Secret) -> str:
    return f"clixen-p{row.project_id}-{row.name}"


def sync_project_credentials(
    *,
    session: Session,
    project_id: int,
    n8n: CredentialsAPI,
    key: str,
    workflow_json: Mapping[str, Any],
) -> dict[str, Any]:
    """A copy of `workflow_json` whose node credentials point at this project's n8n credentials.

    Each secret the workflow refers to (by name, or as the only secret of the node's credential
    type) gets an n8n credential, created on first use and replaced when the secret changed
    since. References that do not resolve to a secret of this project are refused.
    """
    wf: dict[str, Any] = copy.deepcopy(dict(workflow_json))
    refs = _node_credential_refs(wf)
    if not refs:
        return wf
    rows = list(
        session.scalars(select(Secret).where(Secret.project_id == project_id).order_by(Secret.id))
    )
    for node, ctype, ref in refs:
        row = _resolve(rows, node, ctype, ref)
        if row.credential_type is None:
            row.credential_type = ctype
            session.flush()
        elif row.credential_type != ctype:
            raise InvalidInput(
                f"Secret {row.name} is a {row.credential_type} credential; node "
                f"{str(node.get('name'))[:80]!r} needs {ctype}."
            )
        _ensure_credential(session, n8n=n8n, row=row, key=key)
        node["credentials"][ctype] = {"id": row.n8n_credential_id, "name": _n8n_name(row)}
    session.flush()
    return wf


def _ensure_credential(session: Session, *, n8n: CredentialsAPI, row: Secret, key: str) -> None:
    fresh = (
        row.n8n_credential_id is not None
        and row.n8n_synced_at is not None
        and row.n8n_synced_at >= row.updated_at
    )
    if fresh:
        return
    data = _credential_data(n8n, row, _decrypt(session, row=row, key=key))
    created = n8n.create_credential(name=_n8n_name(row), type=row.credential_type or "", data=data)
    old = row.n8n_credential_id
    # Keep updated_at as is: it marks a change of the value, not of the n8n copy.
    session.execute(
        update(Secret)
        .where(Secret.id == row.id)
        .values(
            n8n_credential_id=str(created["id"]),
            n8n_synced_at=dt.datetime.now(dt.UTC),
            updated_at=Secret.updated_at,
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(row)
    if old:
        # The old copy holds the previous value; workflows still bound to it need a redeploy.
        n8n.delete_credential(old)
    log.info("n8n credential for secret %s of project %s written", row.name, row.project_id)
