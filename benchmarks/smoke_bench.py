"""Time of one smoke test (deploy canonical RSS → Slack, fire, read the execution, delete) and of
one claim-and-run of a scheduler tick, on the real n8n and the real Postgres.

    .venv/bin/python benchmarks/smoke_bench.py [--runs N] [--ticks N]

Uses N8N_URL / N8N_API_KEY (or .stack/n8n.env); the feed and the Slack sink are served locally.
Tick claims run on a throwaway Postgres database (created and dropped; CLIXEN_TEST_PG).
Prints median and p95.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid

import psycopg

from core import db
from core.n8n import N8nClient
from core.scheduler.locks import run_once_per_tick
from core.scheduler.smoke import local_smoke_endpoints, run_smoke_test
from core.settings import get_settings

PG_ADMIN = os.environ.get(
    "CLIXEN_TEST_PG", "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
)
PG_URL = os.environ.get("CLIXEN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")


def _stats(label: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    print(
        f"{label}: n={len(samples)} median={statistics.median(samples) * 1000:.0f} ms "
        f"p95={p95 * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--ticks", type=int, default=200)
    args = parser.parse_args()

    client = N8nClient.from_settings(get_settings())
    smoke: list[float] = []
    with local_smoke_endpoints() as endpoints:
        for _ in range(args.runs):
            t = time.perf_counter()
            outcome = run_smoke_test(
                client=client, feed_url=endpoints.feed_url, slack_webhook_url=endpoints.webhook_url
            )
            smoke.append(time.perf_counter() - t)
            assert outcome.ok, outcome.message
    client.close()
    _stats("smoke test (deploy+run+read+delete)", smoke)

    name = f"clixen_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{PG_URL}/{name}"
    try:
        db.upgrade(url)
        engine = db.make_engine(url)
        factory = db.make_session_factory(engine)
        ticks: list[float] = []
        for i in range(args.ticks):
            t = time.perf_counter()
            run_once_per_tick(session_factory=factory, job="bench", tick=str(i), body=lambda: {})
            ticks.append(time.perf_counter() - t)
        _stats("tick overhead (advisory lock + claim + record)", ticks)
        engine.dispose()
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
