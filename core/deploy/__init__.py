"""Deploying workflow versions to n8n and keeping every one of them.

Every deploy path (pipeline, Slack, CLI, HTTP API, rollback) goes through `deploy_version`, so the
validation gate, authorization, quota and version history cannot be skipped. By job: `versions`
(create the record, deploy a version: the three-phase order that loses nothing), `lifecycle`
(a new workflow deployed whole or not at all, rollback, deactivate, delete, discarding a draft
that never deployed), `lock` (one deploy of a workflow at a time, across processes),
`readback` (n8n must hold what we sent), `gate` (parse, check and bind: what every workflow passes
before n8n gets it, test copies included), `review` and `approval` (review before live: a version
waits for an owner's approval instead of going live; the approval deploys exactly it), `errors`.
"""

from core.deploy.approval import deploy_reviewed
from core.deploy.errors import (
    CredentialsMissing,
    DeployBusy,
    DeployFailed,
    HeadMoved,
    ReviewPending,
    ValidationFailed,
)
from core.deploy.lifecycle import (
    create_workflow_record,
    deactivate_workflow,
    delete_workflow,
    deploy_new_workflow,
    discard_draft,
    restore_workflow,
    rollback_to,
)
from core.deploy.lock import LOCK_WAIT_S
from core.deploy.publish import SayLine
from core.deploy.versions import deploy_version

__all__ = [
    "LOCK_WAIT_S",
    "CredentialsMissing",
    "DeployBusy",
    "DeployFailed",
    "HeadMoved",
    "ReviewPending",
    "SayLine",
    "ValidationFailed",
    "create_workflow_record",
    "deactivate_workflow",
    "delete_workflow",
    "deploy_new_workflow",
    "deploy_reviewed",
    "deploy_version",
    "discard_draft",
    "restore_workflow",
    "rollback_to",
]
