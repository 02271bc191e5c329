"""The stored words of the domain, one enum each: what a run is doing, what kind of request it
serves, where a workflow version came from and how it stands, how a workflow stands, what a
project member may do.

Each is a `StrEnum` whose values are exactly the strings stored in the database, so rows written
before these enums existed load unchanged and a member compares equal to its string; `Role` is the
exception: an `IntEnum`, so roles compare by rank, stored by name. Importing this module is cheap
(no SQLAlchemy, no pydantic): the CLI and the Block Kit builders use it too.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

from core.kernel.errors import InvalidInput


class RunState(StrEnum):
    """Where a pipeline run stands (`PipelineRun.state`)."""

    queued = "queued"
    generating = "generating"
    validating = "validating"
    repairing = "repairing"
    deploying = "deploying"
    watching = "watching"
    awaiting_input = "awaiting_input"
    # Stopped before deploy until the project has the credentials its nodes need: not failed,
    # nothing lost, not in progress (recovery leaves it alone); a new secret resumes it.
    awaiting_credentials = "awaiting_credentials"
    succeeded = "succeeded"
    failed = "failed"

    @property
    def finished(self) -> bool:
        return self in FINISHED


IN_PROGRESS = frozenset(
    {
        RunState.queued,
        RunState.generating,
        RunState.validating,
        RunState.repairing,
        RunState.deploying,
        RunState.watching,
    }
)
FINISHED = frozenset({RunState.succeeded, RunState.failed})


class RunKind(StrEnum):
    """What a run was started for (`PipelineRun.kind`)."""

    create = "create"  # a new workflow from a request
    edit = "edit"  # a new version of an existing workflow from a change request
    repair = "repair"  # started by the execution watch after a runtime error


class VersionSource(StrEnum):
    """Where a stored version came from (`WorkflowVersion.source`)."""

    generate = "generate"  # the first version a `create` run deployed
    edit = "edit"  # the first version an `edit` run deployed
    repair = "repair"  # any version an automatic repair deployed
    rollback = "rollback"  # an earlier version redeployed as the new head
    imported = "import"  # a given JSON deployed as it is (`clixen deploy`, no LLM)

    @classmethod
    def for_run(cls, kind: RunKind | str, *, already_deployed: bool) -> VersionSource:
        """The source of a version a run of `kind` deploys (after a first deploy: a repair)."""
        if already_deployed or kind == RunKind.repair:
            return cls.repair
        return cls.edit if kind == RunKind.edit else cls.generate


class VersionStatus(StrEnum):
    """How a stored version stands (`WorkflowVersion.status`)."""

    pending = "pending"
    deployed = "deployed"
    failed = "failed"
    superseded = "superseded"
    # Review before live: stored, validated and bound, waiting for a project owner's decision
    # (`core.deploy.review`); never sent to n8n unless approved.
    awaiting_review = "awaiting_review"
    rejected = "rejected"


class WorkflowStatus(StrEnum):
    """How a workflow stands (`Workflow.status`)."""

    draft = "draft"
    active = "active"
    inactive = "inactive"
    failed = "failed"
    # Active in n8n, but an OAuth2 account it uses can no longer be refreshed (consent revoked).
    needs_reconnect = "needs_reconnect"
    deleted = "deleted"


class WorkflowEventKind(StrEnum):
    """What a person did to a workflow besides a new version (`WorkflowEvent.kind`)."""

    paused = "paused"
    resumed = "resumed"
    renamed = "renamed"
    deleted = "deleted"
    restored = "restored"


class ReviewState(StrEnum):
    """Where a request to make a version live stands (`VersionReview.state`)."""

    pending = "pending"  # waiting for an owner
    approved = "approved"  # an owner approved it and it was deployed
    rejected = "rejected"  # an owner rejected it: live untouched
    outdated = "outdated"  # live moved on before the decision: closed, nothing deployed
    failed = "failed"  # approved, but n8n refused it (the version says why)


class Role(IntEnum):
    """What a member may do in a project (`ProjectMember.role` holds the name); a higher role
    includes every lower one."""

    viewer = 1
    editor = 2
    owner = 3

    @classmethod
    def parse(cls, value: str) -> Role:
        try:
            return cls[value.strip().lower()]
        except KeyError:
            raise InvalidInput(
                f"Unknown role {value!r}: use one of owner, editor, viewer."
            ) from None
