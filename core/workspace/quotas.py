"""Per-user daily limits on LLM tokens and deployments, charged atomically, and the cap on a
user's requests in progress at once.

A user's use is one `quota_usage` row per UTC day. A new day simply starts a new row at zero, so the
daily "reset" needs no write at midnight; the scheduler's `reset_day` only prunes old rows.
Limits come from settings, overridden per project (`Project.daily_token_limit/deploy_limit`).

Tokens cannot be overrun: an LLM call first reserves its estimate (`reserve_tokens`: the prompt's
estimate plus the most the answer may use, sent as `max_tokens`) under a lock on the user's row,
and is settled to what it really used afterwards (`settle_tokens`). A reservation never settled
(the process died mid-call) stays charged: tokens that may have been spent are never free.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core.kernel.db import upsert_insert
from core.kernel.errors import ClixenError, InvalidInput
from core.kernel.metrics import QUOTA_REFUSALS
from core.kernel.models import Project, QuotaUsage
from core.kernel.settings import Settings

TOKENS = "LLM tokens"
DEPLOYS = "deployments"
# Rows older than this many days are pruned by the scheduler's daily reset.
KEEP_DAYS = 35


def _now(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(dt.UTC)


def utc_day(now: dt.datetime | None = None) -> dt.date:
    """The UTC calendar day that `now` (default: the current time) belongs to."""
    return _now(now).date()


def next_reset(now: dt.datetime | None = None) -> dt.datetime:
    """The UTC midnight that starts the day after `now`: when today's limits reset."""
    day = utc_day(now) + dt.timedelta(days=1)
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _fmt_wait(delta: dt.timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() + 59) // 60)  # round up: never say "in 0 min"
    hours, mins = divmod(minutes, 60)
    if hours and mins:
        return f"{hours} h {mins} min"
    if hours:
        return f"{hours} h"
    return f"{max(mins, 1)} min"


class QuotaExceeded(ClixenError):
    """A user reached a daily limit. `str(e)` names the limit, the use and when it resets."""

    code = "quota_exceeded"

    def __init__(
        self,
        *,
        limit_name: str,
        used: int,
        limit: int,
        resets_at: dt.datetime,
        now: dt.datetime | None = None,
        needed: int | None = None,
    ) -> None:
        self.limit_name = limit_name
        self.used = used
        self.limit = limit
        self.resets_at = resets_at
        self.needed = needed
        QUOTA_REFUSALS.labels("deploys" if limit_name == DEPLOYS else "tokens").inc()
        wait = _fmt_wait(resets_at - _now(now))
        step = f" and the next AI step needs about {needed:,}" if needed else ""
        super().__init__(
            f"You have used {used:,} of your {limit:,} {limit_name} today{step}; the limit resets "
            f"at {resets_at:%H:%M} UTC (in {wait})."
        )


class TooManyRuns(ClixenError):
    """The user already has as many requests in progress as one person may run at once."""

    code = "too_many_runs"

    def __init__(self, *, running: int, limit: int) -> None:
        self.running = running
        self.limit = limit
        QUOTA_REFUSALS.labels("concurrent_runs").inc()
        super().__init__(
            f"You already have {running} requests in progress, and {limit} can run at once per "
            "person: wait for one to finish, then ask again."
        )


@dataclass(frozen=True)
class TokenReservation:
    """LLM tokens taken from a user's day before a call: `tokens` in all, of which
    `completion_budget` is the most the answer may use (send it as `max_tokens`)."""

    team_id: str
    user_id: str
    day: dt.date
    tokens: int
    completion_budget: int


@dataclass(frozen=True)
class Limits:
    tokens: int
    deploys: int


@dataclass(frozen=True)
class QuotaStatus:
    """A user's use of today's limits, for `/clixen quota` and App Home."""

    tokens_used: int
    token_limit: int
    deploys_used: int
    deploy_limit: int
    resets_at: dt.datetime


def limits_for(*, session: Session, project_id: int | None, settings: Settings) -> Limits:
    """The daily limits that apply in `project_id`: the project's overrides, else the defaults."""
    tokens, deploys = settings.daily_token_limit, settings.daily_deploy_limit
    if project_id is not None:
        row = session.execute(
            select(Project.daily_token_limit, Project.daily_deploy_limit).where(
                Project.id == project_id
            )
        ).one_or_none()
        if row is not None:
            if row.daily_token_limit is not None:
                tokens = row.daily_token_limit
            if row.daily_deploy_limit is not None:
                deploys = row.daily_deploy_limit
    return Limits(tokens=tokens, deploys=deploys)


