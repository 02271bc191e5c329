"""SQLAlchemy models of the whole domain. Portable between Postgres (production) and SQLite."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    Unicode,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments INTEGER PRIMARY KEY, so big ids are plain integers there.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )


class Project(TimestampMixin, Base):
    """A project groups workflows, members, secrets and policy inside one Slack workspace."""

    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("team_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(80))
    created_by: Mapped[str] = mapped_column(String(64))
    # Node types this project denies on top of / instead of the default denylist; None = default.
    node_policy: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    daily_token_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    daily_deploy_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    n8n_project_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The opt-in digest (`core.usecases.digest`): where, how often (daily | weekly), last sent.
    digest_channel: Mapped[str | None] = mapped_column(String(32), nullable=True)
    digest_every: Mapped[str | None] = mapped_column(String(8), nullable=True)
    digest_sent_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    # Review before live (`core.deploy.review`): every new version waits for an owner's approval.
    review_before_live: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    members: Mapped[list[ProjectMember]] = relationship(
        back_populates="project", cascade="all, delete-orphan"
    )


class ProjectMember(TimestampMixin, Base):
    __tablename__ = "project_members"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))  # owner | editor | viewer

    project: Mapped[Project] = relationship(back_populates="members")


class ProjectRemoval(Base):
    """An owner removed this user from the project: nothing adds them back on its own (the
    workspace's shared "default" project takes in everyone else). Adding them back deletes it."""

    __tablename__ = "project_removals"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(64))
    removed_by: Mapped[str] = mapped_column(String(64))
    removed_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )


