"""Secrets as n8n credentials.

At deploy time `sync_project_credentials` turns the secrets a workflow refers to into n8n
credentials of the project and binds them to the nodes by credential type. A new value of a
secret updates its n8n credential in place (same id), so every workflow using it gets the value
at once: `set_secret(..., n8n=client)` right away, else the next deploy that uses the secret.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from core.catalog.credential_domains import (
    BOT_NODE_TYPES,
    BOT_SECRET,
    OWNER_NAMED,
    RESTRICTION_FIELDS,
    restriction,
)
from core.catalog.credential_needs import node_host, secret_command
from core.credentials.crypto import decrypt
from core.credentials.host_fields import check_host_fields, project_policy
from core.kernel.errors import ClixenError, InvalidInput, PermissionDenied
from core.kernel.models import ConnectedAccount, Secret
from core.n8n.errors import N8nNotFound

log = logging.getLogger(__name__)


class CredentialsAPI(Protocol):
    """The part of the n8n client that manages credentials (`core.n8n.N8nClient`)."""

    def create_credential(
        self, *, name: str, type: str, data: Mapping[str, Any]
    ) -> dict[str, Any]: ...

    def update_credential(
        self, credential_id: str, *, name: str, type: str, data: Mapping[str, Any]
    ) -> dict[str, Any]: ...

    def delete_credential(self, credential_id: str) -> None: ...

    def credential_schema(self, credential_type: str) -> dict[str, Any]: ...


# --- n8n credentials --------------------------------------------------------------------------

_SECRETISH = re.compile(r"(?i)token|key|secret|password")


def _credential_data(schema: Mapping[str, Any], row: Secret, value: str) -> dict[str, Any]:
    """The n8n credential `data` for a secret: a JSON object value as is (without restriction
    fields: Clixen sets those), else the one field the credential type's schema needs."""
    if value.lstrip().startswith("{"):
        try:
            data = json.loads(value)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if k not in RESTRICTION_FIELDS}
    ctype = row.credential_type or ""
    props = schema.get("properties", {})
    strings = [
        k
        for k, v in props.items()
        if isinstance(v, dict) and v.get("type") == "string" and k not in RESTRICTION_FIELDS
    ]
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


def _restricted(schema: Mapping[str, Any], row: Secret, data: dict[str, Any]) -> dict[str, Any]:
    """`data` with the n8n domain restriction the credential gets (see
    `core.catalog.credential_domains`): its service's domains, the hosts its owner named, or
    none at all. A type whose n8n schema has no restriction fields (n8n adds them only to types
    that authenticate HTTP requests: Postgres, Redis… have none) is sent as is: the HTTP Request
    and GraphQL nodes cannot use it."""
    ctype = row.credential_type or ""
    if ctype in OWNER_NAMED and not row.allowed_hosts:
        raise InvalidInput(owner_hosts_needed(row.name, ctype))
    if "allowedHttpRequestDomains" not in (schema.get("properties") or {}):
        return data
    if row.name == BOT_SECRET:
        # The bot's token: never from HTTP Request or GraphQL, only from Slack's own nodes.
        return {**data, "allowedHttpRequestDomains": "none"}
    fields = restriction(ctype, data, row.allowed_hosts or ())
    if fields["allowedHttpRequestDomains"] == "none":
        return {**data, "allowedHttpRequestDomains": "none"}
    return {**data, **fields}


