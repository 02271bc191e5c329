"""Slack acknowledgement latency under load, and no request lost.

200 signed `/clixen create …` slash commands, 20 at a time, go to a real uvicorn serving the bot
(real Postgres, real n8n, the scripted LLM answering after 2 s per call, the fake Slack Web API).
Prints p50/p99 time to acknowledge (target p99 ≤ 100 ms; Slack's limit is 3,000 ms) and checks
that every request reaches its final message (a `chat.update` with the summary).

    .venv/bin/python benchmarks/slack_ack.py [--requests 200] [--concurrency 20] [--delay 2]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import uvicorn
from slack_sdk import WebClient
from sqlalchemy import select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.app import create_app  # noqa: E402
from bot.server import create_server_app  # noqa: E402
from bot.services import BotServices  # noqa: E402
from core import db  # noqa: E402
from core.catalog import default_catalog  # noqa: E402
from core.llm import LLMClient  # noqa: E402
from core.models import Workflow  # noqa: E402
from core.n8n import N8nClient  # noqa: E402
from core.pipeline import PipelineServices  # noqa: E402
from tests.bot.conftest import SlackSender, bot_settings  # noqa: E402
from tests.conftest import REPO as _R  # noqa: E402
from tests.conftest import _read_env_file, create_database, drop_database  # noqa: E402
from tests.core.test_pipeline import answer, schedule_workflow  # noqa: E402
from tests.doubles.llm_server import ScriptedLLM, start_llm_server  # noqa: E402
from tests.doubles.slack_api import FakeSlack, start_fake_slack  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--delay", type=float, default=2.0, help="seconds per LLM call")
    ap.add_argument("--timeout", type=float, default=600.0)
    args = ap.parse_args()

    env = _read_env_file(_R / ".stack" / "n8n.env")
    url = create_database("clixen_bench")
    db.upgrade(url)
    engine = db.make_engine(url)
    factory = db.make_session_factory(engine)
    slack = FakeSlack()
    slack_server = start_fake_slack(slack)
    llm = ScriptedLLM(delay_s=args.delay)
    llm.default = lambda body: answer(schedule_workflow(f"Bench {time.time_ns()}"))
    llm_server, _ = start_llm_server(llm)
    n8n = N8nClient(env["N8N_URL"], env["N8N_API_KEY"])
    settings = bot_settings(
        slack,
        url,
        OPENAI_BASE_URL=llm.url,
        OPENAI_API_KEY="bench",
        N8N_URL=env["N8N_URL"],
        N8N_API_KEY=env["N8N_API_KEY"],
    )
    pipeline = PipelineServices(
        session_factory=factory,
        n8n=n8n,
        llm=LLMClient(api_key="bench", base_url=llm.url, model="scripted", max_retries=0),
        catalog=default_catalog(),
        mcp=None,
        templates=None,
        settings=settings,
        watch_s=0.0,
    )
    services = BotServices(settings=settings, session_factory=factory, pipeline=pipeline, n8n=n8n)
    bolt = create_app(
        settings=settings,
        services=services,
        client=WebClient(token="xoxb-bench", base_url=slack.url),
    )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_server_app(bolt), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)

    latencies: list[float] = []
    statuses: list[int] = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        sender = SlackSender(http, slack)  # type: ignore[arg-type]

        def one(i: int) -> None:
            # One user per request: each has its own daily deploy quota.
            t0 = time.perf_counter()
            r = sender.command(f"create every morning post the news #{i}", user=f"UB{i:04d}")
            latencies.append((time.perf_counter() - t0) * 1000)
            statuses.append(r.status_code)

        started = time.monotonic()
        with ThreadPoolExecutor(args.concurrency) as pool:
            list(pool.map(one, range(args.requests)))
        acked = time.monotonic() - started

        def finals() -> int:
            return sum(
                1
                for c in slack.named("chat.update")
                if "is active" in json.dumps(c.args) or "Failed" in c.args.get("text", "")
            )

        deadline = time.monotonic() + args.timeout
        while finals() < args.requests and time.monotonic() < deadline:
            time.sleep(0.5)
        total = time.monotonic() - started

    ok = sum(1 for c in slack.named("chat.update") if "is active" in json.dumps(c.args))
    last: dict[str, str] = {}
    for c in slack.named("chat.update"):
        last[c.args.get("ts", "")] = c.args.get("text", "")
    progress_posts = [c for c in slack.named("chat.postMessage") if c.args.get("thread_ts")]
    stuck = [t for t in last.values() if "is active" not in t and not t.startswith("Failed")]
    print(f"progress messages posted: {len(progress_posts)}; not final: {stuck[:10]}")
    errors = {c.args.get("text", "")[:160] for c in slack.named("respond")}
    print(f"errors shown to users: {sorted(errors)[:5]}")
    lat = sorted(latencies)
    p50 = statistics.median(lat)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    print(f"requests: {args.requests}, concurrency {args.concurrency}, LLM {args.delay}s/call")
    print(f"ack ms: p50 {p50:.1f}  p99 {p99:.1f}  max {lat[-1]:.1f}  (all acked in {acked:.1f}s)")
    print(f"HTTP 200: {statuses.count(200)}/{args.requests}")
    print(f"final messages: {finals()}/{args.requests} (succeeded {ok}) in {total:.1f}s")

    server.should_exit = True
    services.shutdown(wait=True)
    with factory() as session:
        for n8n_id in session.scalars(select(Workflow.n8n_workflow_id)).all():
            if n8n_id:
                try:
                    n8n.delete_workflow(n8n_id)
                except Exception as e:  # keep cleaning up the rest
                    print(f"cleanup: {n8n_id}: {e}", file=sys.stderr)
    engine.dispose()
    drop_database(url)
    slack_server.shutdown()
    llm_server.shutdown()
    passed = p99 <= 100 and finals() == args.requests and statuses.count(200) == args.requests
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
