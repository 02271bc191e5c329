"""What every check is given and how it writes a finding: `Context` (the catalog, the policy, how
many inline sub-workflows deep the check is) and `collect` (an `add(code, message, …)` that
appends an `Issue` to the check's own list). Each check is a function of its inputs that returns
the issues it found; `core.validation.checker` combines them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from core.catalog import KNOWN_PREFIXES, NodeCatalog
from core.validation.report import Issue, Severity
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


class Add(Protocol):
    def __call__(
        self,
        code: str,
        message: str,
        *,
        node: str | None = None,
        hint: str = "",
        severity: Severity = "error",
    ) -> None: ...


def collect(issues: list[Issue]) -> Add:
    """An `add(code, message, node=, hint=, severity=)` writing into `issues`."""

    def add(
        code: str,
        message: str,
        *,
        node: str | None = None,
        hint: str = "",
        severity: Severity = "error",
    ) -> None:
        issues.append(Issue(code, message, node, severity, hint))

    return add


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
