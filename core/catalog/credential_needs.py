"""What a node needs: which credential types it accepts, and which nodes of a workflow have
none — the one table the validator (`core.validation.credential_use`) and the credentials
(`core.credentials`) both read, and the prompts' specs list (`slots_shown`). `accepted_types`
reads the node type's credential slots with their displayOptions (Slack's `slackApi` applies
while `authentication` is `accessToken`, `slackOAuth2Api` while it is `oAuth2`); HTTP Request
names its type in a parameter (`genericAuthType` / `nodeCredentialType`).

For the validator a node without one is a `missing_credentials` warning, not an error: Clixen
binds credentials at deploy (the project's only secret of the type, or the one the user picks),
so a workflow file without them is the normal shape before deploy, and the LLM cannot create a
secret (an error would send it to a repair that cannot succeed). What cannot be bound stops the
deploy (`core.deploy`) and makes a pipeline run wait for the user.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from core.catalog.credential_domains import OWNER_NAMED
from core.catalog.display_options import ParamContext, is_number, shown, with_defaults
from core.catalog.index import NodeCatalog
from core.catalog.node_spec import CredentialSlot, VersionClass

# HTTP Request (v3+): the parameter that names the credential type, by `authentication` value.
_TYPE_PARAM = {
    "genericCredentialType": "genericAuthType",
    "predefinedCredentialType": "nodeCredentialType",
}


@dataclass(frozen=True)
class CredentialNeed:
    """A node that needs a credential and has none bound: any one of `types` will do."""

    node: str
    types: tuple[str, ...]
    # The host the node calls, when its URL is written out (for `--allowed-host`).
    host: str | None = None


def slots_shown(
    vc: VersionClass, values: Mapping[str, Any], ctx: ParamContext
) -> list[CredentialSlot]:
    """The credential slots of a version class that apply under the node's parameter `values`
    (defaults filled in: `with_defaults`): n8n shows a slot by its displayOptions, like a
    parameter. The one rule for "which credentials this node takes as configured"."""
    return [slot for slot in vc.credentials if shown(slot.display_options, values, ctx)]


def accepted_types(node: Mapping[str, Any], catalog: NodeCatalog) -> tuple[str, ...]:
    """The credential types `node` needs under its current parameters (any one of them);
    () when it needs none (unknown type, no credential, or none applies)."""
    spec = catalog.get(str(node.get("type", "")))
    if spec is None:
        return ()
    tv = node.get("typeVersion")
    version = float(tv) if is_number(tv) else spec.default_version
    vc = spec.version_class(version)
    params = node.get("parameters")
    if vc is None or not isinstance(params, dict | None):
        return ()
    ctx = ParamContext(version, spec.type)
    values = with_defaults(vc, params or {}, ctx)
    auth = values.get("authentication")
    if isinstance(auth, str) and auth in _TYPE_PARAM:
        named = values.get(_TYPE_PARAM[auth])
        if isinstance(named, str) and named and not named.startswith("="):
            return (named,)
    return tuple(slot.name for slot in slots_shown(vc, values, ctx) if slot.required)


def missing_credentials(workflow: Mapping[str, Any], catalog: NodeCatalog) -> list[CredentialNeed]:
    """The enabled nodes that need a credential and have no reference of an accepted type."""
    needs: list[CredentialNeed] = []
    for node in workflow.get("nodes") or []:
        if not isinstance(node, dict) or node.get("disabled") is True:
            continue
        types = accepted_types(node, catalog)
        creds = node.get("credentials")
        bound = set(creds) if isinstance(creds, dict) else set()
        if types and not bound & set(types):
            needs.append(
                CredentialNeed(node=str(node.get("name", "")), types=types, host=node_host(node))
            )
    return needs


def suggested_secret_name(credential_type: str) -> str:
    """A secret name for a credential type: `slackApi` → SLACK_API."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", credential_type).upper()[:64]


def secret_command(
    credential_type: str, *, host: str | None = None, name: str | None = None
) -> str:
    """The command that gives a project a secret of `credential_type`, as it works when typed:
    a generic type (httpHeaderAuth, …) gets `--allowed-host`, the host the node calls (`host`)
    or an example to replace. The command asks for each field of the type on a terminal."""
    command = (
        f"clixen secret set {name or suggested_secret_name(credential_type)} "
        f"--type {credential_type}"
    )
    if credential_type in OWNER_NAMED:
        command += f" --allowed-host {host or 'api.example.com'}"
    return command


def node_host(node: Mapping[str, Any]) -> str | None:
    """The host of a node's `url` parameter when it is written out (not an expression)."""
    params = node.get("parameters")
    url = params.get("url") if isinstance(params, dict) else None
    if not isinstance(url, str) or url.startswith("=") or "{{" in url:
        return None
    host = urlsplit(url.strip()).hostname
    return host.lower() if host else None
