"""The pipeline's vocabulary: its caps, its error, the services it is given, what it reports
while it works (`ProgressEvent`) and when it stops (`RunOutcome`), and `RunContext`, the typed
working data a run carries from step to step (stored as JSON in `PipelineRun.context`).

Contract: nothing here talks to the database, n8n or the LLM. `RunContext.model_validate` accepts
every context dict any version of the pipeline stored (missing keys take their defaults, unknown
keys are ignored), and `RunContext.stored()` is the dict to store.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, PlainSerializer, PlainValidator
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.errors import ClixenError
from core.kernel.models import utcnow
from core.kernel.settings import Settings
from core.kernel.vocabulary import RunState
from core.pipeline.claims import RunClaims
from core.validation import Issue

if TYPE_CHECKING:
    from core.catalog import NodeCatalog
    from core.generation.llm import LLMClient
    from core.generation.templates import TemplateLibrary
    from core.n8n import N8nClient
    from core.observability.readiness import ReadinessProbe
    from core.validation.mcp import McpValidator

# The design's caps: at most 2 LLM repairs for validation errors, 3 repairs in all.
MAX_VALIDATION_REPAIRS: Final = 2
MAX_TOTAL_REPAIRS: Final = 3
# A run asks at most this many clarifying questions; after that the model must decide.
MAX_QUESTIONS: Final = 2
# Test calls per watch: n8n 2.x can serve a call with the previous version while it republishes.
MAX_TEST_CALLS: Final = 3
# The shortest answer worth paying for: an LLM call is not made when the user's tokens left
# today, after the prompt, cannot pay for at least this much of an answer (a small workflow).
MIN_REPLY_TOKENS: Final = 1_000
# The failure category (`PipelineRun.step_detail`) of a run whose candidate was not deployed
# because the workflow's head moved while it worked (a rollback, another edit).
CONFLICT: Final = "conflict"


class PipelineError(ClixenError):
    code = "pipeline"


@dataclass
class PipelineServices:
    """Everything the pipeline talks to, passed in (never imported or built at import time).

    Build it with `build_services` (core/pipeline/services.py); tests build their own.
    """

    session_factory: sessionmaker[Session]
    n8n: N8nClient
    llm: LLMClient | None
    catalog: NodeCatalog
    mcp: McpValidator | None
    templates: TemplateLibrary | None
    settings: Settings
    clock: Callable[[], dt.datetime] = utcnow
    # How long to watch for an execution after a deploy (a test call's run, or a quick one).
    watch_s: float = 5.0
    poll_s: float = 0.25
    # A run's claim lasts `lease_s` unless renewed; its holder renews it every `heartbeat_s`
    # (a fraction of the lease, so a missed beat or two never lets it lapse).
    heartbeat_s: float = 15.0
    lease_s: float = 120.0
    # This process's owner id ("host:pid"): the holder of the runs it queued.
    owner: str = field(default_factory=lambda: f"{socket.gethostname()[:40]}:{os.getpid()}")
    # The claims this process holds and renews (see core/pipeline/claims.py).
    claims: RunClaims = field(default_factory=RunClaims, repr=False)
    # This replica's readiness (`clixen serve`): while not ready, no new run starts. None: the
    # caller (the CLI, a test) vouches for its dependencies itself.
    readiness: ReadinessProbe | None = None
    # Set when this process stops (SIGTERM): workers end after the step in progress and hand
    # their runs over (claims released), and queued runs are not started here.
    stopping: threading.Event = field(default_factory=threading.Event, repr=False)


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a run, for a progress display (the Slack thread message, CLI lines)."""

    run_id: int
    step: RunState
    message: str
    repair_number: int = 0
    repair_cap: int = MAX_TOTAL_REPAIRS


# The one type of a progress callback: the bot's Slack message updater, the CLI's printer.
Progress = Callable[[ProgressEvent], None]


@dataclass(frozen=True)
class RunOutcome:
    """Where a run ended up (or paused), in words a user can read."""

    run_id: int
    state: RunState
    message: str
    question: str | None = None
    workflow_id: int | None = None
    n8n_workflow_id: str | None = None
    version: int | None = None
    summary: str | None = None
    needs_review: bool = False
    repairs: int = 0
    tokens: int = 0
    problems: tuple[str, ...] = ()
    # While `awaiting_credentials`: (node, acceptable credential types) still missing.
    credentials_needed: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # While `awaiting_credentials`: why n8n refused the credentials just given (None: none was).
    credentials_rejected: str | None = None
    # Review before live: the version this run made waits for an owner (its request's id).
    review_id: int | None = None
    review_version: int | None = None

    @property
    def ok(self) -> bool:
        return self.state == RunState.succeeded


