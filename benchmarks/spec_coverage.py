"""Do the specs the model gets name what real workflows set? (issue 29, item 2)

    .venv/bin/python benchmarks/spec_coverage.py --half tuning [--misses]   # misses readable
    .venv/bin/python benchmarks/spec_coverage.py --half heldout             # misses never listed
    .venv/bin/python benchmarks/spec_coverage.py --half all --validator     # false alarms
    .venv/bin/python benchmarks/spec_coverage.py --freeze --sample 400      # once: pick the set

Material: real n8n.io templates from n8n-mcp's nodes.db (emptied ones dropped) that the local
n8n 2.40.7 accepts (created and activated, or refused only for missing credentials — the
product attaches credentials at deploy; `validator_bench.n8n_truth`, cached). `--freeze` drew a
seeded sample, kept the accepted ones and wrote their ids to `spec_coverage_set.json` (sorted,
alternate ids into `tuning` and `heldout`); that file is frozen and committed before any spec
change of issue 29.

Each node (sticky notes, types not in the catalog and hidden types left out) asks its spec as
the model would: `get_node_spec` with the node's type, resource and operation, through
`NodeLookup.answer` (the very text the model reads, cut included). Measured:

- set parameters named: each top-level parameter key the node sets that n8n's newest version of
  the type knows (or a tool variant's `toolDescription`/`descriptionType`), except
  resource/operation, named as a key of the spec's `parameters` or of a section listing
  parameters shown under other switch values (`when`); overall, per type, HTTP Request apart;
- credential types listed: each credential type the node uses, named in the spec outside its
  example (an HTTP Request/GraphQL credential chosen with `nodeCredentialType` counts when the
  spec names `nodeCredentialType`, which takes any of n8n's credential types);
- whole workflows nameable: every measured node has every set parameter named (and got a spec);
- first message tokens (template name as the request) and the longest spec answer (characters,
  before the tool's cut), with how many answers were cut.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

FROZEN = Path(__file__).resolve().parent / "spec_coverage_set.json"
HTTP = "n8n-nodes-base.httpRequest"
STICKY = "n8n-nodes-base.stickyNote"
TOOL_PARAMS = {"toolDescription", "descriptionType"}
# Sections of a spec answer whose keys name parameters (`when` exists from issue 29 on).
PARAM_SECTIONS = ("parameters", "when")
CUT = "…(cut)"


def freeze(sample: int, seed: int) -> None:
    from benchmarks.validator_bench import n8n_truth
    from core.generation.templates import TemplateLibrary

    library = TemplateLibrary.load()
    picked = random.Random(seed).sample(list(library.templates), sample)
    truth = n8n_truth(picked)
    accepted = sorted(t.id for t in picked if truth[t.id] in ("ok", "credentials"))
    FROZEN.write_text(
        json.dumps(
            {
                "about": "issue 29: template ids n8n 2.40.7 accepts, frozen before any change; "
                f"seeded sample of {sample} (seed {seed}), alternate ids per half",
                "tuning": accepted[0::2],
                "heldout": accepted[1::2],
            },
            indent=1,
        )
        + "\n"
    )
    print(f"{len(accepted)} of {sample} accepted -> {FROZEN}")


def named_keys(answer: str) -> tuple[set[str], str]:
    """The parameter names a spec answer shows, and its text without the example (where a
    credential type must be named)."""
    try:
        spec = json.loads(answer)
    except json.JSONDecodeError:  # cut by the tool: read the keys of what the model sees
        head = answer.split('"example_parameters"')[0]
        return set(re.findall(r'"([A-Za-z_][\w]*)":', head)), head
    names: set[str] = set()
    for section in PARAM_SECTIONS:
        value = spec.get(section)
        if isinstance(value, dict):
            names |= set(value)
            for sub in value.values():
                if section != "parameters" and isinstance(sub, dict):
                    names |= set(sub)
    spec.pop("example_parameters", None)
    return names, json.dumps(spec)


def false_alarms(ids: list[int], *, misses: bool) -> dict[str, Any]:
    """Our validator on the set's originals (all accepted by n8n): any error is a false alarm.
    `misses` names them (tuning half only)."""
    from core.catalog import default_catalog
    from core.generation.templates import default_library
    from core.validation import validate

    catalog, library = default_catalog(), default_library()
    by_id = {t.id: t for t in library.templates}
    flagged: dict[int, list[str]] = {}
    for tid in ids:
        report = validate(by_id[tid].workflow, catalog=catalog)
        if report.errors:
            flagged[tid] = [f"{i.code}: {i.message[:120]}" for i in report.errors]
    out: dict[str, Any] = {"validator false alarms": _share(len(flagged), len(ids))}
    if misses:
        out["flagged"] = flagged
    return out


def measure(ids: list[int], *, misses: bool) -> dict[str, Any]:
    from core.catalog import default_catalog
    from core.generation.node_hints import offerable
    from core.generation.node_lookup.params import default_params
    from core.generation.node_lookup.tools import MAX_ANSWER_CHARS, NodeLookup
    from core.generation.retrieval import first_message
    from core.generation.templates import default_library

    catalog, library = default_catalog(), default_library()
    by_id = {t.id: t for t in library.templates}
    lookup = NodeLookup(catalog, templates=library)
    params = default_params()
    per_type: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    missed: Counter[str] = Counter()
    missed_creds: Counter[str] = Counter()
    creds = [0, 0]
    nodes = refused = cut = 0
    longest = 0
    whole = 0
    tokens: list[int] = []
    cache: dict[tuple[str, Any, Any], str] = {}
    for tid in ids:
        wf = by_id[tid].workflow
        ok = True
        for node in wf.get("nodes") or []:
            ntype = node.get("type")
            if ntype == STICKY or ntype not in catalog:
                continue
            if not offerable(catalog.nodes[ntype], catalog):
                continue
            p = node.get("parameters") or {}
            res, op = p.get("resource"), p.get("operation")
            key = (
                ntype,
                res if isinstance(res, str) else None,
                op if isinstance(op, str) else None,
            )
            if key not in cache:
                args = {"type": ntype, "resource": key[1], "operation": key[2]}
                cache[key] = lookup.answer("get_node_spec", json.dumps(args))
                longest = max(
                    longest,
                    len(cache[key]) - (len("…(cut)") if cache[key].endswith("…(cut)") else 0),
                )
                cut += cache[key].endswith("…(cut)")
            answer = cache[key]
            nodes += 1
            if answer.startswith('{"error"'):
                refused += 1
                ok = False
                continue
            names, cred_text = named_keys(answer)
            base = params.get(ntype) or params.get(ntype.removesuffix("Tool")) or {"p": []}
            known = {q["n"] for q in base["p"]} | (TOOL_PARAMS if ntype.endswith("Tool") else set())
            for name in p:
                if name in ("resource", "operation") or name not in known:
                    continue
                hit = name in names
                per_type[ntype][0] += hit
                per_type[ntype][1] += 1
                if not hit:
                    ok = False
                    missed[f"{ntype} {key[1]}/{key[2]}: {name}"] += 1
            for cred in node.get("credentials") or {}:
                listed = re.search(rf"\b{re.escape(cred)}\b", cred_text) is not None
                if not listed and p.get("authentication") == "predefinedCredentialType":
                    listed = "nodeCredentialType" in names
                creds[0] += listed
                creds[1] += 1
                if not listed:
                    missed_creds[f"{ntype}: {cred}"] += 1
        whole += ok
        fm = first_message(text=by_id[tid].name, catalog=catalog, templates=library)
        tokens.append(fm.tokens)
    named = sum(v[0] for v in per_type.values())
    total = sum(v[1] for v in per_type.values())
    http = per_type.get(HTTP, [0, 0])
    out: dict[str, Any] = {
        "workflows": len(ids),
        "nodes": nodes,
        "set parameters named": _share(named, total),
        "HTTP Request parameters named": _share(http[0], http[1]),
        "credential types listed": _share(creds[0], creds[1]),
        "workflows wholly nameable": _share(whole, len(ids)),
        "specs refused (operation unknown in the newest version)": refused,
        "first-message tokens median / max": f"{statistics.median(tokens):,.0f} / {max(tokens):,}",
        "longest spec answer (characters)": longest,
        f"answers cut at {MAX_ANSWER_CHARS:,}": cut,
        "per type (named/set, the 15 most set)": {
            t: f"{v[0]}/{v[1]}" for t, v in sorted(per_type.items(), key=lambda kv: -kv[1][1])[:15]
        },
    }
    if misses:
        out["missed parameters"] = dict(missed.most_common(60))
        out["missed credential types"] = dict(missed_creds.most_common(30))
    return out


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} = {100 * part / max(whole, 1):.1f} %"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--half", choices=("tuning", "heldout", "all"), default="tuning")
    ap.add_argument("--misses", action="store_true", help="list misses (tuning half only)")
    ap.add_argument("--freeze", action="store_true", help="pick and write the frozen set")
    ap.add_argument("--sample", type=int, default=400)
    ap.add_argument("--seed", type=int, default=29)
    ap.add_argument(
        "--validator", action="store_true", help="our validator's false alarms on the set instead"
    )
    args = ap.parse_args()
    if args.freeze:
        if FROZEN.exists():
            print(f"{FROZEN} is frozen; delete it by hand to draw a new set", file=sys.stderr)
            return 2
        freeze(args.sample, args.seed)
        return 0
    if args.misses and args.half != "tuning":
        print("misses are listed for the tuning half only", file=sys.stderr)
        return 2
    sets = json.loads(FROZEN.read_text())
    ids = sets["tuning"] + sets["heldout"] if args.half == "all" else sets[args.half]
    run = false_alarms if args.validator else measure
    print(json.dumps(run(ids, misses=args.misses), indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
