"""Which node types a project may deploy. By default, nodes that act on the n8n host are denied.

A project's `node_policy` JSON (`{"deny": [...], "allow": [...]}`) adjusts the default list:
`deny` adds types, `allow` lifts default entries. Only a project owner may change it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import InvalidInput, NotFound, PermissionDenied
from core.models import Project, ProjectMember

_HOST = "it runs on the n8n server itself"

# Node type → why it is denied, in plain words a Slack user can read.
DEFAULT_DENYLIST: dict[str, str] = {
    # Runs any shell command on the n8n host: full control of the server.
    "n8n-nodes-base.executeCommand": f"Execute Command runs shell commands; {_HOST}.",
    # Opens SSH sessions and runs remote commands with stored keys; an easy pivot to other hosts.
    "n8n-nodes-base.ssh": "SSH runs commands on other machines with the server's keys.",
    # Read or write arbitrary files on the host's disk (secrets, config, n8n's own database).
    "n8n-nodes-base.readWriteFile": f"Read/Write Files reads and writes files; {_HOST}.",
    "n8n-nodes-base.readBinaryFile": f"Read Binary File reads files from disk; {_HOST}.",
    "n8n-nodes-base.readBinaryFiles": f"Read Binary Files reads files from disk; {_HOST}.",
    "n8n-nodes-base.writeBinaryFile": f"Write Binary File writes files to disk; {_HOST}.",
    # Watches the host's file system.
    "n8n-nodes-base.localFileTrigger": f"Local File Trigger watches the disk; {_HOST}.",
    # Clones, commits and pushes in folders of the host file system (and runs git hooks).
    "n8n-nodes-base.git": f"Git works on folders of the server's disk; {_HOST}.",
    # Legacy JavaScript nodes replaced by the Code node; kept out so generated workflows use
    # the maintained, task-runner-sandboxed Code node instead.
    "n8n-nodes-base.function": "Function is a legacy node; use the Code node instead.",
    "n8n-nodes-base.functionItem": "Function Item is a legacy node; use the Code node instead.",
    # Manages the n8n instance itself (workflows, credentials, audit) with its API key.
    "n8n-nodes-base.n8n": "The n8n node administers the n8n instance itself.",
}
# FTP/SFTP stay allowed: they talk to remote servers over the network, like any other service
# node, and never touch the n8n host's disk. The Code node stays allowed: it runs sandboxed.


@dataclass(frozen=True)
class NodePolicy:
    """Denied node types and the reason shown to the user for each."""

    denied: frozenset[str] = field(default_factory=lambda: frozenset(DEFAULT_DENYLIST))
    reason: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_DENYLIST))

    def is_denied(self, node_type: str) -> bool:
        return node_type in self.denied

    def why(self, node_type: str) -> str:
        return self.reason.get(node_type, "This node type is not allowed in this project.")

    @classmethod
    def default(cls) -> NodePolicy:
        return cls()

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> NodePolicy:
        """Policy from a project's `node_policy` JSON, relative to the default denylist."""
        deny = _type_list((data or {}).get("deny"))
        allow = _type_list((data or {}).get("allow"))
        denied = (frozenset(DEFAULT_DENYLIST) | deny) - allow
        reason = {
            t: DEFAULT_DENYLIST.get(t, "A project owner denied this node type.") for t in denied
        }
        return cls(denied=frozenset(denied), reason=reason)


def _type_list(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list | tuple | set | frozenset) or not all(
        isinstance(v, str) and v for v in value
    ):
        raise InvalidInput("A node policy list must be a list of node type names.")
    return frozenset(value)


def policy_for_project(*, session: Session, project_id: int) -> NodePolicy:
    """The node policy in force for a project (the default one if the project set none)."""
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"Project {project_id} does not exist.")
    return NodePolicy.from_json(project.node_policy)


def set_project_policy(
    *,
    session: Session,
    project_id: int,
    actor_user_id: str,
    deny: Iterable[str] | None = None,
    allow: Iterable[str] | None = None,
) -> NodePolicy:
    """Replace the project's deny/allow adjustments (None keeps that list); owners only."""
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"Project {project_id} does not exist.")
    role = session.scalar(
        select(ProjectMember.role).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == actor_user_id
        )
    )
    if role != "owner":
        raise PermissionDenied("Only a project owner can change which node types are allowed.")
    current = dict(project.node_policy or {})
    if deny is not None:
        current["deny"] = sorted(_type_list(list(deny)))
    if allow is not None:
        current["allow"] = sorted(_type_list(list(allow)))
    project.node_policy = current
    session.flush()
    return NodePolicy.from_json(current)
