"""Takeover time when a `clixen serve` replica stops mid-run: SIGTERM (graceful stop, runs
handed over at once) next to SIGKILL (recovered when the lease runs out).

Two replicas on a fresh product Postgres, the scripted LLM answering the request after 6 s,
the real n8n. A request goes to replica A; when A is waiting for the LLM, A gets the signal.
Measured from the signal: `takeover` — the run's claim is replica B's; `finished` — the run
succeeded. `unheld` is how long nobody drove the run: from A's claim ending (released by A after
its step, or its lease running out after SIGKILL) to B's claim. Leases are 10 s and run recovery
looks every 2 s (as in tests/scale), the shutdown grace is 30 s. With SIGTERM, A first finishes
the LLM step it is in (the takeover waits for that answer), and B goes on from there; with
SIGKILL, B waits for the lease and asks the LLM again. `finished` includes B's 5 s watch for a
first execution.

    .venv/bin/python benchmarks/graceful_stop.py [--rounds 3]

n8n: N8N_URL / N8N_API_KEY if set, else the local one (.stack/n8n.env).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import common  # noqa: F401 (makes `core` and `tests` importable)
from sqlalchemy import select

from core.kernel import db
from core.kernel.models import PipelineRun
from core.kernel.vocabulary import FINISHED, RunState
from core.n8n import N8nClient
from tests.builders import delete_deployed
from tests.conftest import REPO, _read_env_file, create_database, drop_database
from tests.doubles.llm_server import ScriptedLLM, start_llm_server
from tests.doubles.slack_api import FakeSlack, start_fake_slack
from tests.scale.replicas import Replica, scripted_answer, serve_env, start_replica, stop_replicas


def n8n_env() -> dict[str, str]:
    if os.environ.get("N8N_URL") and os.environ.get("N8N_API_KEY"):
        return {"N8N_URL": os.environ["N8N_URL"], "N8N_API_KEY": os.environ["N8N_API_KEY"]}
    return _read_env_file(REPO / ".stack" / "n8n.env")


def one_round(
    sig: signal.Signals,
    number: int,
    *,
    tmp: Path,
    env: dict[str, str],
    slack: FakeSlack,
    llm: ScriptedLLM,
    b: Replica,
    factory: Any,
) -> dict[str, float]:
    a = start_replica(tmp, f"a-{sig.name}-{number}", env, slack)
    seen = len(llm.requests)
    assert a.sender.command(f"create slow report number {number}").status_code == 200
    while not any("slow report" in r.text for r in llm.requests[seen:]):
        time.sleep(0.05)
    with factory() as s:
        run_id = s.scalars(select(PipelineRun.id).order_by(PipelineRun.id.desc())).first()
    signalled = time.monotonic()
    a.proc.send_signal(sig)
    takeover = finished = released = None
    while finished is None:
        with factory() as s:
            run = s.get(PipelineRun, run_id)
            assert run is not None
        now = time.monotonic() - signalled
        a_holds = f":{a.proc.pid}" in str(run.owner_pid)
        lapsed = run.lease_until is not None and run.lease_until <= dt.datetime.now(dt.UTC)
        if released is None and a_holds and lapsed:
            released = now
        if takeover is None and f":{b.proc.pid}/" in str(run.owner_pid):
            takeover = now
        if run.state in FINISHED:
            assert run.state == RunState.succeeded, (run.state, run.error)
            finished = now
        assert now < 180, f"run {run_id} not finished 180 s after {sig.name}"
        time.sleep(0.05)
    exit_code = a.proc.wait(timeout=60)
    takeover = takeover or finished
    unheld = takeover - (released if released is not None else takeover)
    return {"takeover": takeover, "unheld": unheld, "finished": finished, "exit": exit_code}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    url = create_database("clixen_bench")
    db.upgrade(url)
    factory = db.make_session_factory(db.make_engine(url))
    llm = ScriptedLLM(default=scripted_answer)
    llm_server, _ = start_llm_server(llm)
    slack = FakeSlack()
    slack_server = start_fake_slack(slack)
    n8n = n8n_env()
    env = serve_env(
        database_url=url,
        slack_url=slack.url,
        llm_url=llm.url,
        n8n_url=n8n["N8N_URL"],
        n8n_api_key=n8n["N8N_API_KEY"],
    )
    env["CLIXEN_SHUTDOWN_GRACE_S"] = "30"
    results: dict[str, list[dict[str, float]]] = {"SIGTERM": [], "SIGKILL": []}
    replicas: list[Replica] = []
    try:
        with tempfile.TemporaryDirectory() as tmp_dir:
            tmp = Path(tmp_dir)
            b = start_replica(tmp, "b", env, slack)
            replicas.append(b)
            number = 0
            for _ in range(args.rounds):
                for sig in (signal.SIGTERM, signal.SIGKILL):
                    number += 1
                    result = one_round(
                        sig, number, tmp=tmp, env=env, slack=slack, llm=llm, b=b, factory=factory
                    )
                    results[sig.name].append(result)
                    print(f"{sig.name}: {result}", flush=True)
    finally:
        stop_replicas(replicas)
        with N8nClient(n8n["N8N_URL"], n8n["N8N_API_KEY"]) as client:
            delete_deployed(factory, client)
        llm_server.shutdown()
        slack_server.shutdown()
        factory.kw["bind"].dispose()
        drop_database(url)
    print("\nmedian / max, seconds   takeover       unheld        finished      exit codes")
    for name, rows in results.items():
        cells = []
        for key in ("takeover", "unheld", "finished"):
            values = [r[key] for r in rows]
            cells.append(f"{statistics.median(values):5.1f} /{max(values):5.1f}")
        exits = sorted({int(r["exit"]) for r in rows})
        print(f"{name} ({len(rows)} runs)   " + "   ".join(cells) + f"   {exits}")


if __name__ == "__main__":
    main()
