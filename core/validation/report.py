"""What the validator reports: one `Issue` per finding, all of them in a `ValidationReport`.

`Issue` is also what the pipeline stores and shows for any other problem of a candidate (an
unusable LLM reply, n8n refusing a deploy, a failed execution), so one type serves them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]
# The code of n8n-mcp's findings (`core.validation.mcp.combine`): warnings, never blocking.
MCP_ISSUE_CODE = "mcp_finding"


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found in a workflow."""

    code: str
    message: str
    node: str | None = None
    severity: Severity = "error"
    hint: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "node": self.node,
            "severity": self.severity,
            "hint": self.hint,
        }

    def brief(self) -> dict[str, Any]:
        """The fields that say something (no severity, no empty ones): what a prompt shows."""
        full = {"code": self.code, "node": self.node, "message": self.message, "hint": self.hint}
        return {k: v for k, v in full.items() if v}

    def plain(self) -> str:
        """One line for a person: `Node: message`."""
        return f"{self.node}: {self.message}" if self.node else self.message

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Issue:
        """An issue from `to_dict()`/`brief()` output, as stored in a run's context."""
        severity: Severity = "warning" if data.get("severity") == "warning" else "error"
        return cls(
            code=str(data.get("code") or "error"),
            message=str(data.get("message") or ""),
            node=data.get("node") or None,
            severity=severity,
            hint=str(data.get("hint") or ""),
        )


@dataclass(slots=True)
class ValidationReport:
    """All issues found; `valid` means no error-severity issue."""

    issues: list[Issue] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def valid(self) -> bool:
        return not any(i.severity == "error" for i in self.issues)

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "errors": [i.to_dict() for i in self.errors],
            "warnings": [i.to_dict() for i in self.warnings],
        }