class User(TimestampMixin, Base):
    """A person as seen by the product: a Slack user of one workspace, or a CLI user."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(64))
    last_project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), nullable=True
    )


class Workflow(TimestampMixin, Base):
    __tablename__ = "workflows"
    __table_args__ = (Index("ix_workflows_project_id_id", "project_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    n8n_workflow_id: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    # draft | active | inactive | failed | deleted
    status: Mapped[str] = mapped_column(String(16), default="draft")
    head_version: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(64))
    slack_channel_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    slack_thread_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_execution_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    last_execution_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    last_checked_execution_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, server_default=func.now()
    )

    versions: Mapped[list[WorkflowVersion]] = relationship(
        back_populates="workflow", order_by="WorkflowVersion.version"
    )


class WorkflowVersion(TimestampMixin, Base):
    """One version of a workflow's n8n JSON. History is linear: rollback adds a new head."""

    __tablename__ = "workflow_versions"
    __table_args__ = (UniqueConstraint("workflow_id", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    json_payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    checksum: Mapped[str] = mapped_column(String(64))
    prompt: Mapped[str | None] = mapped_column(Text, nullable=True)
    source: Mapped[str] = mapped_column(String(16))  # generate | repair | edit | rollback | import
    # pending | deployed | failed | superseded
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_by: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("pipeline_runs.id", ondelete="SET NULL"), nullable=True
    )
    rolled_back_from: Mapped[int | None] = mapped_column(Integer, nullable=True)
    deployed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # n8n's own message when this version failed to deploy (fed to repair, shown to the user).
    error: Mapped[str | None] = mapped_column(Text, nullable=True)

    workflow: Mapped[Workflow] = relationship(back_populates="versions")


class WorkflowEvent(Base):
    """Something a person did to a workflow besides a new version: paused, resumed, renamed,
    deleted, restored (`core.kernel.vocabulary.WorkflowEventKind`), by whom and when; shown in
    the versions view beside the versions. `detail`: the old and new name of a rename."""

    __tablename__ = "workflow_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workflow_id: Mapped[int] = mapped_column(
        ForeignKey("workflows.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(String(420), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )


class VersionReview(Base):
    """A new version waiting for (or decided by) a project owner before it goes live: the audit
    trail of review before live. `checksum` is the stored payload's digest the owner was shown;
    `base_version` the live version when it was asked (an approval never deploys over a later
    one). `test_run`: the test-run result shown with it (status, node, message, or why none)."""

    __tablename__ = "version_reviews"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    team_id: Mapped[str] = mapped_column(String(32))
    workflow_id: Mapped[int] = mapped_column(
        ForeignKey("workflows.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    checksum: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    base_version: Mapped[int] = mapped_column(Integer, default=0)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    test_run: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    # When the request was handed to a front end to show the owners (None: not yet).
    announced_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PipelineRun(TimestampMixin, Base):
    """The durable state of one request (create, edit, rollback, repair) through the pipeline."""

    __tablename__ = "pipeline_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    workflow_id: Mapped[int | None] = mapped_column(
        ForeignKey("workflows.id", ondelete="SET NULL"), nullable=True
    )
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # create | edit | rollback | repair
    request: Mapped[str] = mapped_column(Text)
    # queued | generating | validating | repairing | deploying | watching | awaiting_input
    # | awaiting_credentials (20 chars: the column's width) | succeeded | failed
    state: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    step_detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    validation_repairs: Mapped[int] = mapped_column(Integer, default=0)
    total_repairs: Mapped[int] = mapped_column(Integer, default=0)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    clarifying_question: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    # Working state that must survive a crash: current candidate JSON, issues, history.
    context: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    slack_channel_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    slack_thread_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    slack_message_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # The run's claim: who may drive it (the process that queued it, "host:pid", or the worker
    # driving it, "host:pid/<id>") until `lease_until`; the holder renews the lease while alive.
    owner_pid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, server_default=func.now()
    )
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class QuotaUsage(Base):
    """Per-user use of the daily limits on one UTC day."""

    __tablename__ = "quota_usage"
    __table_args__ = (UniqueConstraint("team_id", "user_id", "day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(64))
    day: Mapped[dt.date] = mapped_column(Date)
    tokens_used: Mapped[int] = mapped_column(Integer, default=0)
    deploys_used: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, server_default=func.now()
    )


class TelemetryEvent(Base):
    """A core event (signup, workflow_created, deployed, rolled_back, error). Never prompt text."""

    __tablename__ = "telemetry_events"
    __table_args__ = (Index("ix_telemetry_events_created_at_type", "created_at", "type"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    team_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    user_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    project_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    workflow_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    category: Mapped[str | None] = mapped_column(String(64), nullable=True)
    properties: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )


class Secret(TimestampMixin, Base):
    """A per-project secret; `ciphertext` is pgcrypto output (Postgres) or AES-GCM (SQLite)."""

    __tablename__ = "secrets"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    credential_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    n8n_credential_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Hosts the owner allows the credential to be sent to (generic types need them; see
    # core.catalog.credential_domains). Not secret: shown by `clixen secret list`.
    allowed_hosts: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True)
    # When the n8n credential was last written; older than `updated_at` = n8n holds a stale value.
    n8n_synced_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    created_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, server_default=func.now()
    )


class ApiToken(TimestampMixin, Base):
    """A per-project token for the HTTP API; only its SHA-256 hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(64))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # A read-only token lists workflows and versions; it cannot roll back (or change anything).
    read_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ProcessedAction(Base):
    """Idempotency keys of handled actions (Slack retries, double clicks)."""

    __tablename__ = "processed_actions"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    result: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )


class JobRun(Base):
    """One execution of a scheduled job for one tick; the unique key makes replicas run it once."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "tick"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    tick: Mapped[str] = mapped_column(String(40))
    runner: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class SchedulerJob(Base):
    """APScheduler's persistent job store, shared by every replica (APScheduler owns the columns).

    Declared here so the migrations create and drop it like every other table; the layout must
    stay exactly the one `apscheduler.jobstores.sqlalchemy.SQLAlchemyJobStore` expects.
    """

    __tablename__ = "apscheduler_jobs"

    id: Mapped[str] = mapped_column(Unicode(191), primary_key=True)
    next_run_time: Mapped[float | None] = mapped_column(Float(25), index=True, nullable=True)
    job_state: Mapped[bytes] = mapped_column(LargeBinary)


class SmokeResult(Base):
    """Outcome of one smoke test of the canonical RSS → Slack workflow."""

    __tablename__ = "smoke_results"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    n8n_workflow_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    execution_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    failing_node: Mapped[str | None] = mapped_column(String(200), nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    fixture_version: Mapped[str] = mapped_column(String(16), default="1")


class OAuthApp(TimestampMixin, Base):
    """The OAuth client an operator registered with a provider (Google, Microsoft, …), set once
    for the instance; `ciphertext` holds the client secret, encrypted like a project secret."""

    __tablename__ = "oauth_apps"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider: Mapped[str] = mapped_column(String(40), unique=True)
    client_id: Mapped[str] = mapped_column(String(500))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    # The generic provider's endpoints and scopes (presets carry their own).
    auth_url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    token_url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    scope: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    # The generic provider's API hosts: where its tokens may be sent (n8n domain restriction).
    allowed_hosts: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True)
    set_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, server_default=func.now()
    )


class ConnectRequest(TimestampMixin, Base):
    """One "Connect <service>" link: who may use it, for which project, run and credential type.
    Only the SHA-256 of its state value is stored; it is used once and expires in minutes."""

    __tablename__ = "connect_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("pipeline_runs.id", ondelete="SET NULL"), nullable=True
    )
    service: Mapped[str] = mapped_column(String(40))
    credential_type: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # Set when the browser used the link (then n8n's own 5-minute state takes over).
    opened_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    n8n_credential_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # n8n's `updatedAt` of that credential when the link was opened: a later one with a token
    # means n8n's callback stored a new token (a reconnect keeps the old one until then).
    n8n_updated_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)


