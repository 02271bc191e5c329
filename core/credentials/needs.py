"""A workflow's credentials against the project's secrets, what a credential type's fields are,
and whether n8n accepts a credential.

Which credential types a node accepts is the catalog's table (`core.catalog.credential_needs`);
this module reads it against the project: a reference to a secret of another type, why a node
cannot be bound, the Clixen bot's token for Slack nodes. The fields of a type and the test come
from n8n itself (`GET /credentials/schema/{type}`, `POST /credentials/{id}/test`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from core.catalog import NodeCatalog
from core.catalog.credential_domains import BOT_NODE_TYPES
from core.catalog.credential_domains import BOT_SECRET as BOT_SECRET
from core.catalog.credential_needs import CredentialNeed, secret_command
from core.credentials.secrets import set_secret
from core.kernel.vocabulary import Role
from core.n8n.errors import N8nError
from core.validation.credential_use import missing_credential_issues
from core.validation.report import Issue
from core.workspace.projects import require_role

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


HTTP_REQUEST = "n8n-nodes-base.httpRequest"
_SECRET_FIELD = re.compile(r"(?i)token|key|secret|password|pass$")
# n8n's test reached no service: the credential could not be checked, it was not rejected.
_UNREACHABLE = re.compile(r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ECONNRESET|getaddrinfo")


def credential_issues(
    workflow: Mapping[str, Any], catalog: NodeCatalog, secrets: Mapping[str, str | None]
) -> list[Issue]:
    """The validator's credential findings against the project's secrets (name → credential
    type): `missing_credentials` for a node with no credential of a type it accepts, and
    `wrong_credential_type` for a reference to a secret of another type."""
    issues = missing_credential_issues(workflow, catalog)
    for node in workflow.get("nodes") or []:
        creds = node.get("credentials") if isinstance(node, dict) else None
        if not isinstance(creds, dict):
            continue
        for ctype, ref in creds.items():
            name = ref.get("name") if isinstance(ref, dict) else ref
            if not isinstance(name, str) or name not in secrets:
                continue
            actual = secrets[name]
            if actual is not None and actual != ctype:
                others = [n for n, t in secrets.items() if t == ctype]
                issues.append(
                    Issue(
                        "wrong_credential_type",
                        f'Node "{node.get("name")}" uses secret {name} as a {ctype} credential, '
                        f"but {name} is a {actual} credential.",
                        str(node.get("name")),
                        "error",
                        f"Use a {ctype} secret"
                        + (f" ({', '.join(others)})" if others else "")
                        + f" or the node option that takes a {actual} credential.",
                    )
                )
    return issues


def unbound_message(needs: list[CredentialNeed], secrets: Mapping[str, str | None]) -> str:
    """Why these nodes cannot get a credential, and the command or reference that fixes it."""
    lines = []
    for need in needs:
        kinds = " or ".join(need.types)
        several = sorted(n for n, t in secrets.items() if t in need.types and n != BOT_SECRET)
        if several:
            lines.append(
                f'Node "{need.node}" needs a {kinds} credential and this project has several '
                f"({', '.join(several)}): name the one to use in the node, e.g. "
                f'"credentials": {{"{need.types[0]}": {{"name": "{several[0]}"}}}}.'
            )
        else:
            lines.append(
                f'Node "{need.node}" needs a {kinds} credential and this project has none: '
                f"set one with `{secret_command(need.types[0], host=need.host)}` (it asks "
                "for each field), then deploy again."
            )
    return "\n".join(lines)


# --- Slack with zero setup: the project's workflows post as the Clixen bot ----------------------

SLACK_API = "slackApi"
SLACK_NODE = "n8n-nodes-base.slack"


def adopt_bot_token(
    *,
    session: Session,
    project_id: int,
    team_id: str,
    user_id: str,
    token: str,
    key: str,
) -> str:
    """Store the Clixen bot's token as the project's `slackApi` secret (BOT_SECRET), so its
    workflows post as the bot; a project owner's choice (PermissionDenied otherwise). Returns the
    secret's name. It is a secret like any other: encrypted, rotated, replaced by setting it
    (`push_secret` updates its n8n credential once the caller's transaction committed)."""
    require_role(
        session=session,
        project_id=project_id,
        team_id=team_id,
        user_id=user_id,
        at_least=Role.owner,
    )
    set_secret(
        session=session,
        project_id=project_id,
        name=BOT_SECRET,
        value=json.dumps({"accessToken": token}),
        actor_user_id=user_id,
        key=key,
        credential_type=SLACK_API,
    )
    return BOT_SECRET


def bot_token_nodes(workflow: Mapping[str, Any], nodes: Iterable[str]) -> list[str]:
    """Of the nodes named, those the Clixen bot's token may be bound to: Slack's own nodes
    (never an HTTP Request or GraphQL node, whatever credential type it names)."""
    wanted = set(nodes)
    return [
        str(n["name"])
        for n in workflow.get("nodes") or []
        if isinstance(n, dict) and n.get("name") in wanted and n.get("type") in BOT_NODE_TYPES
    ]


def slack_channels(workflow: Mapping[str, Any]) -> list[str]:
    """The channels the workflow's Slack nodes post to, as written (an id, or a #name);
    expressions (decided at run time) left out."""
    found: list[str] = []
    for node in workflow.get("nodes") or []:
        if not isinstance(node, dict) or node.get("type") != SLACK_NODE:
            continue
        params = node.get("parameters") or {}
        ref = params.get("channelId") if isinstance(params, dict) else None
        value = ref.get("value") if isinstance(ref, dict) else ref
        value = value.strip() if isinstance(value, str) else ""
        if value and not value.startswith("=") and value not in found:
            found.append(value)
    return found


# --- n8n: a type's fields, a credential's test -----------------------------------------------


class CredentialN8n(Protocol):
    def credential_schema(self, credential_type: str) -> dict[str, Any]: ...

    def test_credential(self, credential_id: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class CredentialField:
    """One field of a credential type, as a form asks for it."""

    name: str
    label: str
    required: bool
    secret: bool
    options: tuple[str, ...] = ()


def credential_fields(n8n: CredentialN8n, credential_type: str) -> list[CredentialField]:
    """The fields a user fills in for `credential_type` (n8n's schema; notices left out; the
    domain restriction fields, which every type has, last and optional)."""
    schema = n8n.credential_schema(credential_type)
    required = set(schema.get("required") or [])
    fields: list[CredentialField] = []
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict) or prop.get("type") not in ("string", "number", "boolean"):
            continue
        if name in ("allowedHttpRequestDomains", "allowedDomains"):
            continue
        label = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).capitalize()
        fields.append(
            CredentialField(
                name=name,
                label=label,
                required=name in required,
                secret=bool(_SECRET_FIELD.search(name)),
                options=tuple(str(o) for o in prop.get("enum") or ()),
            )
        )
    return fields


@dataclass(frozen=True)
class CredentialCheck:
    """What n8n's test of a credential said: accepted, rejected (with why), or not checked."""

    ok: bool
    checked: bool
    message: str = ""

    @property
    def rejected(self) -> bool:
        return self.checked and not self.ok


def check_credential(n8n: CredentialN8n, credential_id: str, *, label: str) -> CredentialCheck:
    """Test an n8n credential; a rejection comes with a sentence a user can act on."""
    try:
        result = n8n.test_credential(credential_id)
    except N8nError as e:  # a type without a test, or an n8n without the endpoint
        return CredentialCheck(ok=False, checked=False, message=f"not tested ({e})")
    status = str(result.get("status", "")).lower()
    why = str(result.get("message") or "").strip()
    if status == "ok":
        return CredentialCheck(ok=True, checked=True)
    if _UNREACHABLE.search(why) or "no testing" in why.lower() or "not support" in why.lower():
        return CredentialCheck(ok=False, checked=False, message=f"not tested ({why[:200]})")
    return CredentialCheck(
        ok=False,
        checked=True,
        message=f"{label} was rejected by the service: {why[:300] or 'no reason given'}. "
        "Check the value (a token copied whole, not expired, with the scopes the workflow uses) "
        "and set it again.",
    )
