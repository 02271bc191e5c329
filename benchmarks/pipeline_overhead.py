"""Pipeline overhead: request → deployed and active, against the raw n8n API calls it needs.

    .venv/bin/python benchmarks/pipeline_overhead.py [--runs N] [--mcp]

Side by side in one run, alternating: (a) the whole pipeline (`start_run` + `execute_run`: prompt
retrieval, scripted LLM answering instantly over real HTTP, deterministic fixes, our validator,
n8n-mcp too with --mcp, deploy with version rows and quota, activate, read back, no execution
watch), and (b) the bare n8n calls the same deploy needs (POST /workflows, activate, GET). Prints
medians, p95 and the ratio; the target is a ratio ≤ 2. Uses N8N_URL / N8N_API_KEY (or
.stack/n8n.env) and a throwaway Postgres database that it creates and drops.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from common import add_pg_arguments, pct, pipeline_bench

from core.generation.templates import default_library
from core.kernel.settings import get_settings
from core.pipeline import PipelineServices, execute_run, start_run
from tests.builders import delete_deployed
from tests.doubles.llm_server import ScriptedLLM
from tests.workflows import labelled_schedule

TEAM, USER = "bench", "bench-user"


def workflow(label: str) -> dict[str, Any]:
    return labelled_schedule(label, f"bench {label}")


def measure(
    services: PipelineServices, llm: ScriptedLLM, project_id: int, runs: int
) -> tuple[list[float], list[float]]:
    """Seconds per pipeline run and per bare n8n deploy, alternating, after one warm-up each;
    every n8n workflow made is deleted."""
    n8n = services.n8n
    pipe: list[float] = []
    raw: list[float] = []
    raw_ids: list[str] = []
    try:
        for i in range(runs + 1):  # the first round warms up both paths
            llm.script({"workflow": workflow(f"p{i}"), "summary": "bench"})
            t = time.perf_counter()
            run, _ = start_run(
                services,
                team_id=TEAM,
                user_id=USER,
                project_id=project_id,
                request=f"every hour label items p{i}",
            )
            outcome = execute_run(services, run.id)
            took = time.perf_counter() - t
            if not outcome.ok:
                raise SystemExit(f"pipeline run failed: {outcome.message}")
            t = time.perf_counter()
            created = n8n.create_workflow(workflow(f"r{i}"))
            raw_ids.append(str(created["id"]))
            n8n.activate(str(created["id"]))
            n8n.get_workflow(str(created["id"]))
            raw_took = time.perf_counter() - t
            if i:
                pipe.append(took)
                raw.append(raw_took)
    finally:
        delete_deployed(services.session_factory, n8n)
        for n8n_id in raw_ids:
            n8n.delete_workflow(n8n_id)
    return pipe, raw


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--mcp", action="store_true", help="also validate with n8n-mcp")
    add_pg_arguments(ap)
    args = ap.parse_args()

    settings = get_settings()
    mcp = None
    if args.mcp:
        from core.validation.mcp import McpValidator

        mcp = McpValidator.from_settings(settings)
    try:
        with pipeline_bench(
            args,
            team_id=TEAM,
            user_id=USER,
            deploy_limit=args.runs * 2 + 10,
            settings=settings,
            templates=default_library(),  # loaded once per process, as in the bot
            mcp=mcp,
        ) as (services, llm, project_id):
            pipe, raw = measure(services, llm, project_id, args.runs)
    finally:
        if mcp is not None:
            mcp.close()
    mp, mr = statistics.median(pipe), statistics.median(raw)
    print(f"runs: {len(pipe)} (after 1 warm-up), n8n-mcp: {'on' if args.mcp else 'off'}")
    print(
        f"pipeline  median {mp * 1000:7.1f} ms   p95 {pct(pipe, 0.95) * 1000:7.1f} ms"
        "   (request -> deployed + active)"
    )
    print(
        f"raw n8n   median {mr * 1000:7.1f} ms   p95 {pct(raw, 0.95) * 1000:7.1f} ms"
        "   (create + activate + get)"
    )
    print(f"ratio     {mp / mr:.2f}x   (target <= 2x)")


if __name__ == "__main__":
    main()
