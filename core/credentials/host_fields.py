"""The hosts a credential connects to hold to the internal-host policy, like every URL a node
fetches: a Postgres/MySQL/Redis/MongoDB `host`, an SSH tunnel's `sshHost`, a connection string,
an API's `url`/`baseUrl`/`server`/`endpoint`/`domain`. n8n's own SSRF protection covers only HTTP,
so a database credential on the loopback would reach n8n's own Redis queue or database. Checked
when a secret is set (or set again) and each time its n8n credential is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from core.catalog.credential_domains import connection_hosts, host_fields
from core.kernel.errors import InvalidInput
from core.kernel.hosts import internal_host, url_host
from core.kernel.models import Project
from core.workspace.policy import NodePolicy


def project_policy(session: Session, project_id: int) -> NodePolicy:
    """The project's policy as far as hosts go (its allowed internal hosts)."""
    project = session.get(Project, project_id)
    return NodePolicy.from_json(project.node_policy if project is not None else None)


def check_host_fields(name: str, data: Mapping[str, Any], policy: NodePolicy) -> None:
    """Raise InvalidInput naming the first field of secret `name`'s credential `data` that
    points at an internal host the project does not allow (or at a host built at run time)."""
    for field, value in host_fields(data):
        for part in connection_hosts(value):
            host = url_host(part)
            if host is None:
                raise InvalidInput(
                    f"Secret {name}: field {field} builds its host at run time, so where the "
                    "credential connects cannot be checked. Write the host literally."
                )
            found = internal_host(host)
            if found is None or policy.host_allowed(found.host, found.ip):
                continue
            allow = str(found.ip) if found.ip is not None else found.host
            raise InvalidInput(
                f"Secret {name}: field {field} points at {found.shown()}, {found.why}; "
                "credentials may not connect to internal hosts unless the project allows them. "
                f"If it must, a project owner can allow it: `clixen policy allow-host {allow}`."
            )
