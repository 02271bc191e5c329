"""The durable pipeline: request → generate → validate → repair (capped) → deploy → watch.

Every request is a `PipelineRun` row. Each step saves the run's state and its typed working data
(`RunContext`, stored in `PipelineRun.context`: candidate JSON, remaining problems, answers,
deployed versions) before the next one starts, so a process that dies mid-way leaves a run that
`resume_incomplete_runs` can continue or close. LLM tokens are charged in the same transaction
that saves the call's result, and a deploy first looks for a version this run already stored, so
a resumed run never charges or deploys twice.

One request, one run: a run is driven only by whoever holds its claim (owner + lease, renewed by
the holder's heartbeat), so recovery never drives a second copy of a run waiting for a worker.
Each LLM call reserves its tokens before it is made; a candidate built from version N is not
deployed over a head that moved past N.

The package, by job: `types` (caps, services, progress, outcome, `RunContext`), `services`
(`build_services`), `claims` (who may drive a run), `runs` (starting and listing runs), `engine`
(driving a run, answering its question) with `active` (one executing run: its project read once
per step, saving, succeeding, failing), `steps` (one function per state; deploying and watching
in `delivery`), `budget` (the repair caps), `credential_wait` and `resume` (a run waiting for
credentials, and given them), `watch` (executions after a deploy, test calls), `llm_calls` (an
LLM call paid for: reserve, call, settle), `repair` (after a runtime error seen by the execution
watch) and `recovery` (runs nobody holds any more).
"""

from core.kernel.vocabulary import FINISHED, IN_PROGRESS, RunKind, RunState
from core.pipeline.engine import answer_question, execute_run
from core.pipeline.recovery import resume_incomplete_runs
from core.pipeline.repair import repair_after_runtime_error
from core.pipeline.runs import get_run, list_runs, start_run
from core.pipeline.services import build_services
from core.pipeline.types import (
    CONFLICT,
    MAX_QUESTIONS,
    MAX_TEST_CALLS,
    MAX_TOTAL_REPAIRS,
    MAX_VALIDATION_REPAIRS,
    MIN_REPLY_TOKENS,
    Answer,
    DeployedVersion,
    ExecutionSeen,
    PipelineError,
    PipelineServices,
    ProblemKind,
    Progress,
    ProgressEvent,
    RunContext,
    RunOutcome,
    RuntimeFailure,
)
from core.pipeline.watch import SampleCallResult, run_test_call

__all__ = [
    "CONFLICT",
    "FINISHED",
    "IN_PROGRESS",
    "MAX_QUESTIONS",
    "MAX_TEST_CALLS",
    "MAX_TOTAL_REPAIRS",
    "MAX_VALIDATION_REPAIRS",
    "MIN_REPLY_TOKENS",
    "Answer",
    "DeployedVersion",
    "ExecutionSeen",
    "PipelineError",
    "PipelineServices",
    "ProblemKind",
    "Progress",
    "ProgressEvent",
    "RunContext",
    "RunKind",
    "RunOutcome",
    "RunState",
    "RuntimeFailure",
    "SampleCallResult",
    "answer_question",
    "build_services",
    "execute_run",
    "get_run",
    "list_runs",
    "repair_after_runtime_error",
    "resume_incomplete_runs",
    "run_test_call",
    "start_run",
]
