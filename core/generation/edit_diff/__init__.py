"""A whole workflow answered to a change request, turned into edit operations by diff (issue
19): smaller models often reply with the full workflow instead of operations; the diff gives
the same operations a careful model would have sent, so the same guards apply (no unrequested
removal, credentials kept)."""

from core.generation.edit_diff.from_workflow import (
    edit_from_whole_workflow,
    operations_from_workflow,
)

__all__ = ["edit_from_whole_workflow", "operations_from_workflow"]
