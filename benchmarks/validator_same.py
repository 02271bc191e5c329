"""Does the validator still say what an older tree's said? Every real template (n8n-mcp's
database, as in `validator_bench.py`), each without a policy and under one that denies a node
type and knows one project workflow, validated by this tree and by REV's, report for report.

    .venv/bin/python benchmarks/validator_same.py --compare-rev 412780f

Prints how many templates and issues were compared and the first templates whose reports differ
(exit status 1 when any does). For a refactoring of the validator: same input, same findings, in
the same order.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from request_trace import REPO, worktree

DUMP = """
import json, sys
from pathlib import Path
from core.catalog import default_catalog
from core.validation import validate
from core.workspace.policy import NodePolicy
from tests.core.test_validation_templates import real_templates

stack = Path(sys.argv[1])
catalog = default_catalog()
policy = NodePolicy.from_json({"deny": ["n8n-nodes-base.executeCommand"]}, workflows={"w1": "One"})
out = []
for tid, wf in real_templates(stack):
    for p in (None, policy):
        out.append([tid, [i.to_dict() for i in validate(wf, catalog=catalog, policy=p).issues]])
json.dump(out, sys.stdout)
"""


def reports(root: Path, stack: Path) -> list[list[object]]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-c", DUMP, str(stack)],
        cwd=root, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode:
        raise SystemExit(f"validation failed on {root}:\n{done.stderr[-3000:]}")
    result: list[list[object]] = json.loads(done.stdout)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compare-rev", metavar="REV", required=True)
    args = ap.parse_args()
    # n8n-mcp's templates, wherever .stack's npm install really lives (it may be a link).
    stack = (REPO / ".stack" / "npm").resolve()
    with worktree(args.compare_rev) as old:
        before, after = reports(old, stack), reports(REPO, stack)
    differ = [b[0] for b, a in zip(before, after, strict=True) if b != a]
    issues = sum(len(r[1]) for r in before if isinstance(r[1], list))
    print(f"{len(before) // 2} templates x 2 policies, {issues} issues on {args.compare_rev}")
    print(f"reports that differ: {len(differ)}" + (f" (templates {differ[:10]})" if differ else ""))
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
