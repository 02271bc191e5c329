"""A project's guardrails as its owner sets them: which node types its workflows may use and
which internal hosts their HTTP requests may call (members may look; owners change them:
`core.workspace.policy.set_project_policy` checks it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from core.kernel.vocabulary import Role
from core.usecases.projects import ProjectRef, project_named
from core.workspace.policy import NodePolicy, normalize_host, policy_for_project, set_project_policy
from core.workspace.projects import Actor


@dataclass(frozen=True)
class ProjectPolicy:
    """The node policy in force in `project`; `lifted`: default-denied types just allowed,
    which n8n loads only once they are out of its NODES_EXCLUDE."""

    project: str
    policy: NodePolicy
    lifted: tuple[str, ...] = ()


def node_policy(
    session_factory: sessionmaker[Session], *, actor: Actor, project: ProjectRef
) -> ProjectPolicy:
    """The project's policy, for its members."""
    with session_factory.begin() as session:
        found = project_named(session, actor=actor, name=project, at_least=Role.viewer)
        return ProjectPolicy(found.name, policy_for_project(session=session, project_id=found.id))


def change_node_types(
    session_factory: sessionmaker[Session],
    *,
    actor: Actor,
    project: ProjectRef,
    types: Sequence[str],
    deny: bool,
) -> ProjectPolicy:
    """Deny `types` (and their <type>Tool variants), or allow them again: a type the default
    policy denies, or a variant of a denied type, is then allowed by name. Owners only."""
    with session_factory.begin() as session:
        found = project_named(session, actor=actor, name=project, at_least=Role.viewer)
        current = dict(found.node_policy or {})
        denied, allowed = set(current.get("deny", [])), set(current.get("allow", []))
        for t in types:
            if deny:
                denied.add(t)
                allowed.discard(t)
            else:
                denied.discard(t)
                if NodePolicy.from_json({"deny": sorted(denied)}).is_denied(t):
                    allowed.add(t)
        policy = set_project_policy(
            session=session,
            project_id=found.id,
            actor_user_id=actor.user_id,
            deny=sorted(denied),
            allow=sorted(allowed),
        )
        lifted = () if deny else tuple(t for t in types if NodePolicy.default().is_denied(t))
        return ProjectPolicy(found.name, policy, lifted)


def change_hosts(
    session_factory: sessionmaker[Session],
    *,
    actor: Actor,
    project: ProjectRef,
    hosts: Sequence[str],
    allow: bool,
) -> ProjectPolicy:
    """Let the project's HTTP requests call these internal hosts, IPs or CIDRs, or no longer.
    Owners only; InvalidInput for an entry that is not a host."""
    wanted = {normalize_host(h) for h in hosts}
    with session_factory.begin() as session:
        found = project_named(session, actor=actor, name=project, at_least=Role.viewer)
        current = set(NodePolicy.from_json(found.node_policy).allowed_hosts)
        policy = set_project_policy(
            session=session,
            project_id=found.id,
            actor_user_id=actor.user_id,
            allow_hosts=current | wanted if allow else current - wanted,
        )
        return ProjectPolicy(found.name, policy)
