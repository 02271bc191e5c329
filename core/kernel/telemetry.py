"""Core product events only, in the `telemetry_events` table: never prompt text or secret values.

Events: signup (a user's first interaction), workflow_created, deployed, rolled_back, paused,
resumed, renamed, deleted, restored and error (with a
category). Properties are limited to an allowlist of small, non-sensitive values.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Final

from sqlalchemy import Date, cast, func, select
from sqlalchemy.orm import Session

from core.kernel.errors import InvalidInput
from core.kernel.models import TelemetryEvent

SIGNUP: Final = "signup"
WORKFLOW_CREATED: Final = "workflow_created"
DEPLOYED: Final = "deployed"
ROLLED_BACK: Final = "rolled_back"
ERROR: Final = "error"
# A person paused, resumed, renamed, deleted or restored a workflow (`core.usecases.lifecycle`).
PAUSED: Final = "paused"
RESUMED: Final = "resumed"
RENAMED: Final = "renamed"
DELETED: Final = "deleted"
RESTORED: Final = "restored"
# Review before live (`core.deploy.review`): a version asked for approval, approved, rejected.
REVIEW_REQUESTED: Final = "review_requested"
REVIEW_APPROVED: Final = "review_approved"
REVIEW_REJECTED: Final = "review_rejected"
EVENT_TYPES: Final = frozenset(
    {
        SIGNUP,
        WORKFLOW_CREATED,
        DEPLOYED,
        ROLLED_BACK,
        ERROR,
        PAUSED,
        RESUMED,
        RENAMED,
        DELETED,
        RESTORED,
        REVIEW_REQUESTED,
        REVIEW_APPROVED,
        REVIEW_REJECTED,
    }
)

# Property keys allowed on an event, with the value types they may carry. Nothing free-form: a
# key outside this list could carry a prompt or a secret.
ALLOWED_PROPERTIES: Final[dict[str, tuple[type, ...]]] = {
    "version": (int,),
    "source": (str,),  # generate | repair | edit | rollback | import | slack | cli | api
    "node_count": (int,),
    "duration_ms": (int, float),
    "repairs": (int,),
    "validation_repairs": (int,),
    "kind": (str,),  # create | edit | rollback | repair
    "status": (str,),
    "review": (int,),  # a review request's id
}
# Short identifiers only (e.g. "n8n_rejected", "cli"): no sentences, no free text.
_WORD = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,63}$")


def _check_word(what: str, value: str) -> None:
    if not _WORD.match(value):
        raise InvalidInput(
            f"Telemetry {what} must be a short lowercase identifier (a-z, 0-9, _ . : -), "
            f"got {len(value)} characters."
        )


def _clean_properties(properties: dict[str, Any] | None) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key, value in (properties or {}).items():
        types = ALLOWED_PROPERTIES.get(key)
        if types is None:
            raise InvalidInput(
                f"Telemetry property {key!r} is not allowed; allowed: "
                + ", ".join(sorted(ALLOWED_PROPERTIES))
            )
        if isinstance(value, bool) or not isinstance(value, types):
            raise InvalidInput(f"Telemetry property {key!r} must be {types[0].__name__}.")
        if isinstance(value, str):
            _check_word(f"property {key!r}", value)
        clean[key] = value
    return clean


def record(
    *,
    session: Session,
    type: str,
    team_id: str | None = None,
    user_id: str | None = None,
    project_id: int | None = None,
    workflow_id: int | None = None,
    category: str | None = None,
    properties: dict[str, Any] | None = None,
) -> TelemetryEvent:
    """Store one core event; raises InvalidInput for an unknown type or a disallowed property.

    `category` is required for `error` events (e.g. "validation", "n8n", "llm", "quota") and
    refused on the others.
    """
    if type not in EVENT_TYPES:
        raise InvalidInput(
            f"Unknown telemetry event {type!r}; core events are: " + ", ".join(sorted(EVENT_TYPES))
        )
    if type == ERROR:
        if not category:
            raise InvalidInput("An error event needs a category.")
        _check_word("category", category)
    elif category is not None:
        raise InvalidInput("Only error events carry a category.")
    event = TelemetryEvent(
        type=type,
        team_id=team_id,
        user_id=user_id,
        project_id=project_id,
        workflow_id=workflow_id,
        category=category,
        properties=_clean_properties(properties),
    )
    session.add(event)
    session.flush()
    return event


def daily_counts(
    *, session: Session, days: int = 7, now: dt.datetime | None = None
) -> list[tuple[dt.date, str, int]]:
    """Event counts per UTC day and type for the last `days` days (today included), oldest first."""
    now = now or dt.datetime.now(dt.UTC)
    today = now.astimezone(dt.UTC).date()
    start = dt.datetime.combine(today - dt.timedelta(days=days - 1), dt.time(), tzinfo=dt.UTC)
    if session.get_bind().dialect.name == "postgresql":
        day_expr: Any = cast(func.timezone("UTC", TelemetryEvent.created_at), Date)
    else:  # SQLite stores UTC ISO text; its first 10 characters are the day
        day_expr = func.substr(TelemetryEvent.created_at, 1, 10)
    rows = session.execute(
        select(day_expr.label("day"), TelemetryEvent.type, func.count())
        .where(TelemetryEvent.created_at >= start)
        .group_by(day_expr, TelemetryEvent.type)
        .order_by(day_expr, TelemetryEvent.type)
    ).all()
    out: list[tuple[dt.date, str, int]] = []
    for day, type_, count in rows:
        if isinstance(day, str):
            day = dt.date.fromisoformat(day[:10])
        out.append((day, type_, int(count)))
    return out
