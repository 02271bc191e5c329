"""Execution watch → automatic repair: how long one watch pass takes when it finds a runtime error
and repairs it (read executions, report, repair run with the scripted LLM answering instantly over
real HTTP, validate, deploy v2 to the same n8n workflow, activate, read back), against a quiet pass.

    .venv/bin/python benchmarks/watch_repair_bench.py [--rounds N]

The repair run's own post-deploy watch is off (`watch_s=0`); in the bot it waits up to
`PipelineServices.watch_s` (5 s) for an execution of the new version, which adds to a real pass.
Uses N8N_URL / N8N_API_KEY (or .stack/n8n.env) and a throwaway Postgres database it creates and
drops. Prints medians and p95.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
import uuid
from typing import Any

from common import add_pg_arguments, pct, pipeline_bench

from core import pipeline
from core.kernel.settings import get_settings
from core.n8n import ExecutionFailure
from core.pipeline import PipelineServices, execute_run, start_run
from core.scheduler.watch import watch_executions
from tests.builders import delete_deployed
from tests.doubles.llm_server import ScriptedLLM
from tests.workflows import order_hook

TEAM, USER = "bench", "bench-user"


def measure(
    services: PipelineServices, llm: ScriptedLLM, project_id: int, rounds: int
) -> tuple[list[float], list[float]]:
    """Seconds per watch pass that repairs a fresh failure and per quiet pass after it, after one
    warm-up round; every n8n workflow made is deleted."""
    n8n = services.n8n

    def repair(*, workflow_id: int, failure: ExecutionFailure) -> str | None:
        return pipeline.repair_after_runtime_error(
            services, workflow_id=workflow_id, failure=failure
        )

    def watch() -> dict[str, Any]:
        return watch_executions(
            session_factory=services.session_factory,
            client=n8n,
            notifier=None,
            repair=repair,
            now=dt.datetime.now(dt.UTC),
        )

    repairing: list[float] = []
    quiet: list[float] = []
    try:
        for i in range(rounds + 1):  # the first round warms up
            path = f"bench-{uuid.uuid4().hex[:10]}"
            bad = order_hook(path, "throw new Error('bad order');", f"bench {path}")
            llm.script({"workflow": bad})
            run, _ = start_run(
                services,
                team_id=TEAM,
                user_id=USER,
                project_id=project_id,
                request=f"check orders {i}",
            )
            outcome = execute_run(services, run.id)
            if not outcome.ok or outcome.workflow_id is None:
                raise SystemExit(f"pipeline run failed: {outcome.message}")
            result = pipeline.run_test_call(
                services, workflow_id=outcome.workflow_id, sample={"total": -1}
            )
            if result.status != "error":
                raise SystemExit(f"the workflow did not fail: {result}")
            llm.script({"workflow": order_hook(path, "return $input.all();", f"bench {path}")})
            t = time.perf_counter()
            summary = watch()
            took = time.perf_counter() - t
            if len(summary["failed"]) != 1:
                raise SystemExit(f"the watch did not see the failure: {summary}")
            t = time.perf_counter()
            watch()
            quiet_took = time.perf_counter() - t
            if i:
                repairing.append(took)
                quiet.append(quiet_took)
    finally:
        delete_deployed(services.session_factory, n8n)
    return repairing, quiet


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    add_pg_arguments(ap)
    args = ap.parse_args()

    with pipeline_bench(
        args,
        team_id=TEAM,
        user_id=USER,
        deploy_limit=args.rounds * 3 + 10,
        settings=get_settings(),
    ) as (services, llm, project_id):
        repairing, quiet = measure(services, llm, project_id, args.rounds)
    print(f"rounds: {len(repairing)} (after 1 warm-up); workflows watched grow 1..{args.rounds}")
    print(
        f"watch pass with a repair  median {statistics.median(repairing) * 1000:7.1f} ms"
        f"   p95 {pct(repairing, 0.95) * 1000:7.1f} ms   (failure seen -> v2 deployed)"
    )
    print(
        f"quiet watch pass          median {statistics.median(quiet) * 1000:7.1f} ms"
        f"   p95 {pct(quiet, 0.95) * 1000:7.1f} ms"
    )


if __name__ == "__main__":
    main()
