"""Delivering enqueued events to n8n, with backoff, until n8n accepts them or Clixen gives up
visibly.

`deliver_due` is one pass: it claims due deliveries (`FOR UPDATE SKIP LOCKED` and a lease, so
replicas and threads never send one twice at once), commits, then — no transaction open — adds
what Slack knows to each payload (`payload.enrich`), checks an "anywhere" subscription's creator
can read the channel, and POSTs it to the workflow's webhook with its secret header; then one
short transaction records each outcome: `delivered`; `pending` again after BACKOFF_S[attempt]
(n8n down, slow, not registered yet, Slack unreachable for enrichment); `gave_up` after
MAX_ATTEMPTS or when the workflow stopped (a `DeliveryGaveUp` notice: the thread and App Home say
what was lost and why); `skipped` when the creator cannot read that channel.

`DeliveryWorker` runs passes on a few threads: right away when `wake()` is called (the
receiver calls it after enqueuing, so a delivery normally leaves within milliseconds), and every
`idle_s` for retries that came due and for deliveries another replica enqueued and could not
send (it stopped). Every PRUNE_EVERY_S it also prunes old rows and drops the subscriptions of
creators who are no longer editors.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.kernel import metrics, telemetry
from core.kernel.models import Project, TriggerDelivery, TriggerEndpoint, Workflow, utcnow
from core.kernel.transactions import outside_transaction
from core.n8n import N8nClient
from core.triggers.access import ChannelAccess, SlackReader
from core.triggers.endpoints import HEADER_NAME, Endpoint, TriggerSecretUnreadable, open_secret
from core.triggers.notices import QUIET, DeliveryGaveUp, TriggerNotifier
from core.triggers.payload import enrich
from core.triggers.subscriptions import ACTIVE_STATUSES, drop_lost_creators, workflow_ref

log = logging.getLogger(__name__)

# Seconds before attempt n+1 (after attempt n failed); the last failure gives up (~35 min).
BACKOFF_S = (1, 2, 5, 15, 30, 60, 120, 300, 600, 900)
MAX_ATTEMPTS = len(BACKOFF_S)
# How long a claimed delivery stays with its worker before another may take it: longer than
# one attempt can take, so a slow attempt is never sent twice.
LEASE_S = 180  # longer than the Slack reads (30 s each at most) and the POST (10 s) together
SEND_TIMEOUT_S = 10.0
# Delivered and skipped rows are kept this long (Slack retries an event for about an hour, and
# the row is what makes a retry a duplicate); given-up ones longer, for App Home.
KEEP_DONE = dt.timedelta(days=1)
KEEP_GAVE_UP = dt.timedelta(days=30)
PRUNE_EVERY_S = 600.0


class DeliveryError(Exception):
    """n8n (or the network) did not accept a delivery; the text says what it answered."""


class WebhookSender:
    """POSTs payloads to workflows' n8n webhooks with their secret header (one pooled HTTP
    client; the URL comes from `N8nClient.webhook_url`, the one place that knows it). `key` is
    CLIXEN_SECRET_KEY, which opens the stored secrets."""

    def __init__(self, n8n: N8nClient, *, key: str, timeout_s: float = SEND_TIMEOUT_S) -> None:
        self._n8n = n8n
        self.key = key
        self._http = httpx.Client(timeout=httpx.Timeout(timeout_s, connect=min(3.0, timeout_s)))

    def close(self) -> None:
        self._http.close()

    def send(self, endpoint: Endpoint, payload: Mapping[str, Any], *, secret: str) -> None:
        url = self._n8n.webhook_url(endpoint.path)
        outside_transaction("n8n", "POST /webhook/{path}")
        started = time.perf_counter()
        try:
            response = self._http.post(url, json=dict(payload), headers={HEADER_NAME: secret})
        except httpx.HTTPError as e:
            raise DeliveryError(f"n8n did not answer ({type(e).__name__})") from e
        finally:
            metrics.TRIGGER_SEND_SECONDS.observe(time.perf_counter() - started)
        if response.status_code >= 300:
            raise DeliveryError(f"n8n answered {response.status_code}: {response.text[:200]}")


@dataclass(frozen=True)
class DeliveryPass:
    """What one pass did."""

    delivered: int = 0
    retrying: int = 0
    gave_up: int = 0
    skipped: int = 0

    @property
    def handled(self) -> int:
        return self.delivered + self.retrying + self.gave_up + self.skipped


@dataclass
class _Job:
    id: int
    workflow_id: int
    payload: dict[str, Any]
    enriched: bool
    check_reader: str | None
    attempts: int
    endpoint: Endpoint | None
    active: bool
    secret: str = field(default="", repr=False)
    unreadable: str = ""
    outcome: str = ""
    error: str = ""


def deliver_due(
    *,
    session_factory: sessionmaker[Session],
    sender: WebhookSender,
    reader: SlackReader | None = None,
    access: ChannelAccess | None = None,
    notifier: TriggerNotifier = QUIET,
    now: dt.datetime | None = None,
    limit: int = 8,
    on_claim: Callable[[], None] | None = None,
) -> DeliveryPass:
    """One pass over at most `limit` due deliveries (see the module docstring); `on_claim` is
    called once some were claimed, before they are sent."""
    now = now or utcnow()
    jobs = _claim(session_factory, now, limit, key=sender.key)
    if not jobs:
        return DeliveryPass()
    if on_claim is not None:
        on_claim()
    for job in jobs:
        _attempt(job, sender=sender, reader=reader, access=access)
    notices = _record(session_factory, jobs, now)
    for notice in notices:
        notifier.notify(notice)
    count = {
        k: sum(1 for j in jobs if j.outcome == k)
        for k in ("delivered", "pending", "gave_up", "skipped")
    }
    return DeliveryPass(count["delivered"], count["pending"], count["gave_up"], count["skipped"])


def _claim(
    session_factory: sessionmaker[Session], now: dt.datetime, limit: int, *, key: str
) -> list[_Job]:
    """Claim up to `limit` due deliveries in one statement (UPDATE … RETURNING over a
    `SKIP LOCKED` pick), then read their workflows' state and endpoints in one more."""
    due = (
        select(TriggerDelivery.id)
        .where(
            TriggerDelivery.status == "pending",
            TriggerDelivery.next_attempt_at <= now,
            or_(TriggerDelivery.claimed_until.is_(None), TriggerDelivery.claimed_until < now),
        )
        .order_by(TriggerDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    with session_factory.begin() as session:
        rows = session.execute(
            update(TriggerDelivery)
            .where(TriggerDelivery.id.in_(due.scalar_subquery()))
            .values(
                claimed_until=now + dt.timedelta(seconds=LEASE_S),
                attempts=TriggerDelivery.attempts + 1,
            )
            .returning(
                TriggerDelivery.id,
                TriggerDelivery.workflow_id,
                TriggerDelivery.payload,
                TriggerDelivery.enriched,
                TriggerDelivery.check_reader,
                TriggerDelivery.attempts,
            )
            .execution_options(synchronize_session=False)
        ).all()
        if not rows:
            return []
        states = _workflow_states(session, {r.workflow_id for r in rows}, key=key)
    jobs = []
    for row in sorted(rows, key=lambda r: r.id):
        status, endpoint, secret, unreadable = states.get(row.workflow_id, (None, None, "", ""))
        jobs.append(
            _Job(
                id=row.id,
                workflow_id=row.workflow_id,
                payload=dict(row.payload),
                enriched=row.enriched,
                check_reader=row.check_reader,
                attempts=row.attempts,
                endpoint=endpoint,
                active=status in ACTIVE_STATUSES,
                secret=secret,
                unreadable=unreadable,
            )
        )
    return jobs


def _workflow_states(
    session: Session, workflow_ids: set[int], *, key: str
) -> dict[int, tuple[Any, Endpoint | None, str, str]]:
    """Workflow id → (its status, its trigger endpoint if it has a complete one, its webhook
    secret opened with `key` when it is active, why that secret did not open)."""
    states: dict[int, tuple[Any, Endpoint | None, str, str]] = {}
    for wf_id, status, path, sealed, cred in session.execute(
        select(
            Workflow.id,
            Workflow.status,
            TriggerEndpoint.path,
            TriggerEndpoint.secret_sealed,
            TriggerEndpoint.n8n_credential_id,
        )
        .outerjoin(TriggerEndpoint, TriggerEndpoint.workflow_id == Workflow.id)
        .where(Workflow.id.in_(workflow_ids))
    ):
        secret, unreadable = "", ""
        if path and cred and status in ACTIVE_STATUSES:
            try:
                secret = open_secret(session, workflow_id=wf_id, sealed=sealed, key=key)
            except TriggerSecretUnreadable as e:
                unreadable = str(e)
        states[wf_id] = (
            status,
            Endpoint(wf_id, path, cred) if path and cred else None,
            secret,
            unreadable,
        )
    return states


def _attempt(
    job: _Job, *, sender: WebhookSender, reader: SlackReader | None, access: ChannelAccess | None
) -> None:
    if not job.active or job.endpoint is None:
        job.outcome, job.error = "gave_up", "the workflow is no longer active"
        return
    if job.unreadable:  # an operator's key problem: kept pending until the key is fixed
        job.outcome, job.error = "pending", job.unreadable
        return
    channel = str(job.payload.get("channel_id") or "")
    try:
        if (job.check_reader and channel) and (
            access is None or not access.can_read(job.check_reader, channel)
        ):
            job.outcome = "skipped"
            job.error = "its creator cannot read that channel"
            return
        if not job.enriched and reader is not None:
            job.payload = enrich(job.payload, reader)
            job.enriched = True
    except Exception as e:  # Slack unreachable or refusing: try again later
        log.warning("delivery %s: Slack lookup failed (%s)", job.id, type(e).__name__)
        job.outcome, job.error = "pending", f"Slack did not answer ({type(e).__name__})"
        return
    try:
        sender.send(job.endpoint, job.payload, secret=job.secret)
    except DeliveryError as e:
        log.info("delivery %s to workflow %s failed: %s", job.id, job.workflow_id, e)
        job.outcome, job.error = "pending", str(e)
        return
    job.outcome = "delivered"


def _record(
    session_factory: sessionmaker[Session], jobs: list[_Job], now: dt.datetime
) -> list[DeliveryGaveUp]:
    """Each outcome in one UPDATE (one short transaction for the pass)."""
    notices = []
    with session_factory.begin() as session:
        for job in jobs:
            if job.outcome == "pending" and job.attempts >= MAX_ATTEMPTS:
                job.outcome = "gave_up"
            values: dict[str, Any] = {
                "claimed_until": None,
                "last_error": job.error[:2000] or None,
            }
            if job.enriched:
                values.update(payload=job.payload, enriched=True)
            if job.outcome == "delivered":
                values.update(status="delivered", delivered_at=utcnow())
            elif job.outcome == "pending":
                delay = BACKOFF_S[min(job.attempts, MAX_ATTEMPTS) - 1]
                values["next_attempt_at"] = now + dt.timedelta(seconds=delay)
            else:
                values["status"] = job.outcome
            session.execute(
                update(TriggerDelivery)
                .where(TriggerDelivery.id == job.id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            metrics.TRIGGER_DELIVERIES.labels(outcome=job.outcome).inc()
            if job.outcome == "gave_up":
                wf = session.get(Workflow, job.workflow_id)
                if wf is not None:
                    project = session.get(Project, wf.project_id)
                    telemetry.record(
                        session=session,
                        type=telemetry.ERROR,
                        category="trigger_gave_up",
                        team_id=project.team_id if project is not None else None,
                        user_id=wf.created_by,
                        project_id=wf.project_id,
                        workflow_id=wf.id,
                        properties={"kind": str(job.payload.get("kind") or "")[:32]},
                    )
                    notices.append(
                        DeliveryGaveUp(
                            workflow_ref(wf),
                            str(job.payload.get("kind") or ""),
                            str(job.payload.get("channel_id") or ""),
                            job.attempts,
                            job.error,
                        )
                    )
    return notices


def prune_deliveries(
    *, session_factory: sessionmaker[Session], now: dt.datetime | None = None
) -> int:
    """Delete deliveries past keeping (see KEEP_DONE, KEEP_GAVE_UP); how many went."""
    now = now or utcnow()
    with session_factory.begin() as session:
        gone = session.execute(
            delete(TriggerDelivery)
            .where(
                or_(
                    and_(
                        TriggerDelivery.status.in_(("delivered", "skipped")),
                        TriggerDelivery.created_at < now - KEEP_DONE,
                    ),
                    and_(
                        TriggerDelivery.status == "gave_up",
                        TriggerDelivery.created_at < now - KEEP_GAVE_UP,
                    ),
                )
            )
            .execution_options(synchronize_session=False)
        )
        return int(getattr(gone, "rowcount", 0) or 0)


class DeliveryWorker:
    """Delivery passes on `threads` threads: at once after `wake()`, else every `idle_s`."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        sender: WebhookSender,
        reader: SlackReader | None = None,
        access: ChannelAccess | None = None,
        notifier: TriggerNotifier = QUIET,
        threads: int = 4,
        idle_s: float = 1.0,
    ) -> None:
        self._args: dict[str, Any] = {
            "session_factory": session_factory,
            "sender": sender,
            "reader": reader,
            "access": access,
            "notifier": notifier,
        }
        self._threads_n = threads
        self._idle_s = idle_s
        self._wake = threading.Condition()
        self._woken = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._threads = [
            threading.Thread(target=self._loop, name=f"trigger-delivery-{i}", daemon=True)
            for i in range(self._threads_n)
        ]
        for t in self._threads:
            t.start()

    def wake(self) -> None:
        """Deliveries were enqueued: one thread looks now; a thread that finds one wakes the
        next (so several deliveries go out side by side, and one event never stirs them all)."""
        with self._wake:
            self._woken += 1
            self._wake.notify(1)

    def _pass_on(self) -> None:
        with self._wake:
            self._woken += 1
            self._wake.notify(1)

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        with self._wake:
            self._woken += 1
            self._wake.notify_all()
        for t in self._threads:
            t.join(timeout_s)

    def _loop(self) -> None:
        pruned_at = time.monotonic()
        while not self._stop.is_set():
            if threading.current_thread() is self._threads[0] and (
                time.monotonic() - pruned_at > PRUNE_EVERY_S
            ):
                pruned_at = time.monotonic()
                try:
                    prune_deliveries(session_factory=self._args["session_factory"])
                    drop_lost_creators(
                        session_factory=self._args["session_factory"],
                        notifier=self._args["notifier"],
                    )
                except Exception:
                    log.exception("trigger housekeeping failed")
            with self._wake:
                seen = self._woken
            try:
                # One at a time: a thread waiting on n8n holds no other delivery back.
                done = deliver_due(**self._args, limit=1, on_claim=self._pass_on)
            except Exception:  # the database or a bug: log, wait, go on (nothing is lost)
                log.exception("trigger delivery pass failed")
                done = DeliveryPass()
            if done.handled:
                continue
            with self._wake:
                if self._woken == seen and not self._stop.is_set():
                    self._wake.wait(self._idle_s)