def owner_hosts_needed(name: str, credential_type: str) -> str:
    """What to do when a generic credential has no allowed host."""
    return (
        f"Secret {name} is a {credential_type} credential, which authenticates whatever host a "
        "workflow calls: name the hosts it may be sent to, e.g. "
        f"`clixen secret set {name} --type {credential_type} --allowed-host api.example.com`."
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
    # The bot's token is used only where it was chosen by name, never found by type.
    by_type = [r for r in rows if r.credential_type == ctype and r.name != BOT_SECRET]
    if len(by_type) == 1:
        return by_type[0]
    if not by_type:
        raise InvalidInput(
            f"Node {str(node.get('name'))[:80]!r} needs a {ctype} credential and this project "
            f"has no secret of that type. Add one: `{secret_command(ctype, host=node_host(node))}`."
        )
    raise InvalidInput(
        f"Node {str(node.get('name'))[:80]!r} needs a {ctype} credential and this project has "
        f"several ({', '.join(r.name for r in by_type)}); name the one to use in the request."
    )


def _n8n_name(row: Secret) -> str:
    return n8n_name(row.project_id, row.name)


def n8n_name(project_id: int, secret: str) -> str:
    """The name of a project secret's credential in n8n (what a node's reference carries)."""
    return f"clixen-p{project_id}-{secret}"


def sync_project_credentials(
    *,
    session_factory: sessionmaker[Session],
    project_id: int,
    n8n: CredentialsAPI,
    key: str,
    workflow_json: Mapping[str, Any],
) -> dict[str, Any]:
    """A copy of `workflow_json` whose node credentials point at this project's n8n credentials.

    Each secret the workflow refers to (by name, or as the only secret of the node's credential
    type — never the Clixen bot's token, which only a Slack node naming it gets) gets an n8n
    credential, created on first use and replaced when the secret changed since
    (`sync_secrets`: n8n is called with no transaction open). References that do not resolve
    to a secret of this project are refused before n8n is called.
    """
    wf: dict[str, Any] = copy.deepcopy(dict(workflow_json))
    refs = _node_credential_refs(wf)
    if not refs:
        return wf
    chosen: list[tuple[dict[str, Any], str, str]] = []
    with session_factory.begin() as session:
        rows = list(
            session.scalars(
                select(Secret).where(Secret.project_id == project_id).order_by(Secret.id)
            )
        )
        for node, ctype, ref in refs:
            row = _resolve(rows, node, ctype, ref)
            if row.name == BOT_SECRET and node.get("type") not in BOT_NODE_TYPES:
                raise PermissionDenied(
                    f"Node {str(node.get('name'))[:80]!r} may not use {BOT_SECRET}, the Clixen "
                    "bot's own Slack token: only Slack nodes may."
                )
            if row.credential_type is None:
                row.credential_type = ctype
                session.flush()
            elif row.credential_type != ctype:
                raise InvalidInput(
                    f"Secret {row.name} is a {row.credential_type} credential; node "
                    f"{str(node.get('name'))[:80]!r} needs {ctype}."
                )
            chosen.append((node, ctype, row.name))
    ids = sync_secrets(
        session_factory,
        n8n=n8n,
        project_id=project_id,
        names=[name for _, _, name in chosen],
        key=key,
    )
    for node, ctype, name in chosen:
        node["credentials"][ctype] = {"id": ids[name], "name": n8n_name(project_id, name)}
    return wf


@dataclass(frozen=True)
class _Write:
    """One n8n credential to write: read (and decrypted) in a transaction, sent after it."""

    secret_id: int
    name: str
    credential_type: str
    data: dict[str, Any]
    credential_id: str | None
    read_at: dt.datetime


def _stale(row: Secret) -> bool:
    return not (
        row.n8n_credential_id is not None
        and row.n8n_synced_at is not None
        and row.n8n_synced_at >= row.updated_at
    )


def sync_secrets(
    session_factory: sessionmaker[Session],
    *,
    n8n: CredentialsAPI,
    project_id: int,
    names: Iterable[str],
    key: str,
    force: bool = False,
) -> dict[str, str]:
    """Bring the n8n credentials of the project's secrets `names` up to date and return each
    one's n8n credential id: created on first use, updated in place (same id, so every workflow
    bound to it follows) when the value changed since (`force`: in any case). Every write
    carries the credential's domain restriction (`_restricted`); a host field on an internal
    host the project does not allow is refused (InvalidInput) before n8n is called.

    The house rule holds: the rows are read and decrypted in one transaction, n8n is called with
    none open, and the new ids are recorded in a third; a write racing another's (two deploys
    creating the same secret's first credential) keeps the one recorded first and deletes the
    other from n8n."""

    wanted = list(dict.fromkeys(names))
    read_at = dt.datetime.now(dt.UTC)
    # 1. Which secrets are stale, and the ids of the others (one read).
    with session_factory() as session:
        rows = list(
            session.scalars(
                select(Secret).where(Secret.project_id == project_id, Secret.name.in_(wanted))
            )
        )
        found = {r.name: r for r in rows}
        stale = [(r.id, r.name, r.credential_type or "") for r in rows if force or _stale(r)]
        ids = {r.name: str(r.n8n_credential_id) for r in rows if r.n8n_credential_id}
    for name in wanted:
        if name not in found:
            raise InvalidInput(f"This project has no secret named {name}.")
    if not stale:
        return ids
    # 2. n8n's schemas, then what to write (decrypted in a second read).
    schemas = {ctype: n8n.credential_schema(ctype) for ctype in {t for _, _, t in stale}}
    with session_factory() as session:
        writes = _writes(session, project_id, stale, schemas, key, read_at)
    # 3. Each write with no transaction open, its id recorded in a short one.
    for write in writes:
        ids[write.name] = _write(session_factory, n8n, project_id, write)
        log.info("n8n credential for secret %s of project %s written", write.name, project_id)
    return ids


def _writes(
    session: Session,
    project_id: int,
    stale: list[tuple[int, str, str]],
    schemas: Mapping[str, Mapping[str, Any]],
    key: str,
    read_at: dt.datetime,
) -> list[_Write]:
    """The n8n credentials to write for the `stale` secrets (id, name, type): each decrypted,
    its host fields held to the project's policy of today, restricted to its domains."""
    policy = project_policy(session, project_id)
    connected = set(
        session.scalars(
            select(ConnectedAccount.secret_id).where(ConnectedAccount.project_id == project_id)
        )
    )
    writes: list[_Write] = []
    for secret_id, name, ctype in stale:
        row = session.get(Secret, secret_id)
        if row is None:
            raise InvalidInput(f"Secret {name} was deleted meanwhile; deploy again.")
        if row.id in connected:
            continue  # a connected account: its n8n credential holds the token
        data = _credential_data(schemas[ctype], row, decrypt(session, row=row, key=key))
        # The project's policy of today: a host allowed when set may be denied since.
        check_host_fields(row.name, data, policy)
        data = _restricted(schemas[ctype], row, data)
        writes.append(_Write(row.id, row.name, ctype, data, row.n8n_credential_id, read_at))
    return writes


def _write(
    session_factory: sessionmaker[Session], n8n: CredentialsAPI, project_id: int, write: _Write
) -> str:
    """Write one credential to n8n (update in place, else create), then record its id; a
    create that lost a race to another write is deleted again. Returns the id recorded."""
    credential_id = write.credential_id
    label = n8n_name(project_id, write.name)
    if credential_id is not None:
        try:
            n8n.update_credential(
                credential_id, name=label, type=write.credential_type, data=write.data
            )
        except N8nNotFound:
            credential_id = None  # deleted in n8n meanwhile: workflows bound to it redeploy
    created = credential_id is None
    if credential_id is None:
        credential_id = str(
            n8n.create_credential(name=label, type=write.credential_type, data=write.data)["id"]
        )
    with session_factory.begin() as session:
        row = session.get(Secret, write.secret_id, with_for_update=True)
        kept = row.n8n_credential_id if row is not None else None
        raced = created and kept is not None and kept not in (write.credential_id, credential_id)
        if row is not None and not raced:
            # Keep updated_at as is: it marks a change of the value, not of the n8n copy.
            session.execute(
                update(Secret)
                .where(Secret.id == write.secret_id)
                .values(
                    n8n_credential_id=credential_id,
                    n8n_synced_at=write.read_at,
                    updated_at=Secret.updated_at,
                )
                .execution_options(synchronize_session=False)
            )
    if raced or row is None:
        n8n.delete_credential(credential_id)  # another write won, or the secret is gone
        return kept or ""
    return credential_id


def resync_credentials(
    *, session_factory: sessionmaker[Session], n8n: CredentialsAPI, key: str
) -> tuple[int, list[str]]:
    """Write again, now, every n8n credential older than its secret or than the last upgrade
    (which cleared `n8n_synced_at`), and every connected account's credential that lacks its
    domain restriction, so each carries its restriction without waiting for the next deploy.
    Returns how many were written and, for the secrets refused (an internal host, a generic
    type with no allowed host), why; those stay as they were."""
    with session_factory() as session:
        accounts = set(session.scalars(select(ConnectedAccount.secret_id)))
        rows = [
            (r.project_id, r.name)
            for r in session.scalars(
                select(Secret).where(Secret.n8n_credential_id.is_not(None)).order_by(Secret.id)
            )
            if _stale(r) and r.id not in accounts  # accounts: `core.connect.resync_accounts`
        ]
    written, refused = 0, []
    for project_id, name in rows:
        try:
            sync_secrets(session_factory, n8n=n8n, project_id=project_id, names=[name], key=key)
            written += 1
        except ClixenError as e:
            refused.append(f"project {project_id}: {e}")
    return written, refused
