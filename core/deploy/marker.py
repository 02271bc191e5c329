"""Clixen's mark on the n8n workflows it creates, so a create that n8n may or may not have done
can be looked up instead of sent again, and leftovers can be found later (`reconcile`).

The mark lives in the workflow's `staticData` under the key "clixen" (n8n's create endpoint
accepts staticData; it is not shown in the editor, and n8n's own triggers only write their
`global` and `node:<name>` keys there): `{"clixen": {"site": "<hex>", "workflow": 12,
"version": 3, "deploy": "<hex>"}}` names the product database (`site`: several Clixen
installations, or test databases, may share one n8n and must never take each other's
workflows for leftovers), the product workflow, the version, and the one deploy attempt.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from core.n8n import N8nClient

MARK_KEY = "clixen"


@dataclass(frozen=True)
class DeployMark:
    """The mark of one deploy attempt of version `version` of product workflow `workflow`, by
    the installation whose database is `site`."""

    site: str
    workflow: int
    version: int
    deploy: str

    @classmethod
    def new(cls, site: str, workflow_id: int, version: int) -> DeployMark:
        return cls(site=site, workflow=workflow_id, version=version, deploy=secrets.token_hex(8))

    def on(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """`payload` with this mark added to its staticData (the workflow's own keys kept)."""
        static = payload.get("staticData")
        static = dict(static) if isinstance(static, Mapping) else {}
        static[MARK_KEY] = {
            "site": self.site,
            "workflow": self.workflow,
            "version": self.version,
            "deploy": self.deploy,
        }
        return {**payload, "staticData": static}


def mark_of(n8n_workflow: Mapping[str, Any]) -> DeployMark | None:
    """The Clixen mark an n8n workflow carries, or None (not created by a Clixen deploy)."""
    static = n8n_workflow.get("staticData")
    if isinstance(static, str):  # n8n may hand staticData back as a JSON string
        try:
            static = json.loads(static)
        except ValueError:
            return None
    mark = static.get(MARK_KEY) if isinstance(static, Mapping) else None
    if not isinstance(mark, Mapping):
        return None
    try:
        return DeployMark(
            site=str(mark["site"]),
            workflow=int(mark["workflow"]),
            version=int(mark["version"]),
            deploy=str(mark["deploy"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def site_of(session_factory: sessionmaker[Session]) -> str:
    """This installation's name in marks: a digest of its database's host, port and name (never
    its password)."""
    url = session_factory.kw["bind"].url
    where = f"{url.get_backend_name()}://{url.host or ''}:{url.port or ''}/{url.database or ''}"
    return hashlib.sha256(where.encode()).hexdigest()[:16]


def find_marked(n8n: N8nClient, mark: DeployMark, *, name: str | None) -> list[str]:
    """The ids of the n8n workflows carrying `mark` (normally none or one). `name`, the name
    the workflow was sent with, narrows n8n's listing to workflows whose name contains it."""
    return [
        str(wf["id"])
        for wf in n8n.iter_workflows(name=(name or "").strip() or None)
        if mark_of(wf) == mark
    ]
