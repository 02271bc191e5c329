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
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import db, pipeline
from core.catalog import default_catalog
from core.llm import LLMClient
from core.models import Workflow
from core.n8n import ExecutionFailure, N8nClient
from core.pipeline import PipelineServices, execute_run, start_run
from core.projects import create_project
from core.scheduler.jobs import watch_executions
from core.settings import get_settings
from tests.doubles.llm_server import ScriptedLLM, start_llm_server

TEAM, USER = "bench", "bench-user"


def order_hook(path: str, js: str) -> dict[str, Any]:
    return {
        "name": f"bench {path}",
        "nodes": [
            {
                "name": "Incoming order",
                "type": "n8n-nodes-base.webhook",
                "typeVersion": 2,
                "position": [0, 0],
                "webhookId": str(uuid.uuid4()),
                "parameters": {"httpMethod": "POST", "path": path, "responseMode": "onReceived"},
            },
            {
                "name": "Check order",
                "type": "n8n-nodes-base.code",
                "typeVersion": 2,
                "position": [220, 0],
                "parameters": {"jsCode": js},
            },
        ],
        "connections": {
            "Incoming order": {"main": [[{"node": "Check order", "type": "main", "index": 0}]]}
        },
        "settings": {"executionOrder": "v1"},
    }


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--pg", default="host=127.0.0.1 port=5432 user=postgres dbname=postgres")
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    args = ap.parse_args()

    name = f"clixen_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{args.pg_url}/{name}"
    engine = db.make_engine(url)
    llm = ScriptedLLM()
    server, _ = start_llm_server(llm)
    settings = get_settings()
    try:
        db.upgrade(url)
        factory = db.make_session_factory(engine)
        with factory.begin() as s:
            project = create_project(session=s, team_id=TEAM, name="bench", creator_user_id=USER)
            project.daily_deploy_limit = args.rounds * 3 + 10
            project.daily_token_limit = 10**9
            s.flush()
            project_id = project.id
        with N8nClient.from_settings(settings) as n8n:
            services = PipelineServices(
                session_factory=factory,
                n8n=n8n,
                llm=LLMClient(api_key="bench", base_url=llm.url, model="scripted"),
                catalog=default_catalog(),
                mcp=None,
                templates=None,
                settings=settings,
                watch_s=0.0,
            )

            def repair(*, workflow_id: int, failure: ExecutionFailure) -> str | None:
                return pipeline.repair_after_runtime_error(
                    services, workflow_id=workflow_id, failure=failure
                )

            def watch() -> dict[str, Any]:
                return watch_executions(
                    session_factory=factory,
                    client=n8n,
                    notifier=None,
                    repair=repair,
                    now=dt.datetime.now(dt.UTC),
                )

            repairing: list[float] = []
            quiet: list[float] = []
            try:
                for i in range(args.rounds + 1):  # the first round warms up
                    path = f"bench-{uuid.uuid4().hex[:10]}"
                    llm.script({"workflow": order_hook(path, "throw new Error('bad order');")})
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
                    result = pipeline.test_run(
                        services, workflow_id=outcome.workflow_id, sample={"total": -1}
                    )
                    if result.status != "error":
                        raise SystemExit(f"the workflow did not fail: {result}")
                    llm.script({"workflow": order_hook(path, "return $input.all();")})
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
                with factory() as s:
                    ids = [i for i in s.scalars(select(Workflow.n8n_workflow_id)) if i]
                for n8n_id in ids:
                    n8n.delete_workflow(n8n_id)
        print(
            f"rounds: {len(repairing)} (after 1 warm-up); workflows watched grow 1..{args.rounds}"
        )
        print(
            f"watch pass with a repair  median {statistics.median(repairing) * 1000:7.1f} ms"
            f"   p95 {pct(repairing, 0.95) * 1000:7.1f} ms   (failure seen -> v2 deployed)"
        )
        print(
            f"quiet watch pass          median {statistics.median(quiet) * 1000:7.1f} ms"
            f"   p95 {pct(quiet, 0.95) * 1000:7.1f} ms"
        )
    finally:
        server.shutdown()
        engine.dispose()
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
