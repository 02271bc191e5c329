"""What every check is given: `Context` (the catalog, the policy, how many inline sub-workflows
deep the check is) and `denied_type` (what a node type stands for under the policy). Each check
is a function of its inputs that returns the issues it found; `core.validation.checker` combines
them."""

from __future__ import annotations

from dataclasses import dataclass, replace

from core.catalog import KNOWN_PREFIXES, NodeCatalog
from core.workspace.policy import NodePolicy


@dataclass(frozen=True)
class Context:
    """What one validation is checked against."""

    catalog: NodeCatalog
    policy: NodePolicy | None
    # How many inline sub-workflows deep this validation is (0: the workflow itself).
    depth: int = 0

    def deeper(self) -> Context:
        return replace(self, depth=self.depth + 1)


def denied_type(ctx: Context, node_type: str) -> str | None:
    """The denied type `node_type` stands for under the policy (None: allowed, or no policy).

    Any case, an AI-tool variant, or an unprefixed name: an unprefixed name means the catalog
    type it exactly names, n8n-nodes-base first (so "code" is the allowed Code node), else any
    denied type of that short name."""
    if ctx.policy is None:
        return None
    if "." not in node_type:
        for prefix in KNOWN_PREFIXES:
            full = prefix + node_type.strip()
            hit = ctx.catalog.closest_type(full)
            if hit is not None and hit.lower() == full.lower():
                return ctx.policy.denied_as(hit)
    return ctx.policy.denied_as(node_type)
