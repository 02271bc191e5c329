"""Does what the model is offered in the first message cover the node types AND the (type,
resource, operation) pairs a correct workflow needs, on requests written before the retrieval
was tuned? (issue 19, step 0)

    .venv/bin/python benchmarks/generalization.py [--set new|old] [--half tuning|heldout|all]
                                                   [--misses] [--compare-rev REV] [--json]
    .venv/bin/python benchmarks/generalization.py --set templates [--every 20]

The new set (benchmarks/generalization_requests.json) is frozen: 64 requests as Slack users type
them, each labelled with the node types and the operations a correct workflow needs. It is split
by index parity: `tuning` (even indexes; its misses may be read while improving retrieval) and
`heldout` (odd; `--misses` refuses to list them). The old set (benchmarks/retrieval_requests.json)
has types only, and so has `--set templates` (every N-th shipped template's name as the request,
its node types as the needs: a noisy key, the author chose among equivalent nodes).

Measured on what generation really builds (the same core functions `clixen prompt --json` calls):

- offered types: types with a spec in the first message, plus the listed candidates (when the
  tree has them) and the core toolbox's lines (issue 29); "spec'd" counts specs only;
- pairs: a needed (type, resource, operation) is "spec'd for it" when a spec of that type carries
  that resource/operation, and "offered" when it is also among a spec's other_operations or a
  candidate's operations;
- first-message tokens (`core.generation.llm.estimate_tokens` of the messages; chars/4 too),
  median / max;
- time: retrieval + prompt per request in a warm process (median / max), and one whole
  `clixen prompt --json` process (cold start included), median of 3.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from layout import LAYOUT_SHIM
from retrieval import template_requests, worktree

REPO = Path(__file__).resolve().parent.parent
NEW_SET = Path(__file__).resolve().parent / "generalization_requests.json"
OLD_SET = Path(__file__).resolve().parent / "retrieval_requests.json"

# Runs in the measured tree (its `core` first on sys.path): request set on stdin, results out.
MEASURE = r"""
import json, sys, time
from core.catalog import default_catalog
from core.generation.llm import estimate_tokens
from core.generation.templates import default_library
try:
    from core.generation.retrieval import first_message  # issue 19: specs + candidates + messages
except ImportError:
    first_message = None
from core.generation.replies import retrieve
from core.generation.prompts import generation_messages

catalog, library = default_catalog(), default_library()
prefixes = ("n8n-nodes-base.", "@n8n/n8n-nodes-langchain.")

def full(short):
    if short in catalog:
        return short
    for p in prefixes:
        if p + short in catalog:
            return p + short
    raise SystemExit(f"unknown node type in the request set: {short}")

out = []
for item in json.load(sys.stdin)["requests"]:
    text = item["request"]
    start = time.perf_counter()
    if first_message is not None:
        fm = first_message(text=text, catalog=catalog, templates=library)
        messages, specs, candidates, tokens = fm.messages, fm.specs, fm.candidates, fm.tokens
        # issue 29: the core toolbox's lines offer their types too (type, version, parameters).
        candidates = candidates + [
            {"type": line.split(" ", 1)[0], "operations": []}
            for line in getattr(fm.retrieval.context, "toolbox", ())
        ]
    else:
        found = retrieve(text=text, catalog=catalog, templates=library)
        messages = generation_messages(request=text, ctx=found.context)
        specs, candidates = list(found.context.node_specs), []
        tokens = estimate_tokens(messages)
    elapsed = time.perf_counter() - start
    out.append({
        "request": text,
        "needs": [[full(s) for s in alts] for alts in item["needs"]],
        "ops": [[[full(t), r, o] for t, r, o in alts] for alts in item.get("ops", [])],
        "specs": [
            {"type": s["type"], "resource": s.get("resource"), "operation": s.get("operation"),
             "other_operations": s.get("other_operations", []),
             "operations": s.get("operations")}
            for s in specs
        ],
        "candidates": candidates,
        "chars": sum(len(m["content"]) for m in messages),
        "estimate": tokens,
        "seconds": elapsed,
    })
