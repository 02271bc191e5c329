"""Wall time of one cold `clixen prompt "REQUEST" --json` process (target ≤ 1 s), with the
template library's derived cache warm and with it removed, side by side (issue 19).

    .venv/bin/python benchmarks/prompt_speed.py [--runs 5] [--request "..."] [--compare-rev REV]

Each run is a fresh `.venv/bin/clixen` process, as a user runs it, with the tree under test first
on PYTHONPATH. The cache lives under `$HOME/.cache/clixen`, so each condition gets a throwaway
HOME: "warm cache" (built by an uncounted warm-up run) and "cache removed" (deleted before each
run, so that run reads nodes.db and writes the cache again). With `--compare-rev REV`, REV's tree
(exported with `git archive` into a temporary dir, sharing this checkout's `.stack`) runs too.
Runs are interleaved condition by condition, so all share the machine's load. Every output must
be the same JSON apart from the request fence's random marker, or the benchmark fails.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CLIXEN = Path(sys.executable).parent / "clixen"
REQUEST = "send a slack message when a new row is added to google sheets"
TARGET_S = 1.0
_FENCE = re.compile(rb"USER_REQUEST_[0-9a-f]+")


@dataclass
class Condition:
    name: str
    tree: Path
    home: Path
    remove_cache: bool
    times: list[float] = field(default_factory=list)
    output: bytes | None = None

    def run(self, request: str) -> None:
        if self.remove_cache:
            shutil.rmtree(self.home / ".cache", ignore_errors=True)
        env = {**os.environ, "PYTHONPATH": str(self.tree), "HOME": str(self.home)}
        start = time.perf_counter()
        proc = subprocess.run(
            [str(CLIXEN), "prompt", request, "--json"],
            capture_output=True,
            env=env,
            cwd=self.tree,
            check=True,
        )
        self.times.append(time.perf_counter() - start)
        out = _FENCE.sub(b"USER_REQUEST_X", proc.stdout)
        if self.output is not None and out != self.output:
            raise SystemExit(f"{self.name}: the prompt changed between runs")
        self.output = out


def export_tree(rev: str, into: Path) -> Path:
    """REV's tracked files under `into`, with this checkout's `.stack` (n8n-mcp's nodes.db)."""
    archive = into / "tree.tar"
    subprocess.run(["git", "archive", "-o", str(archive), rev], cwd=REPO, check=True)
    tree = into / "tree"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    (tree / ".stack").symlink_to((REPO / ".stack").resolve())
    return tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--request", default=REQUEST)
    parser.add_argument("--compare-rev", help="also time this revision's tree (e.g. HEAD~1)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="clixen-prompt-speed-") as tmp:
        root = Path(tmp)
        for home in ("warm", "cold", "rev"):
            (root / home).mkdir()
        conditions = [
            Condition("warm cache", REPO, root / "warm", remove_cache=False),
            Condition("cache removed", REPO, root / "cold", remove_cache=True),
        ]
        if args.compare_rev:
            tree = export_tree(args.compare_rev, root)
            conditions.append(Condition(args.compare_rev, tree, root / "rev", remove_cache=False))
        for c in conditions:
            c.run(args.request)  # uncounted: writes the .pyc files and the warm cache
            c.times.clear()
        for _ in range(args.runs):
            for c in conditions:
                c.run(args.request)
        outputs = {c.output for c in conditions}
        if len(outputs) != 1:
            raise SystemExit("the conditions printed different prompts")

    print(f"clixen prompt {args.request!r} --json: {args.runs} cold processes each (interleaved)")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; same JSON from all")
    print(f"{'condition':<16} {'median':>8} {'min':>8} {'max':>8}")
    for c in conditions:
        med = statistics.median(c.times)
        mark = "ok" if med <= TARGET_S else f"over {TARGET_S:.0f} s"
        print(f"{c.name:<16} {med:>7.2f}s {min(c.times):>7.2f}s {max(c.times):>7.2f}s  {mark}")


if __name__ == "__main__":
    main()
