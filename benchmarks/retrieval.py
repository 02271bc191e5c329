"""Does the generation prompt carry the node types a correct workflow needs? (issue 11, item 8a)

    .venv/bin/python benchmarks/retrieval.py [--compare-rev 3a062ab] [--misses] [--templates 20]

For each labelled request of benchmarks/retrieval_requests.json (each need is a set of
alternatives, any one counts) it builds the prompt exactly as generation does
(`retrieve_context` + `generation_messages`) and reports:

- needed types with a node spec in the prompt (share of all needs), and requests fully covered;
- the same counting the example workflows' node types too ("in prompt");
- prompt size, median and maximum, in characters / 4 (benchmarks/prompt_size.py's count when
  tiktoken is unavailable offline) and in our quota estimate
  (`core.generation.llm.estimate_tokens`).

`--templates EVERY` measures the same at scale (item 8b): every EVERY-th shipped template's name
is the request and its node types the needs — a harder, noisier answer key (a template's author
chose among equivalent nodes; the examples are not counted there since the template itself
could be one).

`--compare-rev REV` measures REV's tree too (a temporary `git worktree` sharing this checkout's
`.stack/` template library), with the same measuring code, so before and after sit side by side.
Targets: >= 95 % of needs with a spec, prompt <= 6,000 tokens at the maximum.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from layout import LAYOUT_SHIM

REPO = Path(__file__).resolve().parent.parent
REQUESTS = Path(__file__).resolve().parent / "retrieval_requests.json"
TARGET_SHARE = 0.95
TARGET_TOKENS = 6_000

# Runs in the measured tree (its `core` first on sys.path): request set on stdin, results out.
MEASURE = """
import json, sys
from core.catalog import default_catalog
from core.generation.replies import retrieve_context
try:
    from core.generation.llm import estimate_tokens
except ImportError:  # an older tree without the quota estimate
    estimate_tokens = None
from core.generation.prompts import generation_messages
from core.generation.templates import default_library

catalog, library = default_catalog(), default_library()
prefixes = ("n8n-nodes-base.", "@n8n/n8n-nodes-langchain.")

def full(short):
    if short in catalog or short.startswith("clixen."):  # Clixen's own nodes: older trees lack them
        return short
    for p in prefixes:
        if p + short in catalog:
            return p + short
    raise SystemExit(f"unknown node type in the request set: {short}")

out = []
for item in json.load(sys.stdin)["requests"]:
    ctx = retrieve_context(text=item["request"], catalog=catalog, templates=library)
    messages = generation_messages(request=item["request"], ctx=ctx)
    specs = [s["type"] for s in ctx.node_specs]
    in_examples = sorted({n.get("type") for ex in ctx.examples for n in ex.get("nodes", [])})
    out.append({
        "request": item["request"],
        "needs": [[full(s) for s in alts] for alts in item["needs"]],
        "specs": specs,
        "example_types": in_examples,
        "chars": sum(len(m["content"]) for m in messages),
        "estimate": estimate_tokens(messages) if estimate_tokens else None,
    })
print(json.dumps(out))
"""


def template_requests(every: int) -> str:
    """Every `every`-th shipped template (at most 12 nodes) as a request: its name as the words,
    its node types as the needs (sticky notes, manual triggers and no-ops left out)."""
    sys.path.insert(0, str(REPO))
    from core.catalog import default_catalog
    from core.generation.templates import default_library

    catalog = default_catalog()
    skip = {"n8n-nodes-base." + t for t in ("stickyNote", "manualTrigger", "noOp")}
    requests = []
    for t in default_library().templates[::every]:
        needs = sorted(nt for nt in t.node_types - skip if nt in catalog)
        if t.node_count <= 12 and needs and len(needs) == len(t.node_types - skip):
            requests.append({"request": t.name, "needs": [[nt] for nt in needs]})
    return json.dumps({"requests": requests})


def measure(tree: Path, request_set: str) -> list[dict[str, Any]]:
    """Per-request results of the MEASURE script run on `tree`'s code."""
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
    result: list[dict[str, Any]] = json.loads(proc.stdout)
    return result


