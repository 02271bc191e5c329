"""Driving a run: `execute_run` takes the run's claim, runs the steps from its saved state until
it succeeds, fails or asks a question, and releases the claim; `answer_question` gives a waiting
run the user's answer and drives it on. When the process stops (`services.stopping`), a worker
ends after the step in progress and hands the run over (its claim released, the run still in
progress for another process's recovery), and a queued run is not started.

Contract: only the holder of a run's claim drives it (see `claims`): `execute_run` refuses a run
another worker holds, and a worker whose claim was taken over stops at its next save. It never
raises for a failure inside the run: every error becomes a failed run with a message a user can
read (and a telemetry category), and the caller gets the `RunOutcome`. Only a run that does not
exist raises (NotFound).
"""

from __future__ import annotations

import logging
import time

from core.generation.llm import LLMError
from core.kernel import metrics
from core.kernel.errors import ClixenError, InvalidInput, NotFound, user_message
from core.kernel.log_context import bind, rebind
from core.kernel.models import PipelineRun
from core.kernel.safety import sanitize_request
from core.kernel.vocabulary import IN_PROGRESS, RunState
from core.n8n import N8nError
from core.pipeline import claims
from core.pipeline.active import ActiveRun, ClaimLost, StopRun, fail, outcome
from core.pipeline.runs import get_run, hold_run_place
from core.pipeline.steps import STEPS
from core.pipeline.types import Answer, PipelineServices, Progress, RunContext, RunOutcome
from core.workspace import quotas

logger = logging.getLogger(__name__)

# The `step` label of each timed state (queued only moves on; it is not a step of its own).
STEP_NAMES = {
    RunState.generating: "generate",
    RunState.repairing: "repair",
    RunState.validating: "validate",
    RunState.deploying: "deploy",
    RunState.watching: "test_run",
}

# The outcome of a run this process stopped driving because it is stopping (still in progress).
HANDED_OVER = (
    "This server is restarting; another one picks the request up at once and reports here."
)


def execute_run(
    services: PipelineServices, run_id: int, progress: Progress | None = None
) -> RunOutcome:
    """Drive run `run_id` from its saved state until it succeeds, fails or asks a question.

    The run is driven only if this worker can claim it: a run queued by this process, or one
    whose claim is free or expired. A run another worker holds is left alone: the outcome shows
    where it stands and says it is being worked on elsewhere.
    """
    if services.stopping.is_set():
        run = get_run(services, run_id)
        if RunState(run.state) not in IN_PROGRESS:
            return outcome(ActiveRun.of(services, run, progress))
        # This process is stopping: its queued claim is released for another one to take.
        claims.release(services, run_id, services.owner)
        return outcome(ActiveRun.of(services, run, progress), message=HANDED_OVER)
    # Claimed straight away (the claim takes only a run in progress): a run that ended, or
    # that another worker holds, is read and reported by `_held_elsewhere`.
    claimed = claims.take(services, run_id)
    if claimed is None:
        return _held_elsewhere(services, run_id, progress)
    return drive(services, claimed, progress)


def drive(
    services: PipelineServices, claimed: PipelineRun, progress: Progress | None = None
) -> RunOutcome:
    """Drive a run this worker claimed (`claimed`: the run as `claims.take` returned it, its
    `owner_pid` the worker's owner id), then release the claim."""
    owner = claimed.owner_pid
    assert owner is not None
    active = ActiveRun.of(services, claimed, progress, owner=owner)
    run = active.run
    with (
        bind(run_id=run.id, workflow_id=run.workflow_id, project=run.project_id, team=run.team_id),
        metrics.RUNS_IN_PROGRESS.track_inprogress(),
    ):
        if active.state == RunState.queued:
            metrics.RUNS_STARTED.labels(run.kind).inc()
        result, ended = _drive(services, active, owner, progress)
        metrics.RUNS_FINISHED.labels(run.kind, ended).inc()
        logger.info(
            "run %s (%s) stopped %s after %s repairs, %s tokens",
            run.id,
            run.kind,
            ended,
            result.repairs,
            result.tokens,
        )
        return result


