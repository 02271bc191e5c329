"""Which node types a project may deploy, which internal hosts its nodes may fetch, and which
n8n workflows its nodes may run.

By default, nodes that act on the n8n host, and nodes that reach what every project of the one
shared n8n sees (data tables, the in-memory vector store, Debug Helper's memory exhaustion), are
denied. A project's `node_policy` JSON
(`{"deny": [...], "allow": [...], "allow_hosts": [...]}`) adjusts that: `deny` adds types, `allow`
lifts default entries, `allow_hosts` lists internal hosts (names, `*.suffix` names, IPs or CIDR
networks) its nodes may fetch. Only a project owner may change it. The workflows a node may run
(Execute Workflow, Call n8n Workflow Tool) are not a setting: they are the project's own live
workflows in n8n, which `policy_for_project` reads from the database.

A type is denied however it is spelled: case does not matter, an unprefixed name matches a
denied type of either package, and n8n's AI-tool variant `<type>Tool` of a denied type is denied
too (unless the project allows that variant by name). The validator (`core.validation`) applies
the policy, also to the nodes of inline sub-workflows, refuses fetches from internal hosts that
`allow_hosts` does not list and runs of workflows that are not the project's.

Importing this module is cheap: the validator (so `clixen validate`) needs only `NodePolicy`; the
two functions that read and write a project's policy load the ORM when they are called.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.kernel.errors import InvalidInput, NotFound, PermissionDenied

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

_HOST = "it runs on the n8n server itself"
_SHARED = "every project's workflows"

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
    # The LangChain Code node runs its JavaScript in n8n's main process, not in the task runner
    # sandbox of the Code node: it can reach n8n's memory, environment and credentials.
    "@n8n/n8n-nodes-langchain.code": "LangChain Code runs JavaScript inside n8n's main process, "
    "outside the Code node's sandbox; use the Code node instead.",
    # One n8n serves every project, and these nodes reach what the whole instance shares. Denied
    # rather than confined: a per-project id list or key prefix is undone by one expression
    # (`={{ ... }}`) evaluated at run time, which no check before deploy can see.
    # Lists every data table of the instance and reads, changes or deletes their rows by id.
    "n8n-nodes-base.dataTable": f"Data Table reads and deletes the data tables of {_SHARED}.",
    # 1.2+ stores vectors under a `memoryKey` global to the n8n process (earlier versions and the
    # legacy Insert/Load nodes prefix it with the workflow id): any workflow reads any other's.
    "@n8n/n8n-nodes-langchain.vectorStoreInMemory": "Simple Vector Store keeps its vectors "
    f"under a key shared by {_SHARED}; use a hosted vector store (Qdrant, Pinecone, PGVector).",
    # Its `oom` category allocates on n8n's own heap until it fails: n8n goes down for all.
    "n8n-nodes-base.debugHelper": "Debug Helper can exhaust the memory of the n8n server "
    f"that runs {_SHARED}.",
}
# FTP/SFTP stay allowed: they talk to remote servers over the network, like any other service
# node, and never touch the n8n host's disk. The Code node stays allowed: it runs sandboxed.


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_TOOL = "tool"
_LABEL = r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?"
_HOST_NAME = re.compile(rf"(\*\.)?{_LABEL}(\.{_LABEL})*")


@dataclass(frozen=True)
class NodePolicy:
    """Denied node types and the reason shown to the user for each, the internal hosts the
    project's nodes may fetch (`allowed_hosts`, as normalised by `normalize_host`), and the n8n
    workflows its nodes may run (`workflows`: n8n id → name; None when not known here, e.g.
    `clixen validate` without a database: then which workflow a node runs is not checked)."""

    denied: frozenset[str] = field(default_factory=lambda: frozenset(DEFAULT_DENYLIST))
    reason: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_DENYLIST))
    # Types the project allowed by name: they win over a denied base type (e.g. "…gitTool").
    allowed: frozenset[str] = frozenset()
    allowed_hosts: tuple[str, ...] = ()
    workflows: Mapping[str, str] | None = None
    _by_name: dict[str, str] = field(init=False, repr=False, compare=False)
    _by_short: dict[str, str] = field(init=False, repr=False, compare=False)
    _allowed: frozenset[str] = field(init=False, repr=False, compare=False)
    _host_names: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _host_nets: tuple[IPNetwork, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name = {t.lower(): t for t in sorted(self.denied)}
        by_short: dict[str, str] = {}
        for low, t in by_name.items():
            by_short.setdefault(low.rsplit(".", 1)[-1], t)
        names, nets = [], []
        for entry in self.allowed_hosts:
            net = _as_network(entry)
            if net is None:
                names.append(entry)
            else:
                nets.append(net)
        object.__setattr__(self, "_by_name", by_name)
        object.__setattr__(self, "_by_short", by_short)
        object.__setattr__(self, "_allowed", frozenset(t.lower() for t in self.allowed))
        object.__setattr__(self, "_host_names", tuple(names))
        object.__setattr__(self, "_host_nets", tuple(nets))

    def denied_as(self, node_type: str) -> str | None:
        """The denied type `node_type` is a spelling or an AI-tool variant of, or None."""
        low = node_type.strip().lower()
        if not low or low in self._allowed:
            return None
        candidates = [low]
        if low.endswith(_TOOL) and len(low) > len(_TOOL):
            candidates.append(low[: -len(_TOOL)])
        table = self._by_name if "." in low else self._by_short
        for candidate in candidates:
            if candidate in table:
                return table[candidate]
        return None

    def fingerprint(self) -> str:
        """A digest of everything this policy decides by: equal digests, equal verdicts."""
        state = {
            "denied": sorted(self.denied),
            "reason": sorted(self.reason.items()),
            "allowed": sorted(self.allowed),
            "hosts": list(self.allowed_hosts),
            "workflows": None if self.workflows is None else sorted(self.workflows.items()),
        }
        return hashlib.sha256(json.dumps(state).encode()).hexdigest()

    def is_denied(self, node_type: str) -> bool:
        return self.denied_as(node_type) is not None

    def why(self, node_type: str) -> str:
        entry = self.denied_as(node_type) or node_type
        return self.reason.get(entry, "This node type is not allowed in this project.")

    def host_allowed(self, host: str, ip: IPAddress | None = None) -> bool:
        """Whether the project's nodes may fetch from `host` (a name, or the `ip` it means)."""
        name = host.strip().lower().rstrip(".")
        for entry in self._host_names:
            if name == entry or (entry.startswith("*.") and name.endswith(entry[1:])):
                return True
        if ip is None:
            ip = _as_address(name.strip("[]"))
        return ip is not None and any(
            ip.version == net.version and ip in net for net in self._host_nets
        )

    @classmethod
    def default(cls) -> NodePolicy:
        return cls()

    @classmethod
    def from_json(
        cls, data: Mapping[str, Any] | None, *, workflows: Mapping[str, str] | None = None
    ) -> NodePolicy:
        """Policy from a project's `node_policy` JSON, relative to the default denylist, with the
        project's n8n `workflows` (id → name) its nodes may run (None: not checked)."""
        deny = _type_list((data or {}).get("deny"))
        allow = _type_list((data or {}).get("allow"))
        denied = (frozenset(DEFAULT_DENYLIST) | deny) - allow
        reason = {
            t: DEFAULT_DENYLIST.get(t, "A project owner denied this node type.") for t in denied
        }
        hosts = _host_list((data or {}).get("allow_hosts"))
        return cls(
            denied=frozenset(denied),
            reason=reason,
            allowed=allow,
            allowed_hosts=hosts,
            workflows=None if workflows is None else dict(workflows),
        )


