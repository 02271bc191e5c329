"""Pipeline overhead: request → deployed and active, against the raw n8n API calls it needs.

    .venv/bin/python benchmarks/pipeline_overhead.py [--runs N] [--mcp] [--compare-rev REV]

Side by side in one run, alternating: (a) the whole pipeline (`start_run` + `execute_run`: prompt
retrieval, scripted LLM answering instantly over real HTTP, deterministic fixes, our validator,
n8n-mcp too with --mcp, deploy with version rows and quota, activate, read back, no execution
watch), and (b) the bare n8n calls the same deploy needs (POST /workflows, activate, GET). Prints
medians, p95 and the ratio; the target is a ratio ≤ 1.5. Uses N8N_URL / N8N_API_KEY (or
.stack/n8n.env) and a throwaway Postgres database that it creates and drops.

`--compare-rev REV` measures REV's tree too (checked out into a temporary `git worktree`, its own
copy of this script run in its own process): the two trees take turns, `--rounds` times each
(`--runs` split between the rounds), so both see the same load; each round gives a tree's
median pipeline and raw times, and the tree's figures are the medians of its rounds.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import add_pg_arguments, pct, pipeline_bench
from request_trace import worktree

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


HERE = Path(__file__).resolve()
MEDIANS = re.compile(r"^(pipeline|raw n8n)\s+median\s+([\d.]+) ms", re.M)


def compare(args: argparse.Namespace) -> None:
    """This tree and REV's, taking turns (see the module docstring)."""
    per_round = max(2, args.runs // args.rounds)
    pooled: dict[str, dict[str, list[float]]] = {}
    with worktree(args.compare_rev) as old:
        trees = {args.compare_rev: old, "this tree": HERE.parent.parent}
        for _ in range(args.rounds):
            for name, root in trees.items():
                cmd = [sys.executable, str(root / "benchmarks" / HERE.name), "--runs"]
                cmd += [str(per_round), "--pg", args.pg, "--pg-url", args.pg_url]
                cmd += ["--mcp"] if args.mcp else []
                env = {**os.environ, "PYTHONPATH": str(root)}
                done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
                if done.returncode:
                    raise SystemExit(f"{name} failed:\n{done.stdout}\n{done.stderr[-3000:]}")
                found = pooled.setdefault(name, {"pipe": [], "raw": []})
                for kind, ms in MEDIANS.findall(done.stdout):
                    found["pipe" if kind == "pipeline" else "raw"].append(float(ms) / 1000)
    print(
        f"runs: {per_round} x {args.rounds} rounds per tree, n8n-mcp: {'on' if args.mcp else 'off'}"
    )
    print("| tree | pipeline median | raw n8n median | ratio | ratio per round |")
    print("| --- | ---: | ---: | ---: | --- |")
    for name, found in pooled.items():
        pipe, raw = found["pipe"], found["raw"]
        mp, mr = statistics.median(pipe), statistics.median(raw)
        rounds = ", ".join(f"{p / r:.2f}" for p, r in zip(pipe, raw, strict=True))
        print(f"| {name} | {mp * 1000:.1f} ms | {mr * 1000:.1f} ms | {mp / mr:.2f}x | {rounds} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--mcp", action="store_true", help="also validate with n8n-mcp")
    ap.add_argument("--compare-rev", metavar="REV", help="also measure this git revision's tree")
    ap.add_argument("--rounds", type=int, default=2, help="turns each tree takes (--compare-rev)")
    add_pg_arguments(ap)
    args = ap.parse_args()
    if args.compare_rev:
        compare(args)
        return

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
    print(f"ratio     {mp / mr:.2f}x   (target <= 1.5x)")


if __name__ == "__main__":
    main()
