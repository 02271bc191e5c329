"""Slack triggers: event → n8n execution start, through Clixen's relay and, in the same run,
with n8n's own webhook called directly; with one and with two workflows subscribed.

    .venv/bin/python benchmarks/slack_trigger_latency.py [--events 60] [--burst 100] \
        [--kind reaction|message] [--gap-ms 150]

Uses N8N_URL / N8N_API_KEY (or `set -a; . .stack/n8n.env; set +a`), a throwaway Postgres
database it creates and drops, and the local Slack Web API fake (the relay's Slack reads — the
reacted-to message, its permalink, names — go to it over HTTP; Slack's own latency is not in the
numbers, neither is Slack's way to Clixen).

- Relay: `receive_event` (the ack path: match, dedupe, enqueue) → `DeliveryWorker.wake()` →
  claim, read from Slack, POST with the secret header → n8n starts the execution.
- Direct: the same workflows' webhooks POSTed by this script (the secret header, the payload).
- Phases: both paths' latency first, then both paths' rate, each after a DRAIN_S pause (n8n
  finishes what the previous phase left, so no phase pays for another's).
- Latency: `--events` of each, one at a time (the next `--gap-ms` after the previous one was
  handed to n8n: its POST answered, or its delivery row `delivered`), so nothing queues; from
  the call (receive_event / the POST) to the execution's `startedAt` in n8n, read back once at
  the end (n8n is not polled meanwhile). p50 / p99 (nearest rank).
- The relay's own part: from `receive_event` to the moment its worker POSTs to n8n (the rest
  is n8n's, as in the direct path), p50 / p99 over the same events.
- Rate: `--burst` events sent at once from 8 threads; executions started per second, from the
  first send to the last execution start.
Each subscribed workflow is a Slack trigger → NoOp.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from common import add_pg_arguments, pct, throwaway_database
from slack_sdk import WebClient
from sqlalchemy import func, select

from bot.trigger_access import SlackChannelAccess, SlackTriggerReader
from core.deploy import create_workflow_record, delete_workflow, deploy_version
from core.kernel.models import TriggerDelivery, Workflow
from core.kernel.settings import get_settings
from core.n8n import N8nClient
from core.triggers import (
    HEADER_NAME,
    SLACK_TRIGGER_TYPE,
    DeliveryWorker,
    SlackEnvelope,
    WebhookSender,
    endpoint_of,
    install,
    receive_event,
    secret_of,
)
from core.triggers.payload import event_payload
from core.workspace.projects import Actor
from tests.builders import new_project
from tests.doubles.slack_api import FakeSlack, start_fake_slack

TEAM = "TBENCH"
ACTOR = Actor(TEAM, "U-bench")
CHANNEL, TS = "C0BENCH", "1765100000.000100"


def workflow(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "nodes": [
            {
                "name": "When reacted",
                "type": SLACK_TRIGGER_TYPE,
                "typeVersion": 1,
                "position": [0, 0],
                "parameters": {
                    "events": ["reaction_added", "message"],
                    "channels": [CHANNEL],
                    "emoji": ["ticket"],
                },
            },
            {
                "name": "Keep",
                "type": "n8n-nodes-base.noOp",
                "typeVersion": 1,
                "position": [220, 0],
                "parameters": {},
            },
        ],
        "connections": {"When reacted": {"main": [[{"node": "Keep", "type": "main", "index": 0}]]}},
        "settings": {"executionOrder": "v1"},
    }


def event(kind: str, event_id: str) -> dict[str, Any]:
    if kind == "reaction":
        return {
            "type": "reaction_added",
            "user": "U-bob",
            "reaction": "ticket",
            "item": {"type": "message", "channel": CHANNEL, "ts": TS},
        }
    return {"type": "message", "channel": CHANNEL, "user": "U-bob", "ts": TS, "text": event_id}


def started(
    n8n: N8nClient, n8n_ids: list[str], want: set[str], copies: int, timeout_s: float = 120.0
) -> dict[str, list[float]]:
    """Event id → the start times (epoch s) of its executions, once each of `want` has
    `copies` of them (or the timeout passed)."""
    end = time.monotonic() + timeout_s
    while True:
        out: dict[str, list[float]] = {}
        for wid in n8n_ids:
            cursor = None
            while True:
                page = n8n.list_executions(
                    workflow_id=wid, include_data=True, limit=250, cursor=cursor
                )
                for e in page.items:
                    keep = e["data"]["resultData"]["runData"].get("Keep")
                    if not keep:
                        continue
                    eid = str(keep[0]["data"]["main"][0][0]["json"].get("event_id"))
                    if eid in want:
                        at = str(e["startedAt"]).replace("Z", "+00:00")
                        out.setdefault(eid, []).append(dt.datetime.fromisoformat(at).timestamp())
                cursor = page.next_cursor
                if not cursor:
                    break
        if all(len(out.get(e, [])) >= copies for e in want) or time.monotonic() > end:
            return out
        time.sleep(0.5)


class TimedSender(WebhookSender):
    """The worker's sender, noting when each event's POST leaves (the relay's own part ends)."""

    def __init__(self, n8n: N8nClient, *, key: str) -> None:
        super().__init__(n8n, key=key)
        self.posted: dict[str, float] = {}

    def send(self, endpoint: Any, payload: Any, *, secret: str) -> None:
        key = str(payload.get("event_id"))  # the last workflow's POST ends the relay's part
        self.posted[key] = max(self.posted.get(key, 0.0), time.time())
        super().send(endpoint, payload, secret=secret)


# Before each phase: n8n finishes what the previous one left (a burst's executions still run
# after they started), so no phase pays for another's.
DRAIN_S = 5.0


def latency(
    label: str,
    send: Callable[[str], None],
    settle: Callable[[str], None],
    posted: dict[str, float],
    n8n: N8nClient,
    n8n_ids: list[str],
    *,
    events: int,
    gap_s: float,
) -> dict[str, float]:
    time.sleep(DRAIN_S)
    sent: dict[str, float] = {}
    for i in range(events):
        eid = f"{label}-lat-{i}-{uuid.uuid4().hex[:6]}"
        sent[eid] = time.time()
        send(eid)
        settle(eid)
        time.sleep(gap_s)
    starts = started(n8n, n8n_ids, set(sent), len(n8n_ids))
    lat = [max(starts[e]) - t for e, t in sent.items() if len(starts.get(e, [])) >= len(n8n_ids)]
    own = [posted[e] - t for e, t in sent.items() if e in posted]
    return {
        "p50_ms": statistics.median(lat) * 1000,
        "p99_ms": pct(lat, 0.99) * 1000,
        "own_p50_ms": statistics.median(own) * 1000 if own else 0.0,
        "own_p99_ms": pct(own, 0.99) * 1000 if own else 0.0,
        "n": len(lat),
        "lost": events - len(lat),
    }


def rate(
    label: str, send: Callable[[str], None], n8n: N8nClient, n8n_ids: list[str], *, burst: int
) -> dict[str, float]:
    time.sleep(DRAIN_S)
    ids = [f"{label}-burst-{i}-{uuid.uuid4().hex[:6]}" for i in range(burst)]
    t0 = time.time()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(send, ids))
    found = started(n8n, n8n_ids, set(ids), len(n8n_ids))
    done = [t for ts in found.values() for t in ts]
    per_s = len(done) / (max(done) - t0)
    return {
        "executions_per_s": per_s,
        "events_per_s": per_s / len(n8n_ids),
        "burst_lost": burst * len(n8n_ids) - len(done),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=60)
    ap.add_argument("--burst", type=int, default=100)
    ap.add_argument("--kind", choices=("reaction", "message"), default="reaction")
    ap.add_argument("--gap-ms", type=float, default=150.0)
    add_pg_arguments(ap)
    args = ap.parse_args()
    settings = get_settings()
    settings = settings.model_copy(
        update={
            "trigger_rate_per_min": 10**6,
            # Webhook secrets are sealed under it; a throwaway database needs no real one.
            "secret_key": settings.secret_key or "benchmark-only-secret-key-0123456789",
        }
    )

    fake = FakeSlack()
    fake.public_channels["bench"] = CHANNEL
    fake.members[CHANNEL] = {ACTOR.user_id}
    fake.messages[(CHANNEL, TS)] = {"ts": TS, "text": "the printer is on fire", "user": "U-al"}
    slack_server = start_fake_slack(fake)
    slack = WebClient(base_url=fake.url)
    install(SlackChannelAccess(slack))
    rows = []
    with (
        throwaway_database(args.pg, args.pg_url) as factory,
        N8nClient.from_settings(settings) as n8n,
    ):
        project_id = new_project(factory, team_id=TEAM, user_id=ACTOR.user_id, name="bench")
        wf_ids: list[int] = []
        sender = TimedSender(n8n, key=str(settings.secret_key))
        worker = DeliveryWorker(
            session_factory=factory,
            sender=sender,
            reader=SlackTriggerReader(slack),
            access=SlackChannelAccess(slack),
            threads=16,  # as many requests in flight as the direct burst at most (8 × 2)
            idle_s=1.0,
        )
        worker.start()
        direct_http = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=32))
        fanout = ThreadPoolExecutor(16)
        try:
            for n_wf in (1, 2):
                with factory.begin() as s:
                    wf_ids.append(
                        create_workflow_record(
                            session=s,
                            project_id=project_id,
                            name=f"bench {n_wf}",
                            created_by=ACTOR.user_id,
                        ).id
                    )
                deploy_version(
                    session_factory=factory,
                    n8n=n8n,
                    workflow_id=wf_ids[-1],
                    json_payload=workflow(f"bench {n_wf}"),
                    source="import",
                    actor=ACTOR,
                    settings=settings,
                )
                with factory() as s:
                    n8n_ids = [str(s.get(Workflow, w).n8n_workflow_id) for w in wf_ids]  # type: ignore[union-attr]
                    endpoints = [endpoint_of(s, w) for w in wf_ids]
                    secrets = [
                        secret_of(s, workflow_id=w, key=str(settings.secret_key)) for w in wf_ids
                    ]
                # Wait for n8n to register the new webhook (a delivery is retried meanwhile).
                for ep in endpoints:
                    assert ep is not None
                    n8n.call_webhook(ep.path, json={"event_id": "warm"}, wait_registered_s=10)

                def relay(eid: str) -> None:
                    receive_event(
                        SlackEnvelope(TEAM, eid, event(args.kind, eid), app_team_id=TEAM),
                        session_factory=factory,
                        settings=settings,
                    )
                    worker.wake()

                def direct(
                    eid: str, endpoints: list[Any] = endpoints, secrets: list[Any] = secrets
                ) -> None:
                    def post(triple: tuple[int, Any, Any]) -> None:
                        w, ep, secret = triple
                        body = event_payload(
                            event(args.kind, eid), team_id=TEAM, event_id=eid, workflow_id=w
                        )
                        r = direct_http.post(
                            n8n.webhook_url(ep.path), json=body, headers={HEADER_NAME: secret}
                        )
                        r.raise_for_status()

                    # Every subscribed workflow at once, as the relay's workers do.
                    list(fanout.map(post, zip(wf_ids, endpoints, secrets, strict=True)))

                def handed(eid: str, count: int = n_wf) -> None:
                    """The relay handed this event to n8n (every workflow's delivery)."""
                    while True:
                        with factory() as s:
                            done = s.scalar(
                                select(func.count()).where(
                                    TriggerDelivery.event_id == eid,
                                    TriggerDelivery.status == "delivered",
                                )
                            )
                        if done == count:
                            return
                        time.sleep(0.005)

                def answered(eid: str) -> None:
                    pass  # the direct POST returns once n8n answered

                paths = (("direct", direct, answered), ("relay", relay, handed))
                results: dict[str, dict[str, float]] = {label: {} for label, _, _ in paths}
                for label, send, settle in paths:
                    results[label].update(
                        latency(
                            label,
                            send,
                            settle,
                            sender.posted if label == "relay" else {},
                            n8n,
                            n8n_ids,
                            events=args.events,
                            gap_s=args.gap_ms / 1000,
                        )
                    )
                for label, send, _ in paths:
                    results[label].update(rate(label, send, n8n, n8n_ids, burst=args.burst))
                for label, _, _ in paths:
                    result = results[label]
                    rows.append((n_wf, label, result))
                    print(
                        f"{n_wf} workflow(s) {label:<6} p50 {result['p50_ms']:6.1f} ms  "
                        f"p99 {result['p99_ms']:6.1f} ms  "
                        f"{result['executions_per_s']:5.1f} exec/s  "
                        f"{result['events_per_s']:5.1f} events/s  (n={result['n']:.0f}, "
                        f"lost {result['lost'] + result['burst_lost']:.0f})"
                        + (
                            f"; relay's own part p50 {result['own_p50_ms']:.1f} ms, "
                            f"p99 {result['own_p99_ms']:.1f} ms"
                            if label == "relay"
                            else ""
                        ),
                        flush=True,
                    )
        finally:
            worker.stop()
            sender.close()
            direct_http.close()
            fanout.shutdown()
            for w in wf_ids:
                delete_workflow(session_factory=factory, n8n=n8n, workflow_id=w, actor=ACTOR)
            install(None)
            slack_server.shutdown()
    print()
    for n_wf in (1, 2):
        d = next(r for n, lbl, r in rows if n == n_wf and lbl == "direct")
        r = next(r for n, lbl, r in rows if n == n_wf and lbl == "relay")
        print(
            f"{n_wf} workflow(s): relay adds {r['p50_ms'] - d['p50_ms']:+.1f} ms at p50, "
            f"{r['p99_ms'] - d['p99_ms']:+.1f} ms at p99; keeps "
            f"{100 * r['executions_per_s'] / d['executions_per_s']:.0f} % of the direct rate"
        )


if __name__ == "__main__":
    main()