def _type_list(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list | tuple | set | frozenset) or not all(
        isinstance(v, str) and v for v in value
    ):
        raise InvalidInput("A node policy list must be a list of node type names.")
    return frozenset(value)


def normalize_host(value: str) -> str:
    """An `allow_hosts` entry in its one spelling: a lower-case host name (`*.suffix` for every
    name under it), an IP address or a CIDR network. Raises InvalidInput for anything else."""
    text = value.strip().lower().rstrip(".") if isinstance(value, str) else ""
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if "/" in text:
        try:
            return str(ipaddress.ip_network(text, strict=False))
        except ValueError:
            pass
    elif (ip := _as_address(text)) is not None:
        return str(ip)
    elif _HOST_NAME.fullmatch(text):
        return text
    raise InvalidInput(
        f"{value!r} is not a host name, IP address or network: give only the host, "
        "e.g. 10.0.0.5, 10.0.0.0/24 or grafana.internal."
    )


def _host_list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple | set | frozenset):
        raise InvalidInput("allow_hosts must be a list of host names, IP addresses or networks.")
    return tuple(dict.fromkeys(normalize_host(v) for v in value))


def _as_address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _as_network(entry: str) -> IPNetwork | None:
    if "/" not in entry and _as_address(entry) is None:
        return None
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return None


def policy_for_project(*, session: Session, project_id: int) -> NodePolicy:
    """The node policy in force for a project (the default one if the project set none), with
    the project's live n8n workflows as the only ones its nodes may run."""
    # SQLAlchemy's models (~0.4 s) load only when a project is read: `clixen validate` holds a
    # file to a NodePolicy without a database, and starts fast (benchmarks/cli_startup.py).
    from core.kernel.models import Project
    from core.workspace.projects import project_n8n_workflows

    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"Project {project_id} does not exist.")
    return NodePolicy.from_json(
        project.node_policy,
        workflows=project_n8n_workflows(session=session, project_id=project_id),
    )


def set_project_policy(
    *,
    session: Session,
    project_id: int,
    actor_user_id: str,
    deny: Iterable[str] | None = None,
    allow: Iterable[str] | None = None,
    allow_hosts: Iterable[str] | None = None,
) -> NodePolicy:
    """Replace the project's deny/allow/allow_hosts lists (None keeps that list); owners only.
    Host entries are normalised (`normalize_host`); one that is not a host raises InvalidInput."""
    from sqlalchemy import select  # with the models, as in `policy_for_project`

    from core.kernel.models import Project, ProjectMember

    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"Project {project_id} does not exist.")
    role = session.scalar(
        select(ProjectMember.role).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == actor_user_id
        )
    )
    if role != "owner":
        raise PermissionDenied(
            "Only a project owner can change which node types and hosts are allowed."
        )
    current = dict(project.node_policy or {})
    if deny is not None:
        current["deny"] = sorted(_type_list(list(deny)))
    if allow is not None:
        current["allow"] = sorted(_type_list(list(allow)))
    if allow_hosts is not None:
        current["allow_hosts"] = sorted(_host_list(list(allow_hosts)))
    project.node_policy = current
    session.flush()
    return NodePolicy.from_json(current)