print(json.dumps(out))
"""


def measure(tree: Path, request_set: str) -> list[dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.run(
        [sys.executable, "-c", LAYOUT_SHIM + MEASURE],
        input=request_set,
        capture_output=True,
        text=True,
        cwd=tree,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"measuring {tree} failed:\n{proc.stderr[-3000:]}")
    rows: list[dict[str, Any]] = json.loads(proc.stdout)
    return rows


CLI = LAYOUT_SHIM + "import sys; from cli import main; sys.exit(main())"


def cli_seconds(tree: Path, request: str, runs: int = 3) -> float:
    """Median wall time of one whole `clixen prompt --json` process on `tree`'s code."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", CLI, "prompt", "--json", request],
            capture_output=True,
            cwd=tree,
            env=env,
            check=True,
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _offered(row: dict[str, Any]) -> tuple[set[str], set[str], set[tuple[str, Any, Any]]]:
    """Spec'd types, offered types, offered (type, resource, operation) pairs of one row."""
    specs = {s["type"] for s in row["specs"]}
    offered = specs | {c["type"] for c in row["candidates"]}
    pairs: set[tuple[str, Any, Any]] = set()
    for s in row["specs"]:
        pairs.add((s["type"], s["resource"], s["operation"]))
        for other in s.get("other_operations", []):
            pairs.add((s["type"], s["resource"], other))
        ops = s.get("operations") or {}
        for resource, names in ops.items() if isinstance(ops, dict) else [(None, ops)]:
            for name in names:
                pairs.add((s["type"], resource, name))
    for c in row["candidates"]:
        for resource, operation in c.get("operations", []):
            pairs.add((c["type"], resource, operation))
    return specs, offered, pairs


def _pair_hit(alts: list[list[Any]], pairs: set[tuple[str, Any, Any]]) -> bool:
    return any(
        (t, r, o) in pairs or (r is None and any(p[0] == t and p[2] == o for p in pairs))
        for t, r, o in alts
    )


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    needs = sum(len(r["needs"]) for r in rows)
    ops = sum(len(r["ops"]) for r in rows)
    spec_hits = offer_hits = full_spec = full_offer = pair_spec = pair_offer = 0
    for r in rows:
        specs, offered, pairs = _offered(r)
        chosen = {(s["type"], s["resource"], s["operation"]) for s in r["specs"]}
        hs = sum(1 for alts in r["needs"] if specs.intersection(alts))
        ho = sum(1 for alts in r["needs"] if offered.intersection(alts))
        spec_hits += hs
        offer_hits += ho
        full_spec += hs == len(r["needs"])
        full_offer += ho == len(r["needs"])
        pair_spec += sum(1 for alts in r["ops"] if _pair_hit(alts, chosen))
        pair_offer += sum(1 for alts in r["ops"] if _pair_hit(alts, pairs))
    estimate = [r["estimate"] for r in rows]
    seconds = [r["seconds"] for r in rows]
    return {
        "requests": len(rows),
        "needs": needs,
        "ops": ops,
        "types_offered": offer_hits / needs,
        "types_specd": spec_hits / needs,
        "requests_all_types_offered": full_offer / len(rows),
        "requests_all_types_specd": full_spec / len(rows),
        "pairs_specd": pair_spec / ops if ops else None,
        "pairs_offered": pair_offer / ops if ops else None,
        "specs_per_prompt": statistics.mean(len(r["specs"]) for r in rows),
        "candidates_per_prompt": statistics.mean(len(r["candidates"]) for r in rows),
        "tokens_median": statistics.median(estimate),
        "tokens_max": max(estimate),
        "chars4_median": statistics.median(r["chars"] / 4 for r in rows),
        "prompt_s_median": statistics.median(seconds),
        "prompt_s_max": max(seconds),
    }