def _step(active: ActiveRun) -> None:
    """Run the step of the run's state, timed under its step name."""
    state = active.state
    started = time.perf_counter()
    active.snapshot = None  # each step reads the project once, as it is now
    active.n8n_seen = None  # and the workflow's n8n id, when it needs it
    try:
        STEPS[state](active)
    finally:
        if state in STEP_NAMES:
            metrics.STEP_SECONDS.labels(STEP_NAMES[state]).observe(time.perf_counter() - started)
        rebind(workflow_id=active.run.workflow_id)  # a new run's workflow exists from deploy on


def _drive(
    services: PipelineServices, active: ActiveRun, owner: str, progress: Progress | None
) -> tuple[RunOutcome, str]:
    """The outcome, and how the drive ended: the run's state, or `taken_over`."""
    run_id = active.run.id
    try:
        try:
            while active.state in IN_PROGRESS:
                if services.stopping.is_set():
                    # Between two steps: the run is saved; the claim is released below.
                    logger.info(
                        "run %s handed over at %s: this process stops", run_id, active.state
                    )
                    return outcome(active, message=HANDED_OVER), "handed_over"
                _step(active)
        except StopRun:
            pass
        except quotas.QuotaExceeded as e:
            fail(active, str(e), category="quota")
        except LLMError as e:
            fail(active, f"The AI service failed: {e}", category="llm")
        except N8nError as e:
            fail(active, f"n8n could not be reached or refused a call: {e}", category="n8n")
        except ClixenError as e:
            fail(active, str(e), category="pipeline")
        except ClaimLost:
            raise
        except Exception as e:
            told = user_message(e, log=logger, where=f"run {run_id}")
            fail(active, told.text, category="internal")
    except ClaimLost:
        logger.warning("run %s was taken over by another worker; this one stops", run_id)
        return outcome(
            ActiveRun.of(services, get_run(services, run_id), progress),
            message="This request was taken over by another worker (this one had stopped "
            "answering for too long); that worker finishes it.",
        ), "taken_over"
    finally:
        claims.release(services, run_id, owner)
    return outcome(active), str(active.state)


def _held_elsewhere(
    services: PipelineServices, run_id: int, progress: Progress | None
) -> RunOutcome:
    active = ActiveRun.of(services, get_run(services, run_id), progress)
    if active.state not in IN_PROGRESS:
        return outcome(active)  # not in progress: it ended, or waits for the user
    logger.info("run %s is held by %s; not driven here", run_id, active.run.owner_pid)
    return outcome(
        active,
        message="This request is already being worked on; its result will be reported when "
        "it is done.",
    )


def answer_question(
    services: PipelineServices,
    run_id: int,
    answer: str,
    progress: Progress | None = None,
    *,
    team_id: str | None = None,
    user_id: str | None = None,
) -> RunOutcome:
    """Continue a run that asked a clarifying question, with the user's answer.

    The core entry point of an answer: it sanitises `answer` and, given the answering user's
    `team_id` and `user_id`, lets only the person who made the request answer. Raises NotFound,
    InvalidInput (someone else's run, a run not waiting for an answer, an unusable answer),
    TooManyRuns (the requester already has `max_concurrent_runs` requests in progress).
    """
    clean = sanitize_request(answer)
    with services.session_factory.begin() as session:
        run = session.get(PipelineRun, run_id, with_for_update=True)
        if run is None:
            raise NotFound(f"Run {run_id} does not exist.")
        if (user_id is not None and run.user_id != user_id) or (
            team_id is not None and run.team_id != team_id
        ):
            raise InvalidInput("Only the person who made the request can answer its question.")
        if run.state != RunState.awaiting_input:
            raise InvalidInput(f"Run {run_id} is not waiting for an answer (it is {run.state}).")
        hold_run_place(services, session, team_id=run.team_id, user_id=run.user_id)
        context = RunContext.of(run.context)
        context.answers = [
            *context.answers,
            Answer(question=run.clarifying_question or "", answer=clean),
        ]
        run.context = context.stored()
        run.clarifying_question = None
        run.state = RunState.generating
        claims.hold_here(services, run)  # driven by this process right away
    return execute_run(services, run_id, progress)
