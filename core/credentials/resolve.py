"""The one decision of which project secret a node gets: `resolve(workflow, secrets)` binds, by
name, every node that needs a credential and names none to the secret chosen for it, else to the
project's only secret of a type it accepts (never the Clixen bot's token, which only a Slack node
gets, and only where it was chosen), and says what is left missing. Pure: no database, no n8n;
the pipeline (`core.pipeline.credential_wait`) and the deploy gate (`core.deploy.gate`) both call
it, before the validation digest is taken, so a bound workflow is validated once.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.catalog import NodeCatalog
from core.catalog.credential_domains import BOT_NODE_TYPES, BOT_SECRET
from core.catalog.credential_needs import CredentialNeed, missing_credentials
from core.kernel.errors import InvalidInput


@dataclass(frozen=True)
class Resolution:
    """`workflow` (a copy) with what could be bound; `bound`: node → secret name; `missing`:
    the nodes still without a credential (empty: the workflow is ready to sync)."""

    workflow: dict[str, Any]
    bound: dict[str, str] = field(default_factory=dict)
    missing: list[CredentialNeed] = field(default_factory=list)


def only_secret(need: CredentialNeed, secrets: Mapping[str, str | None]) -> str | None:
    """The project's only secret of a type `need` accepts (never the Clixen bot's token), else
    None."""
    fits = [n for n, t in secrets.items() if t in need.types and n != BOT_SECRET]
    return fits[0] if len(fits) == 1 else None


def bind(workflow: Mapping[str, Any], *, node: str, credential_type: str, secret: str) -> None:
    """Point `node`'s credential of `credential_type` at the project secret `secret` (in place)."""
    for n in workflow.get("nodes") or []:
        if isinstance(n, dict) and n.get("name") == node:
            creds = n.get("credentials")
            n["credentials"] = {
                **(creds if isinstance(creds, dict) else {}),
                credential_type: {"name": secret},
            }


def resolve(
    workflow: Mapping[str, Any],
    secrets: Mapping[str, str | None],
    catalog: NodeCatalog,
    *,
    chosen: Mapping[str, str] | None = None,
    ask: Sequence[str] = (),
) -> Resolution:
    """Bind what can be bound (see the module docstring). `secrets`: the project's secrets, name
    → credential type; `chosen`: node → secret the user picked (InvalidInput when it is not of
    an accepted type, or is the bot's token for a node that is not Slack's); `ask`: nodes whose
    credential must be chosen again (never bound by type alone)."""
    wf: dict[str, Any] = copy.deepcopy(dict(workflow))
    picks = chosen or {}
    types = {
        str(n.get("name")): n.get("type") for n in wf.get("nodes") or [] if isinstance(n, dict)
    }
    bound: dict[str, str] = {}
    missing: list[CredentialNeed] = []
    for need in missing_credentials(wf, catalog):
        name = picks.get(need.node)
        if name is not None:
            ctype = secrets.get(name) if name in secrets else None
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
            name = only_secret(need, secrets)
        if name is None:
            missing.append(need)
            continue
        bind(wf, node=need.node, credential_type=str(secrets[name]), secret=name)
        bound[need.node] = name
    return Resolution(wf, bound, missing)
