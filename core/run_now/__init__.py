"""Run any workflow now, whatever its trigger, on a throwaway test copy in n8n.

`copies` builds the copy (each trigger replaced by a webhook entry plus a node with the
trigger's name that emits one sample item shaped like the trigger's real output); `runs` passes
the workflow through the deploy gate, creates the copy, calls it once, reads the execution back
per node and always deletes it; `sweep` records each copy before n8n creates it and deletes the
recorded copies a killed process left behind (the scheduler runs `sweep_test_copies`).
"""

from core.run_now.copies import TEST_PREFIX, RunNowCopy, build_test_copy, outside_effects
from core.run_now.runs import NodeResult, RunNowReport, gated_copy, run_now, run_workflow_now
from core.run_now.sweep import sweep_test_copies

__all__ = [
    "TEST_PREFIX",
    "NodeResult",
    "RunNowCopy",
    "RunNowReport",
    "build_test_copy",
    "gated_copy",
    "outside_effects",
    "run_now",
    "run_workflow_now",
    "sweep_test_copies",
]
