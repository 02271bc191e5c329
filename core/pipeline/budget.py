"""The repair budget of a run: the design's caps, in one small object.

At most `MAX_VALIDATION_REPAIRS` (2) LLM repairs for validation errors (our validator, n8n-mcp,
n8n refusing the candidate, an unreadable reply) and `MAX_TOTAL_REPAIRS` (3) repairs in all,
runtime repairs included. Counted per run (`PipelineRun.total_repairs`/`validation_repairs`); a
watch repair starts from what earlier repairs of the same version spent. Tool rounds of a
generation call are not repairs.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.pipeline.types import MAX_TOTAL_REPAIRS, MAX_VALIDATION_REPAIRS, ProblemKind


@dataclass(frozen=True)
class RepairBudget:
    """Repairs spent so far; `spend` gives the budget after one more repair."""

    total: int = 0
    validation: int = 0

    def spend(self, kind: ProblemKind) -> RepairBudget:
        """The budget after one repair of `kind` (runtime repairs count only in all)."""
        return RepairBudget(
            total=self.total + 1,
            validation=self.validation + (0 if kind == ProblemKind.runtime else 1),
        )

    def exhausted(self, kind: ProblemKind) -> bool:
        """True when no further repair of problems of `kind` is allowed."""
        if self.total >= MAX_TOTAL_REPAIRS:
            return True
        return kind != ProblemKind.runtime and self.validation >= MAX_VALIDATION_REPAIRS

    def cap_reached(self, kind: ProblemKind) -> str:
        """Which cap stops a repair of `kind`, in the user's words."""
        if self.total >= MAX_TOTAL_REPAIRS or kind == ProblemKind.runtime:
            return f"{MAX_TOTAL_REPAIRS} repairs in all"
        return f"{MAX_VALIDATION_REPAIRS} repairs of validation errors"

    @property
    def next_label(self) -> str:
        """ "repair N of 3" for the repair that would come next."""
        return f"repair {self.total + 1} of {MAX_TOTAL_REPAIRS}"