@contextmanager
def worktree(rev: str) -> Iterator[Path]:
    """REV checked out (detached) into a temporary directory with this checkout's `.stack/`."""
    with tempfile.TemporaryDirectory(prefix="clixen-rev-") as parent:
        path = Path(parent) / "tree"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", "--quiet", str(path), rev],
            check=True,
        )
        try:
            (path / ".stack").symlink_to(REPO / ".stack")
            yield path
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(path)], check=True
            )


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    needs = sum(len(r["needs"]) for r in rows)
    in_specs = in_prompt = full_specs = full_prompt = 0
    for r in rows:
        specs = set(r["specs"])
        prompt = specs | set(r["example_types"])
        hit_specs = sum(1 for alts in r["needs"] if specs.intersection(alts))
        hit_prompt = sum(1 for alts in r["needs"] if prompt.intersection(alts))
        in_specs += hit_specs
        in_prompt += hit_prompt
        full_specs += hit_specs == len(r["needs"])
        full_prompt += hit_prompt == len(r["needs"])
    quarter = [r["chars"] / 4 for r in rows]
    estimate = [r["estimate"] for r in rows if r["estimate"] is not None]
    return {
        "requests": len(rows),
        "needs": needs,
        "needs_with_spec": in_specs / needs,
        "requests_covered_by_specs": full_specs / len(rows),
        "needs_in_prompt": in_prompt / needs,
        "requests_covered_in_prompt": full_prompt / len(rows),
        "specs_per_prompt": statistics.mean(len(r["specs"]) for r in rows),
        "tokens_median": statistics.median(quarter),
        "tokens_max": max(quarter),
        # None on a tree without core.generation.llm.estimate_tokens.
        "estimate_median": statistics.median(estimate) if estimate else None,
        "estimate_max": max(estimate) if estimate else None,
    }


def misses(rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    for r in rows:
        specs = set(r["specs"])
        lost = [alts for alts in r["needs"] if not specs.intersection(alts)]
        if lost:
            names = " | ".join("/".join(a.rsplit(".", 1)[-1] for a in alts) for alts in lost)
            lines.append(f"- {r['request'][:80]}: no spec for {names}")
    return lines


ROWS = (
    ("needed types with a node spec", "needs_with_spec", "{:.1%}"),
    ("requests fully covered by specs", "requests_covered_by_specs", "{:.1%}"),
    ("needed types in the prompt (specs or examples)", "needs_in_prompt", "{:.1%}"),
    ("requests fully covered in the prompt", "requests_covered_in_prompt", "{:.1%}"),
    ("node specs per prompt (mean)", "specs_per_prompt", "{:.1f}"),
    ("prompt tokens, chars/4: median", "tokens_median", "{:,.0f}"),
    ("prompt tokens, chars/4: max", "tokens_max", "{:,.0f}"),
    ("quota estimate (chars/3 + framing): median", "estimate_median", "{:,.0f}"),
    ("quota estimate (chars/3 + framing): max", "estimate_max", "{:,.0f}"),
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compare-rev", metavar="REV", help="also measure this git revision's tree")
    ap.add_argument("--misses", action="store_true", help="list the needs without a spec")
    ap.add_argument("--json", action="store_true", help="the summaries as one JSON object")
    ap.add_argument(
        "--templates",
        type=int,
        metavar="EVERY",
        help="instead of the labelled set: every EVERY-th shipped template's name as the "
        "request and its node types as the needs (the same at scale, item 8b)",
    )
    args = ap.parse_args()
    request_set = template_requests(args.templates) if args.templates else REQUESTS.read_text()
    results: dict[str, list[dict[str, Any]]] = {}
    if args.compare_rev:
        with worktree(args.compare_rev) as old:
            results[args.compare_rev] = measure(old, request_set)
    results["working tree"] = measure(REPO, request_set)
    summaries = {name: summarize(rows) for name, rows in results.items()}
    if args.json:
        print(json.dumps(summaries, indent=2))
        return
    first = next(iter(summaries.values()))
    source = f"every {args.templates}th template" if args.templates else REQUESTS.name
    print(f"{first['requests']} requests, {first['needs']} needs ({source})\n")
    print("| measure | " + " | ".join(summaries) + " |")
    print("| --- |" + " ---: |" * len(summaries))
    for label, key, fmt in ROWS:
        cells = ("n/a" if s[key] is None else fmt.format(s[key]) for s in summaries.values())
        print(f"| {label} | " + " | ".join(cells) + " |")
    last = summaries["working tree"]
    met = last["needs_with_spec"] >= TARGET_SHARE and last["tokens_max"] <= TARGET_TOKENS
    print(
        f"\ntargets (>= {TARGET_SHARE:.0%} of needs with a spec, <= {TARGET_TOKENS:,} tokens at "
        f"the maximum): {'met' if met else 'NOT met'}"
    )
    if args.misses:
        for name, rows in results.items():
            print(f"\nmisses, {name}:")
            print("\n".join(misses(rows)) or "- none")


if __name__ == "__main__":
    main()
