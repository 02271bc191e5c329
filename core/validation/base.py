"""The base of the checks: the catalog, the policy and the issues found so far."""

from __future__ import annotations

from core.catalog import KNOWN_PREFIXES, NodeCatalog
from core.validation.report import Issue, Severity
from core.workspace.policy import NodePolicy


class Checks:
    """Shared state of one validation; the check mixins add to `issues`."""

    def __init__(self, catalog: NodeCatalog, policy: NodePolicy | None, depth: int = 0) -> None:
        self.catalog = catalog
        self.policy = policy
        # How many inline sub-workflows deep this validation is (0: the workflow itself).
        self.depth = depth
        self.issues: list[Issue] = []

    def add(
        self,
        code: str,
        message: str,
        *,
        node: str | None = None,
        hint: str = "",
        severity: Severity = "error",
    ) -> None:
        self.issues.append(Issue(code, message, node, severity, hint))

    def denied_type(self, node_type: str) -> str | None:
        """The denied type `node_type` stands for under the policy (None: allowed, or no policy).

        Any case, an AI-tool variant, or an unprefixed name: an unprefixed name means the catalog
        type it exactly names, n8n-nodes-base first (so "code" is the allowed Code node), else any
        denied type of that short name."""
        if self.policy is None:
            return None
        if "." not in node_type:
            for prefix in KNOWN_PREFIXES:
                full = prefix + node_type.strip()
                hit = self.catalog.closest_type(full)
                if hit is not None and hit.lower() == full.lower():
                    return self.policy.denied_as(hit)
        return self.policy.denied_as(node_type)
