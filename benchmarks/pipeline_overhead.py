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
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import db
from core.catalog import default_catalog
from core.llm import LLMClient
from core.models import Workflow
from core.n8n import N8nClient
from core.pipeline import PipelineServices, execute_run, start_run
from core.projects import create_project
from core.settings import get_settings
from core.templates import default_library
from tests.doubles.llm_server import ScriptedLLM, start_llm_server

TEAM, USER = "bench", "bench-user"


def workflow(label: str) -> dict[str, Any]:
    return {
        "name": f"bench {label}",
        "nodes": [
            {
                "id": "t",
                "name": "Every hour",
                "type": "n8n-nodes-base.scheduleTrigger",
                "typeVersion": 1.2,
                "position": [0, 0],
                "parameters": {"rule": {"interval": [{"field": "hours"}]}},
            },
            {
                "id": "s",
                "name": "Label",
                "type": "n8n-nodes-base.set",
                "typeVersion": 3.4,
                "position": [220, 0],
                "parameters": {
                    "assignments": {
                        "assignments": [{"id": "a", "name": "l", "value": label, "type": "string"}]
                    },
                    "options": {},
                },
            },
        ],
        "connections": {"Every hour": {"main": [[{"node": "Label", "type": "main", "index": 0}]]}},
        "settings": {"executionOrder": "v1"},
    }


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--mcp", action="store_true", help="also validate with n8n-mcp")
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
    raw_ids: list[str] = []
    settings = get_settings()
    mcp = None
    try:
        db.upgrade(url)
        factory = db.make_session_factory(engine)
        with factory.begin() as s:
            project = create_project(session=s, team_id=TEAM, name="bench", creator_user_id=USER)
            project.daily_deploy_limit = args.runs * 2 + 10
            project.daily_token_limit = 10**9
            s.flush()
            project_id = project.id
        if args.mcp:
            from core.mcp_validation import McpValidator

            mcp = McpValidator.from_settings(settings)
        with N8nClient.from_settings(settings) as n8n:
            services = PipelineServices(
                session_factory=factory,
                n8n=n8n,
                llm=LLMClient(api_key="bench", base_url=llm.url, model="scripted"),
                catalog=default_catalog(),
                mcp=mcp,
                templates=default_library(),  # loaded once per process, as in the bot
                settings=settings,
                watch_s=0.0,
            )
            pipe: list[float] = []
            raw: list[float] = []
            try:
                for i in range(args.runs + 1):  # the first round warms up both paths
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
                with factory() as s:
                    raw_ids.extend(i for i in s.scalars(select(Workflow.n8n_workflow_id)) if i)
                for n8n_id in raw_ids:
                    n8n.delete_workflow(n8n_id)
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
    finally:
        if mcp is not None:
            mcp.close()
        server.shutdown()
        engine.dispose()
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
