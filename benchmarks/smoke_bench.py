"""Time of one smoke test (deploy canonical RSS → Slack, fire, read the execution, delete) and of
one claim-and-run of a scheduler tick, on the real n8n and the real Postgres.

    .venv/bin/python benchmarks/smoke_bench.py [--runs N] [--ticks N]

Uses N8N_URL / N8N_API_KEY (or .stack/n8n.env); the feed and the Slack sink are served locally.
Tick claims run on a throwaway Postgres database (created and dropped; CLIXEN_TEST_PG).
Prints median and p95.
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import throwaway_database

from core.kernel.settings import get_settings
from core.n8n import N8nClient
from core.scheduler.locks import run_once_per_tick
from core.scheduler.smoke import local_smoke_endpoints, run_smoke_test


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

    with throwaway_database() as factory:
        ticks: list[float] = []
        for i in range(args.ticks):
            t = time.perf_counter()
            run_once_per_tick(session_factory=factory, job="bench", tick=str(i), body=lambda: {})
            ticks.append(time.perf_counter() - t)
    _stats("tick overhead (advisory lock + claim + record)", ticks)


if __name__ == "__main__":
    main()