# --- what a run carries from step to step ----------------------------------------------------


class ProblemKind(StrEnum):
    """What the repair prompt tells the model, and which cap a repair counts against."""

    validation = "validation"  # our validator, n8n-mcp or n8n refused the candidate
    runtime = "runtime"  # an execution of the deployed candidate failed (counts only in all)
    parse = "parse"  # the reply was not the JSON object asked for (counts as validation)


def _issue(value: Any) -> Issue:
    if isinstance(value, Issue):
        return value
    if isinstance(value, Mapping):
        return Issue.from_dict(value)
    raise ValueError("a stored problem is a JSON object")


# A problem as a run stores it: `Issue.to_dict()`, read back with `Issue.from_dict()`.
StoredIssue = Annotated[
    Issue,
    PlainValidator(_issue),
    PlainSerializer(lambda issue: issue.to_dict(), return_type=dict[str, Any]),
]


class _Stored(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Answer(_Stored):
    """A clarifying question the run asked and the user's (sanitised) answer."""

    question: str = ""
    answer: str


class DeployedVersion(_Stored):
    """A version this run deployed, and the checksum of the candidate it was."""

    version: int
    checksum: str = ""


class ExecutionSeen(_Stored):
    """The execution the post-deploy watch saw (n8n's id and status)."""

    id: str
    status: str


class RuntimeFailure(_Stored):
    """Where an execution of a deployed candidate failed (n8n's node and message, clipped)."""

    node: str | None = None
    message: str = ""


class NeededCredential(_Stored):
    """A node of the candidate that needs a credential the project has not given yet."""

    node: str
    types: list[str]


class RunContext(_Stored):
    """The working data of one run that must survive a crash (`PipelineRun.context`)."""

    # JSON body of the test call made after deploy when the workflow starts with a webhook.
    test_sample: dict[str, Any] | None = None
    # The requester's IANA timezone (Slack users.info `tz`): the prompt's known context and
    # the workflow's settings.timezone.
    timezone: str | None = None
    answers: list[Answer] = []
    # An edit's starting point: the head version when the run first generated.
    base_workflow: dict[str, Any] | None = None
    # The version the candidate was built from (None: no check, a context stored before this
    # existed): a deploy is refused if the workflow's head is no longer this one. 0 for a new
    # workflow; after each deploy of this run, the version it deployed.
    base_version: int | None = None
    candidate: dict[str, Any] | None = None
    summary: str = ""
    # What the next repair must fix, and which kind of problem it is.
    problems: list[StoredIssue] = []
    # The deploy gate's digest of the candidate as the validate step passed it (None: not
    # checked, or found wrong): the deploy skips validating those same bytes under that policy.
    checked: str | None = None
    # Fields the candidate reads that upstream nodes do not output (validator warnings), kept
    # for the repair prompt of a runtime failure.
    field_warnings: list[StoredIssue] = []
    problem_kind: ProblemKind | None = None
    bad_reply: str | None = None
    # Deterministic fixes applied so far (the latest 40), in words.
    fixes: list[str] = []
    # Rounds in which the model looked nodes up (search_nodes / get_node_spec), all calls.
    tool_rounds: int = 0
    deployed: list[DeployedVersion] = []
    # The newest execution id before the last deploy: the watch looks only past it.
    watch_after: str | None = None
    last_execution: ExecutionSeen | None = None
    runtime_failures: list[RuntimeFailure] = []
    # While `awaiting_credentials`: the nodes still without a credential.
    credentials_needed: list[NeededCredential] = []
    # Nodes whose credential the user must choose again (an edit changed the host they call):
    # never bound automatically.
    ask_credentials: list[str] = []
    # Review before live: the request the run's version waits in, and that version.
    review_id: int | None = None
    review_version: int | None = None

    @classmethod
    def of(cls, stored: Mapping[str, Any] | None) -> RunContext:
        """The context of a stored row (None or {} for a new run)."""
        return cls.model_validate(dict(stored or {}))

    def stored(self) -> dict[str, Any]:
        """The JSON dict to store: only what differs from a new run's context."""
        return self.model_dump(mode="json", exclude_defaults=True)

    @property
    def version(self) -> int | None:
        """The version this run deployed last, if any."""
        return self.deployed[-1].version if self.deployed else None
