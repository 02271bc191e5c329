"""At which rank does `search_nodes` find each node type a request needs? (issue 29, item 3)

    .venv/bin/python benchmarks/search_rank.py --half tuning [--misses]
    .venv/bin/python benchmarks/search_rank.py --half heldout      # misses never listed

On the frozen set of issue 19 (benchmarks/generalization_requests.json; even indexes tuning,
odd held-out), each need (a set of alternative types) is searched two ways, exactly as the
tool ranks (the default policy's denied types and hidden types left out):

- the whole request, as the user wrote it;
- plain words: the needed type's display name in lower case ("google sheets", "hacker news") —
  what a model types into search_nodes.

Reported: the share found in the tool's 8 results, the share found in the first 30, and the
median rank of those found (the best-ranked alternative counts).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SET = Path(__file__).resolve().parent / "generalization_requests.json"
DEPTH = 30
PREFIXES = ("n8n-nodes-base.", "@n8n/n8n-nodes-langchain.")


def ranked(query: str) -> list[str]:
    from core.catalog import default_catalog
    from core.generation.node_hints import offerable
    from core.workspace.policy import DEFAULT_DENYLIST

    catalog = default_catalog()
    out = []
    for spec, _ in catalog.search_scored(query, 4 * DEPTH):
        if spec.type in DEFAULT_DENYLIST or not offerable(spec, catalog):
            continue
        out.append(spec.type)
    return out[:DEPTH]


def full(short: str) -> str:
    from core.catalog import default_catalog

    catalog = default_catalog()
    for p in ("", *PREFIXES):
        if p + short in catalog:
            return p + short
    raise SystemExit(f"unknown type {short}")


def rank_of(alternatives: list[str], found: list[str]) -> int | None:
    ranks = [found.index(t) + 1 for t in alternatives if t in found]
    return min(ranks) if ranks else None


def measure(items: list[dict[str, Any]], *, misses: bool) -> dict[str, Any]:
    from core.catalog import default_catalog
    from core.generation.node_lookup.tools import SEARCH_RESULTS

    catalog = default_catalog()
    out: dict[str, Any] = {}
    missed: list[str] = []
    for kind in ("request", "plain words"):
        ranks: list[int | None] = []
        for item in items:
            request_hits = ranked(item["request"]) if kind == "request" else []
            for need in item["needs"]:
                alts = [full(t) for t in need]
                if kind == "request":
                    r = rank_of(alts, request_hits)
                else:
                    r = min(
                        (
                            x
                            for x in (
                                rank_of([t], ranked(catalog.nodes[t].display_name.lower()))
                                for t in alts
                            )
                            if x is not None
                        ),
                        default=None,
                    )
                ranks.append(r)
                if misses and (r is None or r > SEARCH_RESULTS):
                    missed.append(f"{kind}: {item['request'][:60]} -> {'/'.join(need)} rank {r}")
        found = [r for r in ranks if r is not None]
        out[kind] = {
            "needs": len(ranks),
            f"found in the tool's {SEARCH_RESULTS}": _pct(
                sum(r <= SEARCH_RESULTS for r in found), len(ranks)
            ),
            f"found in {DEPTH}": _pct(len(found), len(ranks)),
            "median rank (found)": statistics.median(found) if found else None,
        }
    if misses:
        out["misses"] = missed
    return out


def _pct(part: int, whole: int) -> str:
    return f"{part}/{whole} = {100 * part / max(whole, 1):.1f} %"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--half", choices=("tuning", "heldout", "all"), default="tuning")
    ap.add_argument("--misses", action="store_true", help="list misses (tuning half only)")
    args = ap.parse_args()
    if args.misses and args.half != "tuning":
        print("misses are listed for the tuning half only", file=sys.stderr)
        return 2
    items = json.loads(SET.read_text())["requests"]
    items = {"tuning": items[0::2], "heldout": items[1::2], "all": items}[args.half]
    print(json.dumps(measure(items, misses=args.misses), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
