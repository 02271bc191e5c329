"""Workflow pictures of every shipped n8n.io template: time to lay out and render, picture sizes,
and the share within the width bound (`core.graph.MAX_WIDTH`, 1,600 px).

    .venv/bin/python benchmarks/graph_render.py [--limit 0] [--layout auto|dot|simple] \
        [--save-worst DIR] [--out benchmarks/results/graph_render.json]
    .venv/bin/python benchmarks/graph_render.py --bounds [--layout auto|dot|simple]

`--bounds` times hostile input instead (`bounds()` below, issue 20; each must stay within 1 s):
a node named with 20,000 characters without a space (also the title and a failure message),
a 100-node workflow, and a connection into input 100,000.

Material: the 1,762 templates of n8n-mcp 2.87.0's `data/nodes.db` that keep their parameters
(`core.generation.templates.default_library()`; `scripts/n8n_stack.sh install` provides the file).
Each one is laid out and rendered to PNG bytes once, timed end to end (`dot` subprocess included)
after one warm-up render; sticky notes are not counted as nodes. `--save-worst DIR` writes the
pictures of the widest, tallest and slowest templates for a look.

Measured 2026-11-26 (Graphviz 2.43.0, 2 cores shared with other test runs, load average 4.6-5.7):

    .venv/bin/python benchmarks/graph_render.py --out benchmarks/results/graph_render.json

    1762 templates, layout dot
    time per picture: median 56.5 ms, p95 145.8 ms, max 653 ms
      of which layout (dot included): median 25.6 ms, p95 55.2 ms; PNG: median 29.5 ms, p95 100.4 ms
    within 1600 px wide: 1762/1762 (100.0 %)
    width: median 1466 px, max 1593 px
    height: median 487 px, p95 1459 px, max 6160 px
    folded into bands: 1189 (67.5 %); overview (> 40 nodes): 71
    PNG size: median 15 KiB

`--layout simple` (no Graphviz): median 19.3 ms, p95 65.9 ms, 100.0 % within the bound. The
previous renderer (bot/graph.py, one strip of columns) on the same templates: 43.5 % within
1,600 px, median width 1,798 px, max 12,978 px, median 59.5 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from common import pct

from core.generation.templates import default_library
from core.graph import (
    MAX_WIDTH,
    OVERVIEW_NODES,
    Marks,
    NodeMark,
    dot_available,
    layout_workflow,
    render_png,
)
from tests.core.graph.samples import chain, connect, node


def hostile_workflows() -> dict[str, tuple[dict[str, Any], Marks | None]]:
    """name → (workflow, marks): the inputs `--bounds` times."""
    long = "x" * 20_000
    named = chain(["Start", long, "End"])
    named["name"] = long
    failed = Marks(nodes={long: NodeMark.failed}, messages={long: "y" * 20_000}, caption=long)
    hundred = chain(["Start"] + [f"Step {i} of the long hundred-node chain" for i in range(99)])
    for i in range(0, 99, 10):  # some branches, as real workflows have
        hundred["nodes"].append(node(f"Branch {i}", "if"))
        connect(hundred["connections"], f"Step {i} of the long hundred-node chain", f"Branch {i}")
    hundred["nodes"] = hundred["nodes"][:100]
    ports = chain(["Start", "Target"])
    ports["connections"]["Start"]["main"][0][0]["index"] = 100_000
    return {
        "20,000-character name": (named, failed),
        "100 nodes": (hundred, None),
        "input index 100,000": (ports, None),
    }


def bounds(engine: str) -> int:
    """Time layout + PNG of each hostile workflow (after a warm-up); 1 when one takes > 1 s."""
    render_png(layout_workflow(chain(["a", "b"]), engine=engine))
    slow = 0
    for label, (workflow, marks) in hostile_workflows().items():
        start = time.perf_counter()
        layout = layout_workflow(workflow, marks=marks, engine=engine)
        png = render_png(layout)
        seconds = time.perf_counter() - start
        slow += seconds > 1.0
        print(
            f"{label}: {seconds * 1000:.0f} ms ({len(layout.nodes)} nodes, "
            f"{layout.width}×{layout.height} px, {len(png) / 1024:.0f} KiB, layout {layout.engine})"
        )
    return 1 if slow else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=0, help="templates to render (0: all)")
    ap.add_argument("--layout", choices=("auto", "dot", "simple"), default="auto")
    ap.add_argument("--save-worst", type=Path, default=None, metavar="DIR")
    ap.add_argument("--out", type=Path, default=None, help="write per-template rows as JSON")
    ap.add_argument("--bounds", action="store_true", help="time hostile input instead")
    args = ap.parse_args()
    if args.bounds:
        return bounds(args.layout if args.layout != "auto" or dot_available() else "simple")

    templates = default_library().templates
    if args.limit:
        templates = templates[: args.limit]
    engine = args.layout
    if engine != "simple" and not dot_available():
        print("Graphviz `dot` is not installed: measuring the simple layout", file=sys.stderr)
        engine = "simple"
    render_png(layout_workflow(templates[0].workflow, engine=engine))  # warm-up: fonts, imports

    rows = []
    for t in templates:
        start = time.perf_counter()
        layout = layout_workflow(t.workflow, engine=engine)
        laid_out = time.perf_counter()
        png = render_png(layout)
        done = time.perf_counter()
        rows.append(
            {
                "id": t.id,
                "name": t.name,
                "nodes": len(layout.nodes),
                "ms": (done - start) * 1000,
                "layout_ms": (laid_out - start) * 1000,
                "render_ms": (done - laid_out) * 1000,
                "width": layout.width,
                "height": layout.height,
                "bands": layout.bands,
                "engine": layout.engine,
                "overview": layout.overview,
                "png_kb": len(png) / 1024,
            }
        )

    ms = [r["ms"] for r in rows]
    layout_ms = [r["layout_ms"] for r in rows]
    render_ms = [r["render_ms"] for r in rows]
    within = sum(r["width"] <= MAX_WIDTH for r in rows)
    folded = sum(r["bands"] > 1 for r in rows)
    overview = sum(r["overview"] for r in rows)
    engines = sorted({r["engine"] for r in rows})
    print(f"{len(rows)} templates, layout {'/'.join(engines)}")
    median, p95 = statistics.median(ms), pct(ms, 0.95)
    print(f"time per picture: median {median:.1f} ms, p95 {p95:.1f} ms, max {max(ms):.0f} ms")
    print(
        f"  of which layout (dot included): median {statistics.median(layout_ms):.1f} ms, "
        f"p95 {pct(layout_ms, 0.95):.1f} ms; PNG: median {statistics.median(render_ms):.1f} ms, "
        f"p95 {pct(render_ms, 0.95):.1f} ms"
    )
    print(f"within {MAX_WIDTH} px wide: {within}/{len(rows)} ({100 * within / len(rows):.1f} %)")
    widths = [r["width"] for r in rows]
    heights = [r["height"] for r in rows]
    print(f"width: median {statistics.median(widths):.0f} px, max {max(widths)} px")
    print(
        f"height: median {statistics.median(heights):.0f} px, "
        f"p95 {pct(heights, 0.95):.0f} px, max {max(heights)} px"
    )
    print(
        f"folded into bands: {folded} ({100 * folded / len(rows):.1f} %); "
        f"overview (> {OVERVIEW_NODES} nodes): {overview}"
    )
    print(f"PNG size: median {statistics.median(r['png_kb'] for r in rows):.0f} KiB")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=1))
    if args.save_worst:
        args.save_worst.mkdir(parents=True, exist_ok=True)
        by_id = {t.id: t for t in templates}
        picks = {
            "widest": max(rows, key=lambda r: r["width"]),
            "tallest": max(rows, key=lambda r: r["height"]),
            "slowest": max(rows, key=lambda r: r["ms"]),
        }
        for label, r in picks.items():
            path = args.save_worst / f"{label}-{r['id']}.png"
            path.write_bytes(render_png(layout_workflow(by_id[r["id"]].workflow, engine=engine)))
            print(f"{label}: {r['name']!r} ({r['nodes']} nodes) → {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