def _upsert(session: Session, *, team_id: str, user_id: str, day: dt.date, tokens: int = 0) -> None:
    """Make sure today's row exists; add `tokens` to it in the same atomic statement."""
    insert = upsert_insert(session)
    now = dt.datetime.now(dt.UTC)
    stmt = insert(QuotaUsage).values(
        team_id=team_id,
        user_id=user_id,
        day=day,
        tokens_used=tokens,
        deploys_used=0,
        updated_at=now,
    )
    keys = [QuotaUsage.team_id, QuotaUsage.user_id, QuotaUsage.day]
    if tokens:
        stmt = stmt.on_conflict_do_update(
            index_elements=keys,
            set_={"tokens_used": QuotaUsage.tokens_used + tokens, "updated_at": now},
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=keys)
    session.execute(stmt)


def _row(session: Session, *, team_id: str, user_id: str, day: dt.date) -> tuple[int, int]:
    row = session.execute(
        select(QuotaUsage.tokens_used, QuotaUsage.deploys_used).where(
            QuotaUsage.team_id == team_id, QuotaUsage.user_id == user_id, QuotaUsage.day == day
        )
    ).one_or_none()
    return (row.tokens_used, row.deploys_used) if row else (0, 0)


def usage(
    *,
    session: Session,
    team_id: str,
    user_id: str,
    project_id: int | None,
    now: dt.datetime | None = None,
    settings: Settings,
) -> QuotaStatus:
    """The user's use of today's limits (in `project_id`'s limits) and when they reset."""
    limits = limits_for(session=session, project_id=project_id, settings=settings)
    tokens, deploys = _row(session, team_id=team_id, user_id=user_id, day=utc_day(now))
    return QuotaStatus(
        tokens_used=tokens,
        token_limit=limits.tokens,
        deploys_used=deploys,
        deploy_limit=limits.deploys,
        resets_at=next_reset(now),
    )


def lock_user_day(
    *, session: Session, team_id: str, user_id: str, now: dt.datetime | None = None
) -> tuple[int, int]:
    """Lock the user's row of today (created if missing) until the transaction ends, so their
    quota decisions happen one at a time; returns (tokens used, deployments used)."""
    day = utc_day(now)
    _upsert(session, team_id=team_id, user_id=user_id, day=day)
    row = session.execute(
        select(QuotaUsage.tokens_used, QuotaUsage.deploys_used)
        .where(QuotaUsage.team_id == team_id, QuotaUsage.user_id == user_id, QuotaUsage.day == day)
        .with_for_update()
    ).one()
    return int(row.tokens_used), int(row.deploys_used)


def reserve_tokens(
    *,
    session: Session,
    team_id: str,
    user_id: str,
    project_id: int | None,
    prompt_tokens: int,
    max_completion: int,
    min_completion: int = 1,
    now: dt.datetime | None = None,
    settings: Settings,
) -> TokenReservation:
    """Take today's tokens for one LLM call before it is made, or raise QuotaExceeded.

    Reserves `prompt_tokens` (the prompt's estimate) plus an answer budget: `max_completion`,
    or what is left after the prompt if that is less; a budget below `min_completion` (an answer
    too short to be of use) is refused. Decided under a lock on the user's row, so concurrent
    calls of one user can never reserve past the limit together. Settle the call with
    `settle_tokens` in the transaction that records its answer.
    """
    if prompt_tokens < 0 or max_completion < 1 or min_completion < 1:
        raise InvalidInput("A token reservation needs a prompt estimate and an answer budget.")
    limit = limits_for(session=session, project_id=project_id, settings=settings).tokens
    used, _ = lock_user_day(session=session, team_id=team_id, user_id=user_id, now=now)
    budget = min(max_completion, limit - used - prompt_tokens)
    if budget < min(min_completion, max_completion):
        raise QuotaExceeded(
            limit_name=TOKENS,
            used=used,
            limit=limit,
            resets_at=next_reset(now),
            now=now,
            needed=prompt_tokens + min(min_completion, max_completion),
        )
    tokens = prompt_tokens + budget
    _upsert(session, team_id=team_id, user_id=user_id, day=utc_day(now), tokens=tokens)
    return TokenReservation(
        team_id=team_id,
        user_id=user_id,
        day=utc_day(now),
        tokens=tokens,
        completion_budget=budget,
    )