class ConnectedAccount(TimestampMixin, Base):
    """An account connected through OAuth2: the project secret that binds it to workflows (its
    n8n credential holds the token, Clixen never does), who connected it and how it stands."""

    __tablename__ = "connected_accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    secret_id: Mapped[int] = mapped_column(
        ForeignKey("secrets.id", ondelete="CASCADE"), unique=True
    )
    service: Mapped[str] = mapped_column(String(40))
    credential_type: Mapped[str] = mapped_column(String(100))
    n8n_credential_id: Mapped[str] = mapped_column(String(64), index=True)
    account: Mapped[str | None] = mapped_column(String(320), nullable=True)
    connected_by: Mapped[str] = mapped_column(String(64))
    connected_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    needs_reconnect_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )


class RunNowCopyRecord(Base):
    """A test copy (`core.run_now`) this product made in n8n: recorded before n8n creates it
    (its unique webhook `path`), its n8n id the moment n8n answers; deleted with the copy. The
    sweep deletes only what is recorded here, never a workflow it merely finds by name."""

    __tablename__ = "test_copies"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), nullable=True
    )
    path: Mapped[str] = mapped_column(String(80), unique=True)
    n8n_workflow_id: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now(), index=True
    )


class TriggerEndpoint(Base):
    """The n8n side of a workflow's Slack trigger (`core.triggers`): the random webhook path and
    the secret only Clixen sends (n8n holds it as the Header Auth credential
    `n8n_credential_id`), sealed under CLIXEN_SECRET_KEY like a project secret
    (`core.kernel.sealing`, bound to the workflow). One per workflow, kept across its versions."""

    __tablename__ = "trigger_endpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workflow_id: Mapped[int] = mapped_column(
        ForeignKey("workflows.id", ondelete="CASCADE"), unique=True
    )
    path: Mapped[str] = mapped_column(String(80), unique=True)
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    n8n_credential_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )


class TriggerSubscription(Base):
    """What the active version of a workflow listens to in Slack: one row per (event, channel);
    `channel_id` "" means anywhere Clixen is. `created_by` is the editor whose access to the
    channel was checked; `filters` holds emoji, contains, pattern, include_bots,
    include_thread_replies."""

    __tablename__ = "trigger_subscriptions"
    __table_args__ = (
        UniqueConstraint("workflow_id", "event", "channel_id"),
        Index("ix_trigger_subscriptions_team_event", "team_id", "event", "channel_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    team_id: Mapped[str] = mapped_column(String(32))
    event: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32), default="")
    filters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    version: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )


class TriggerDelivery(Base):
    """One event for one workflow (the outbox): unique by (event id, workflow), so Slack's
    retries and several replicas never deliver it twice. `pending` until n8n accepts it
    (`delivered`) or the retries run out (`gave_up`); `claimed_until` is a delivering worker's
    lease, `next_attempt_at` the backoff."""

    __tablename__ = "trigger_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "workflow_id"),
        Index("ix_trigger_deliveries_due", "status", "next_attempt_at"),
        Index("ix_trigger_deliveries_workflow_created", "workflow_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128))
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    team_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # Whether what is read from Slack at delivery (text, permalink, names) is in the payload yet.
    enriched: Mapped[bool] = mapped_column(Boolean, default=False)
    # An "anywhere" subscription's creator: delivered only where they can read the channel.
    check_reader: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class DeployAttempt(Base):
    """One create Clixen sent to n8n, recorded before it is sent (its mark's `deploy` token),
    and the n8n id it made once Clixen knows it. Reconciliation deletes an unrecorded n8n
    workflow only when its mark names an attempt recorded here whose id Clixen never learnt;
    a mark copied onto another workflow (by hand, or by duplicating one in n8n) deletes
    nothing."""

    __tablename__ = "deploy_attempts"

    deploy: Mapped[str] = mapped_column(String(32), primary_key=True)
    # No foreign key: the record must outlive its workflow row. A first deploy that n8n does not
    # answer discards its draft, and the create it sent can still land late in n8n.
    workflow_id: Mapped[int] = mapped_column(BigId)
    version: Mapped[int] = mapped_column(Integer)
    n8n_workflow_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now(), index=True
    )