def misses(rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    for r in rows:
        _, offered, pairs = _offered(r)
        lost = [alts for alts in r["needs"] if not offered.intersection(alts)]
        lost_ops = [alts for alts in r["ops"] if not _pair_hit(alts, pairs)]
        if lost or lost_ops:
            names = " | ".join("/".join(a.rsplit(".", 1)[-1] for a in alts) for alts in lost)
            opn = " | ".join(
                "/".join(f"{t.rsplit('.', 1)[-1]}:{r_}:{o}" for t, r_, o in alts)
                for alts in lost_ops
            )
            lines.append(f"- {r['request'][:70]}: types [{names}] ops [{opn}]")
    return lines


ROWS = (
    ("needed types offered (specs + candidates)", "types_offered", "{:.1%}"),
    ("needed types with a spec", "types_specd", "{:.1%}"),
    ("requests with every needed type offered", "requests_all_types_offered", "{:.1%}"),
    ("requests with every needed type spec'd", "requests_all_types_specd", "{:.1%}"),
    ("needed (type, operation) pairs offered", "pairs_offered", "{:.1%}"),
    ("needed (type, operation) pairs spec'd for that operation", "pairs_specd", "{:.1%}"),
    ("specs per first message (mean)", "specs_per_prompt", "{:.1f}"),
    ("candidates listed per first message (mean)", "candidates_per_prompt", "{:.1f}"),
    ("first-message tokens (quota estimate): median", "tokens_median", "{:,.0f}"),
    ("first-message tokens (quota estimate): max", "tokens_max", "{:,.0f}"),
    ("first-message tokens (chars/4): median", "chars4_median", "{:,.0f}"),
    ("retrieval + prompt, warm (s): median", "prompt_s_median", "{:.3f}"),
    ("retrieval + prompt, warm (s): max", "prompt_s_max", "{:.3f}"),
    ("one `clixen prompt --json` process (s), median of 3", "cli_s", "{:.2f}"),
)


def select(request_set: dict[str, Any], half: str) -> dict[str, Any]:
    items = request_set["requests"]
    if half == "tuning":
        items = items[0::2]
    elif half == "heldout":
        items = items[1::2]
    return {"requests": items}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", choices=("new", "old", "templates"), default="new")
    ap.add_argument(
        "--every", type=int, default=20, help="with --set templates: every N-th template"
    )
    ap.add_argument("--half", choices=("tuning", "heldout", "all"), default="all")
    ap.add_argument("--misses", action="store_true", help="list misses (tuning half only)")
    ap.add_argument("--compare-rev", metavar="REV", help="also measure this git revision's tree")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.misses and (args.set != "new" or args.half != "tuning"):
        raise SystemExit("--misses lists the new set's tuning half only: add --half tuning")
    if args.set == "templates":
        # A template's name as the request, its node types as the needs (types only).
        source = json.loads(template_requests(args.every))
    else:
        source = json.loads((NEW_SET if args.set == "new" else OLD_SET).read_text())
    request_set = json.dumps(select(source, args.half) if args.set == "new" else source)
    probe = source["requests"][0]["request"]
    results: dict[str, list[dict[str, Any]]] = {}
    cli: dict[str, float] = {}
    if args.compare_rev:
        with worktree(args.compare_rev) as old:
            results[args.compare_rev] = measure(old, request_set)
            cli[args.compare_rev] = cli_seconds(old, probe)
    results["working tree"] = measure(REPO, request_set)
    cli["working tree"] = cli_seconds(REPO, probe)
    summaries = {name: {**summarize(rows), "cli_s": cli[name]} for name, rows in results.items()}
    if args.json:
        print(json.dumps(summaries, indent=2))
        return
    first = next(iter(summaries.values()))
    print(
        f"{first['requests']} requests, {first['needs']} type needs, {first['ops']} operation "
        f"needs ({args.set} set, {args.half})\n"
    )
    print("| measure | " + " | ".join(summaries) + " |")
    print("| --- |" + " ---: |" * len(summaries))
    for label, key, fmt in ROWS:
        cells = ("n/a" if s[key] is None else fmt.format(s[key]) for s in summaries.values())
        print(f"| {label} | " + " | ".join(cells) + " |")
    if args.misses:
        for name, rows in results.items():
            print(f"\nmisses, {name}:")
            print("\n".join(misses(rows)) or "- none")


if __name__ == "__main__":
    main()