def settle_tokens(*, session: Session, reservation: TokenReservation, used: int) -> int:
    """Replace a reservation by what the call really used (on the day it was reserved); returns
    that day's use. `used` may pass the reservation (the server's count is the truth) but a
    call sent with the reservation's `max_tokens` stays within it, give or take our estimate."""
    if used < 0:
        raise InvalidInput("A token charge cannot be negative.")
    delta = used - reservation.tokens
    if not delta:
        return _row(
            session, team_id=reservation.team_id, user_id=reservation.user_id, day=reservation.day
        )[0]
    # The day's use comes back from the UPDATE itself: no second round trip to read it.
    after = session.execute(
        update(QuotaUsage)
        .where(
            QuotaUsage.team_id == reservation.team_id,
            QuotaUsage.user_id == reservation.user_id,
            QuotaUsage.day == reservation.day,
        )
        .values(tokens_used=QuotaUsage.tokens_used + delta, updated_at=dt.datetime.now(dt.UTC))
        .returning(QuotaUsage.tokens_used)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    return int(after or 0)


def check_concurrent_runs(*, running: int, settings: Settings) -> None:
    """Raise TooManyRuns when `running` (the user's requests in progress, counted while
    `lock_user_day` holds their row) leaves no room for one more."""
    limit = settings.max_concurrent_runs
    if running >= limit:
        raise TooManyRuns(running=running, limit=limit)


def reserve_deploy(
    *,
    session: Session,
    team_id: str,
    user_id: str,
    project_id: int | None,
    now: dt.datetime | None = None,
    settings: Settings,
) -> int:
    """Take one of today's deployments, or raise QuotaExceeded; returns the use after it.

    Check and increment are one conditional UPDATE, so concurrent callers can never exceed the
    limit (Postgres re-checks the WHERE clause on the locked row). Call `refund_deploy` if the
    deployment then fails. The row stays locked until the caller's transaction ends.
    """
    day = utc_day(now)
    limit = limits_for(session=session, project_id=project_id, settings=settings).deploys
    _upsert(session, team_id=team_id, user_id=user_id, day=day)
    result = session.execute(
        update(QuotaUsage)
        .where(
            QuotaUsage.team_id == team_id,
            QuotaUsage.user_id == user_id,
            QuotaUsage.day == day,
            QuotaUsage.deploys_used < limit,
        )
        .values(deploys_used=QuotaUsage.deploys_used + 1, updated_at=dt.datetime.now(dt.UTC))
        .returning(QuotaUsage.deploys_used)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if result is None:
        used = _row(session, team_id=team_id, user_id=user_id, day=day)[1]
        raise QuotaExceeded(
            limit_name=DEPLOYS, used=used, limit=limit, resets_at=next_reset(now), now=now
        )
    return int(result[0])


def refund_deploy(
    *,
    session: Session,
    team_id: str,
    user_id: str,
    project_id: int | None,
    now: dt.datetime | None = None,
) -> None:
    """Give back a deployment reserved earlier the same UTC day (the deployment did not happen)."""
    del project_id
    session.execute(
        update(QuotaUsage)
        .where(
            QuotaUsage.team_id == team_id,
            QuotaUsage.user_id == user_id,
            QuotaUsage.day == utc_day(now),
            QuotaUsage.deploys_used > 0,
        )
        .values(deploys_used=QuotaUsage.deploys_used - 1, updated_at=dt.datetime.now(dt.UTC))
        .execution_options(synchronize_session=False)
    )


def reset_day(*, session: Session, day: dt.date, keep_days: int = KEEP_DAYS) -> int:
    """The scheduler's daily reset for the UTC day `day`; returns how many old rows it pruned.

    Use on `day` always starts from zero because it lives in its own row, so this never touches
    `day` (use made in the first seconds of the day survives a late or repeated run); it deletes
    rows older than `keep_days` before `day`. Idempotent.
    """
    cutoff = day - dt.timedelta(days=keep_days)
    result = session.execute(
        delete(QuotaUsage)
        .where(QuotaUsage.day < cutoff)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
