"""Our validator vs n8n-mcp's validate_workflow on real templates and defective copies.

    .venv/bin/python benchmarks/validator_bench.py [--limit N] [--seed S] [--out FILE] [--no-mcp]

Originals are the real n8n.io templates shipped in n8n-mcp's nodes.db (emptied ones dropped, see
core/generation/templates.py); each original also yields one mutant per defect class in
benchmarks/mutants.py. Both validators see exactly the same workflows in one run. Printed per
class: share of mutants each catches; on originals: false alarms of each (with the most common
reasons); time per workflow (median, p95) and the speed ratio; and how candidate rules for
combining the two verdicts score.

Targets (see benchmarks/README.md): ≥ 95 % caught for every class n8n itself rejects (at create,
activation or run time), ≤ 2 % false alarms on published templates, ours ≥ 20× faster.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.mutants import MUTATORS, WHEN_N8N_FAILS  # noqa: E402
from core.catalog import default_catalog  # noqa: E402
from core.generation.templates import TemplateLibrary  # noqa: E402
from core.kernel.settings import Settings  # noqa: E402
from core.validation import ValidationReport, validate  # noqa: E402
from core.validation.mcp import McpUnavailable, McpValidator, McpVerdict, combine  # noqa: E402

ORIGINAL = "original"
TRUTH_CACHE = REPO / "benchmarks" / "results" / "n8n_truth.json"


def n8n_truth(templates: list[Any]) -> dict[int, str]:
    """What the real n8n does with each original: "ok", "credentials" or "rejected: <reason>".

    Each template is created, activated and deactivated on the local n8n (.stack/n8n.env), then
    deleted. "credentials" means activation failed only for missing credentials, which the product
    attaches at deploy time: the workflow itself is fine. Answers are cached in TRUTH_CACHE.
    """
    from concurrent.futures import ThreadPoolExecutor

    from core.n8n.client import N8nClient
    from core.n8n.errors import N8nError

    cache: dict[str, str] = json.loads(TRUTH_CACHE.read_text()) if TRUTH_CACHE.exists() else {}
    todo = [t for t in templates if str(t.id) not in cache]
    created: list[str] = []
    with N8nClient.from_settings(Settings()) as client:
        for t in todo:
            body = dict(t.workflow, name=f"clixen-bench {t.id}")
            try:
                wid = str(client.create_workflow(body)["id"])
            except N8nError as e:
                cache[str(t.id)] = f"rejected at create: {e}"
                continue
            created.append(wid)
            try:
                client.activate(wid)
                cache[str(t.id)] = "ok"
                client.deactivate(wid)
            except N8nError as e:
                cache[str(t.id)] = f"rejected at activation: {e}"
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(client.delete_workflow, created))
    TRUTH_CACHE.parent.mkdir(parents=True, exist_ok=True)
    TRUTH_CACHE.write_text(json.dumps(cache, indent=1))
    return {t.id: classify(cache[str(t.id)]) for t in templates}


_CREDENTIAL_PROBLEMS = ("- Missing required credential", "- Credential not configured")


def classify(outcome: str) -> str:
    """ "credentials" when n8n refused activation only over credentials, else `outcome`.

    n8n cuts long messages, so a cut last line that starts like a credential problem counts as one.
    """
    if not outcome.startswith("rejected at activation") or "configuration issues" not in outcome:
        return outcome
    problems = [ln.strip() for ln in outcome.splitlines() if ln.strip().startswith("-")]
    last = len(problems) - 1
    only_credentials = bool(problems) and all(
        p.startswith(_CREDENTIAL_PROBLEMS)
        or (i == last and any(c.startswith(p) for c in _CREDENTIAL_PROBLEMS))
        for i, p in enumerate(problems)
    )
    return "credentials" if only_credentials else outcome


def mcp_reason(message: str) -> str:
    """An n8n-mcp message with names and numbers blanked, to group similar findings."""
    text = re.sub(r'"[^"]*"', '"…"', message)
    text = re.sub(r"'[^']*'", "'…'", text)
    text = re.sub(r"\d+(\.\d+)?", "N", text)
    return text[:90]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_ours(wf: dict[str, Any], catalog: Any) -> tuple[ValidationReport | None, float, str]:
    started = time.perf_counter()
    try:
        report = validate(wf, catalog=catalog)
        crash = ""
    except Exception as e:  # a crash is a finding for the validator's author, not a stop
        report, crash = None, f"{type(e).__name__}: {e}"
    return report, (time.perf_counter() - started) * 1000, crash


def run_mcp(wf: dict[str, Any], mcp: McpValidator | None) -> tuple[McpVerdict | None, float, str]:
    if mcp is None:
        return None, 0.0, ""
    started = time.perf_counter()
    try:
        verdict, failure = mcp.validate(wf), ""
    except McpUnavailable as e:
        verdict, failure = None, str(e)
    return verdict, (time.perf_counter() - started) * 1000, failure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=300, help="originals to sample (0 = all)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, help="write every verdict as JSON here")
    parser.add_argument("--no-mcp", action="store_true", help="run our validator only")
    parser.add_argument(
        "--n8n", action="store_true", help="ask the real n8n which originals it accepts"
    )
    parser.add_argument("--classes", help="comma-separated defect classes (default: all)")
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    catalog = default_catalog()
    library = TemplateLibrary.load()
    originals = list(library.templates)
    if args.limit and args.limit < len(originals):
        originals = rng.sample(originals, args.limit)
    classes = args.classes.split(",") if args.classes else list(MUTATORS)

    truth = n8n_truth(originals) if args.n8n else {}
    mcp = None if args.no_mcp else McpValidator.from_settings(Settings(), timeout_s=60)
    if mcp is None and not args.no_mcp:
        print("N8N_MCP_COMMAND is not set (.stack/n8n.env); use --no-mcp", file=sys.stderr)
        return 2
    if mcp is not None:
        mcp.start()
        mcp.validate(originals[0].workflow)  # warm up: first calls load n8n-mcp's database

    records: list[dict[str, Any]] = []
    started = time.perf_counter()
    try:
        for i, template in enumerate(originals, 1):
            cases: list[tuple[str, dict[str, Any]]] = [(ORIGINAL, template.workflow)]
            for cls in classes:
                mutant = MUTATORS[cls](template.workflow, rng, catalog)
                if mutant is not None:
                    cases.append((cls, mutant))
            for cls, wf in cases:
                ours, ours_ms, crash = run_ours(wf, catalog)
                verdict, mcp_ms, failure = run_mcp(wf, mcp)
                both = combine(ours, verdict) if ours is not None else None
                records.append(
                    {
                        "template_id": template.id,
                        "template": template.name,
                        "class": cls,
                        "n8n": truth.get(template.id) if cls == ORIGINAL else None,
                        "ours_valid": None if ours is None else ours.valid,
                        "ours_errors": []
                        if ours is None
                        else [
                            {"code": e.code, "node": e.node, "message": e.message}
                            for e in ours.errors
                        ],
                        "ours_crash": crash,
                        "ours_ms": ours_ms,
                        "mcp_valid": None if verdict is None else verdict.valid,
                        "mcp_errors": []
                        if verdict is None
                        else [{"node": e.node, "message": e.message} for e in verdict.errors],
                        "mcp_failure": failure,
                        "mcp_ms": mcp_ms,
                        "combined_valid": None if both is None else both.valid,
                    }
                )
            if i % 50 == 0:
                print(
                    f"  {i}/{len(originals)} originals, {time.perf_counter() - started:.0f} s",
                    file=sys.stderr,
                )
    finally:
        if mcp is not None:
            mcp.close()

    summary = summarise(records, has_mcp=mcp is not None)
    print_summary(summary, has_mcp=mcp is not None)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"summary": summary, "records": records}, indent=1))
        print(f"\nwrote {args.out}")
    return 0


def _caught(valid: bool | None) -> bool:
    return valid is False


def summarise(records: list[dict[str, Any]], *, has_mcp: bool) -> dict[str, Any]:
    by_class: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_class[r["class"]].append(r)
    originals = by_class.get(ORIGINAL, [])

    per_class = {}
    for cls in MUTATORS:
        rows = by_class.get(cls, [])
        if not rows:
            continue
        missed = [r for r in rows if not _caught(r["ours_valid"])]
        per_class[cls] = {
            "n": len(rows),
            "n8n_fails_at": WHEN_N8N_FAILS[cls],
            "ours": sum(_caught(r["ours_valid"]) for r in rows) / len(rows),
            "mcp": sum(_caught(r["mcp_valid"]) for r in rows) / len(rows) if has_mcp else None,
            "combined": sum(_caught(r["combined_valid"]) for r in rows) / len(rows),
            "either": sum(_caught(r["ours_valid"]) or _caught(r["mcp_valid"]) for r in rows)
            / len(rows),
            "ours_missed_examples": [
                {"template_id": r["template_id"], "template": r["template"]} for r in missed[:3]
            ],
        }

    accepted = [r for r in originals if r.get("n8n") in ("ok", "credentials")]
    rejected = [r for r in originals if (r.get("n8n") or "").startswith("rejected")]
    ours_ms = [r["ours_ms"] for r in records]
    mcp_ms = [r["mcp_ms"] for r in records if r["mcp_valid"] is not None]
    timing = {
        "ours_median_ms": statistics.median(ours_ms) if ours_ms else None,
        "ours_p95_ms": percentile(ours_ms, 0.95),
        "mcp_median_ms": statistics.median(mcp_ms) if mcp_ms else None,
        "mcp_p95_ms": percentile(mcp_ms, 0.95),
    }
    if mcp_ms and ours_ms and timing["ours_median_ms"]:
        timing["median_ratio"] = timing["mcp_median_ms"] / timing["ours_median_ms"]
        timing["p95_ratio"] = timing["mcp_p95_ms"] / timing["ours_p95_ms"]

    return {
        "originals": len(originals),
        "mutants": len(records) - len(originals),
        "per_class": per_class,
        "flagged_originals": alarm_stats(originals, has_mcp=has_mcp),
        "n8n_accepts": alarm_stats(accepted, has_mcp=has_mcp) if accepted else None,
        "n8n_rejects": alarm_stats(rejected, has_mcp=has_mcp) if rejected else None,
        "n8n_rejects_only_mcp_caught": [
            {
                "template_id": r["template_id"],
                "n8n": r["n8n"][:200],
                "mcp": [e["message"][:150] for e in r["mcp_errors"]][:3],
            }
            for r in rejected
            if r["ours_valid"] and r["mcp_valid"] is False
        ],
        "n8n_rejects_ours_missed": [
            {"template_id": r["template_id"], "n8n": r["n8n"][:300]}
            for r in rejected
            if r["ours_valid"]
        ],
        "ours_crashes": [
            {"template_id": r["template_id"], "class": r["class"], "crash": r["ours_crash"]}
            for r in records
            if r["ours_crash"]
        ][:20],
        "mcp_failures": sum(1 for r in records if r["mcp_failure"]),
        "timing": timing,
    }


def alarm_stats(rows: list[dict[str, Any]], *, has_mcp: bool) -> dict[str, Any]:
    """How many of `rows` (originals) each validator flags, and why."""
    n = max(1, len(rows))
    codes: Counter[str] = Counter()
    examples: dict[str, list[str]] = defaultdict(list)
    reasons: Counter[str] = Counter()
    for r in rows:
        for code in {e["code"] for e in r["ours_errors"]}:
            codes[code] += 1
            if len(examples[code]) < 3:
                first = next(e for e in r["ours_errors"] if e["code"] == code)
                examples[code].append(f"#{r['template_id']}: {first['message']}")
        for reason in {mcp_reason(e["message"]) for e in r["mcp_errors"]}:
            reasons[reason] += 1
    return {
        "n": len(rows),
        "ours": sum(_caught(r["ours_valid"]) for r in rows) / n,
        "mcp": sum(_caught(r["mcp_valid"]) for r in rows) / n if has_mcp else None,
        "combined": sum(_caught(r["combined_valid"]) for r in rows) / n,
        "either": sum(_caught(r["ours_valid"]) or _caught(r["mcp_valid"]) for r in rows) / n,
        "ours_by_code": dict(codes.most_common()),
        "ours_examples": dict(examples),
        "mcp_by_reason": dict(reasons.most_common(12)),
    }


def _print_alarms(title: str, fa: dict[str, Any] | None, *, has_mcp: bool) -> None:
    if fa is None:
        return
    print(
        f"\n{title} ({fa['n']}): flagged by ours {_pct(fa['ours'])}, n8n-mcp {_pct(fa['mcp'])}, "
        f"combined {_pct(fa['combined'])}, either {_pct(fa['either'])}"
    )
    if fa["ours_by_code"]:
        print("  ours, by code (templates):", fa["ours_by_code"])
        for code, examples in fa["ours_examples"].items():
            for ex in examples:
                print(f"    {code}: {ex[:150]}")
    if has_mcp and fa["mcp_by_reason"]:
        print("  n8n-mcp, most common reasons (templates):")
        for reason, n in fa["mcp_by_reason"].items():
            print(f"    {n:4d}  {reason}")


def _pct(x: float | None) -> str:
    return "   -  " if x is None else f"{100 * x:5.1f}%"


def print_summary(s: dict[str, Any], *, has_mcp: bool) -> None:
    print(f"\n{s['originals']} original templates, {s['mutants']} mutants\n")
    print(
        f"{'class':28} {'n':>5} {'n8n fails':>10} {'ours':>7} {'n8n-mcp':>7} {'combined':>8}"
        f" {'either':>7}  target"
    )
    for cls, c in s["per_class"].items():
        target = "-" if c["n8n_fails_at"] == "silent" else ("ok" if c["ours"] >= 0.95 else "MISSED")
        print(
            f"{cls:28} {c['n']:5d} {c['n8n_fails_at']:>10} {_pct(c['ours']):>7} "
            f"{_pct(c['mcp']):>7} {_pct(c['combined']):>8} {_pct(c['either']):>7}  {target}"
        )
    _print_alarms("all originals", s["flagged_originals"], has_mcp=has_mcp)
    _print_alarms(
        "originals n8n creates and activates (FALSE ALARMS, target ≤ 2 %)",
        s["n8n_accepts"],
        has_mcp=has_mcp,
    )
    _print_alarms("originals n8n rejects (should be flagged)", s["n8n_rejects"], has_mcp=has_mcp)
    for r in s["n8n_rejects_ours_missed"][:8]:
        print(f"  ours missed #{r['template_id']}: {r['n8n'][:200]!r}")
    for r in s["n8n_rejects_only_mcp_caught"][:5]:
        print(f"  only n8n-mcp caught #{r['template_id']}: {r['mcp']}")
    t = s["timing"]
    print(
        f"\ntime per workflow: ours median {t['ours_median_ms']:.2f} ms, p95 {t['ours_p95_ms']:.2f}"
        " ms"
    )
    if has_mcp and t.get("mcp_median_ms") is not None:
        print(
            f"                   n8n-mcp median {t['mcp_median_ms']:.2f} ms, p95 "
            f"{t['mcp_p95_ms']:.2f} ms; ratio median {t['median_ratio']:.0f}×, p95 "
            f"{t['p95_ratio']:.0f}×  (target ≥ 20×)"
        )
    if s["ours_crashes"]:
        print("\nour validator crashed on:")
        for c in s["ours_crashes"]:
            print(f"  #{c['template_id']} {c['class']}: {c['crash'][:150]}")
    if s["mcp_failures"]:
        print(f"\nn8n-mcp failed to answer {s['mcp_failures']} times")


if __name__ == "__main__":
    raise SystemExit(main())
