"""Scale-out, in one run:

1. Requests per minute to "deployed and active" with 1 and 2 `clixen serve` replicas on one
   product Postgres (a fresh database each), the scripted LLM answering after 2 s, the real n8n.
   Each request is a signed /clixen slash command from its own user; the clock stops at the
   last version's `deployed_at`.
2. Webhook executions per second on n8n single-process (scripts/n8n_stack.sh start, :5678)
   against queue mode (start --queue) with 1 and 2 workers: a webhook → Set workflow answering
   when its last node finished (`responseMode: lastNode`), called N times by C concurrent clients.

    .venv/bin/python benchmarks/scale_out.py [--requests 20] [--calls 200] [--clients 10]

The queue-mode stack is (re)started with 1, then 2 workers, and stopped at the end unless it
was running before. The machine has 2 cores: every process (n8n main, workers, replicas, the
load generator, Postgres, Redis) shares them, so the ratios say how far CPU lets scale-out go
here, not what separate machines would give.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import common  # noqa: F401 (makes `core` and `tests` importable)
import httpx
from sqlalchemy import func, select

from core.kernel import db
from core.kernel.models import PipelineRun, WorkflowVersion
from core.kernel.vocabulary import FINISHED
from core.n8n import N8nClient
from tests.builders import delete_deployed
from tests.conftest import (
    PG_ADMIN,
    PG_URL_BASE,
    REPO,
    _read_env_file,
    create_database,
    drop_database,
)
from tests.doubles.llm_server import ScriptedLLM, start_llm_server
from tests.doubles.slack_api import FakeSlack, start_fake_slack
from tests.scale.replicas import scripted_answer, serve_env, start_replica, stop_replicas

SCRIPT = REPO / "scripts" / "n8n_stack.sh"
LLM_LATENCY_S = 2.0


def stack(*args: str, **env: str) -> str:
    return subprocess.run(
        [str(SCRIPT), *args],
        check=True,
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    ).stdout


def stack_env(state: Path) -> dict[str, str]:
    return _read_env_file(state / "n8n.env")


# --- 1. replicas ---------------------------------------------------------------------------


def requests_per_minute(
    replica_count: int, requests: int, n8n_env: dict[str, str]
) -> dict[str, Any]:
    url = create_database("clixen_bench", admin=PG_ADMIN, url_base=PG_URL_BASE)
    db.upgrade(url)
    engine = db.make_engine(url)
    factory = db.make_session_factory(engine)
    llm = ScriptedLLM(default=scripted_answer, delay_s=LLM_LATENCY_S)
    llm_server, _ = start_llm_server(llm)
    slack = FakeSlack()
    slack_server = start_fake_slack(slack)
    env = serve_env(
        database_url=url,
        slack_url=slack.url,
        llm_url=llm.url,
        n8n_url=n8n_env["N8N_URL"],
        n8n_api_key=n8n_env["N8N_API_KEY"],
    )
    replicas = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(replica_count):
                replicas.append(start_replica(Path(tmp), f"replica-{i}", env, slack))
            t0 = time.time()
            start = dt.datetime.fromtimestamp(t0, dt.UTC)

            def deliver(i: int) -> int:
                r = replicas[i % replica_count]
                return int(
                    r.sender.command(f"create report number {i}", user=f"U{i:03d}").status_code
                )

            with ThreadPoolExecutor(max_workers=8) as pool:
                codes = list(pool.map(deliver, range(requests)))
            assert set(codes) == {200}, codes
            deadline = time.monotonic() + 600
            while True:
                with factory() as s:
                    done = s.scalar(
                        select(func.count())
                        .select_from(PipelineRun)
                        .where(PipelineRun.state.in_([str(x) for x in FINISHED]))
                    )
                if (done or 0) >= requests:
                    break
                assert time.monotonic() < deadline, f"{done}/{requests} runs finished"
                time.sleep(0.5)
            with factory() as s:
                deployed = s.scalars(
                    select(WorkflowVersion.deployed_at).where(WorkflowVersion.status == "deployed")
                ).all()
            assert len(deployed) == requests, len(deployed)
            last = max(d for d in deployed if d is not None)
            elapsed = (last - start).total_seconds()
            return {
                "replicas": replica_count,
                "requests": requests,
                "seconds_to_last_deployed": round(elapsed, 1),
                "requests_per_min": round(requests / elapsed * 60, 1),
            }
    finally:
        stop_replicas(replicas)
        with N8nClient(n8n_env["N8N_URL"], n8n_env["N8N_API_KEY"]) as n8n:
            delete_deployed(factory, n8n)
        llm_server.shutdown()
        slack_server.shutdown()
        engine.dispose()
        drop_database(url, admin=PG_ADMIN)


# --- 2. webhook executions -----------------------------------------------------------------


def hook(path: str) -> dict[str, Any]:
    return {
        "name": f"bench {path}",
        "nodes": [
            {
                "name": "Incoming call",
                "type": "n8n-nodes-base.webhook",
                "typeVersion": 2,
                "position": [0, 0],
                "webhookId": str(uuid.uuid4()),
                "parameters": {"httpMethod": "GET", "path": path, "responseMode": "lastNode"},
            },
            {
                "name": "Set",
                "type": "n8n-nodes-base.set",
                "typeVersion": 3.4,
                "position": [220, 0],
                "parameters": {},
            },
        ],
        "connections": {"Incoming call": {"main": [[{"node": "Set", "type": "main", "index": 0}]]}},
        "settings": {"executionOrder": "v1"},
    }


def executions_per_second(
    label: str, n8n_env: dict[str, str], calls: int, clients: int
) -> dict[str, Any]:
    path = f"bench-{uuid.uuid4().hex[:8]}"
    with N8nClient(n8n_env["N8N_URL"], n8n_env["N8N_API_KEY"]) as n8n:
        wid = n8n.create_workflow(hook(path))["id"]
        try:
            n8n.activate(wid)
            assert n8n.call_webhook(path, method="GET").status_code == 200  # registered, warm
            url = n8n.webhook_url(path)
            with httpx.Client(timeout=120) as http:

                def call(_: int) -> tuple[int, float]:
                    t = time.perf_counter()
                    code = http.get(url).status_code
                    return code, time.perf_counter() - t

                t0 = time.perf_counter()
                with ThreadPoolExecutor(max_workers=clients) as pool:
                    results = list(pool.map(call, range(calls)))
                elapsed = time.perf_counter() - t0
            ok = sum(1 for code, _ in results if code == 200)
            lat = sorted(t for _, t in results)
            return {
                "n8n": label,
                "calls": calls,
                "ok": ok,
                "seconds": round(elapsed, 1),
                "executions_per_s": round(ok / elapsed, 1),
                "p50_ms": round(lat[len(lat) // 2] * 1000),
                "p95_ms": round(lat[int(len(lat) * 0.95)] * 1000),
            }
        finally:
            n8n.delete_workflow(wid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--clients", type=int, default=10)
    args = parser.parse_args()

    stack("start")
    single = stack_env(REPO / ".stack")
    results: dict[str, Any] = {"replicas": [], "webhooks": []}
    for n in (1, 2):
        results["replicas"].append(requests_per_minute(n, args.requests, single))
        print(json.dumps(results["replicas"][-1]), flush=True)

    results["webhooks"].append(
        executions_per_second("single process", single, args.calls, args.clients)
    )
    print(json.dumps(results["webhooks"][-1]), flush=True)
    queue_was_running = stack("status", "--queue").startswith("running")
    try:
        for workers in (1, 2):
            stack("stop", "--queue")
            stack("start", "--queue", CLIXEN_N8N_WORKERS=str(workers))
            queue = stack_env(REPO / ".stack" / "queue")
            results["webhooks"].append(
                executions_per_second(
                    f"queue, {workers} worker(s)", queue, args.calls, args.clients
                )
            )
            print(json.dumps(results["webhooks"][-1]), flush=True)
    finally:
        if not queue_was_running:
            stack("stop", "--queue")
    r1, r2 = (r["requests_per_min"] for r in results["replicas"])
    w = [x["executions_per_s"] for x in results["webhooks"]]
    results["ratios"] = {
        "replicas_2_vs_1": round(r2 / r1, 2),
        "queue_1_worker_vs_single": round(w[1] / w[0], 2),
        "queue_2_workers_vs_1": round(w[2] / w[1], 2),
    }
    results["cpu_count"] = os.cpu_count()
    results["loadavg_at_end"] = os.getloadavg()
    print(json.dumps(results["ratios"]))
    out = REPO / "benchmarks" / "results" / "scale_out.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
