"""Spec correctness counts (issue 19, item 6): the most-used node types in the templates × every
(resource, operation) they offer, checked against the installed n8n's own nodes.json.

    .venv/bin/python benchmarks/spec_correctness.py [--top 200] [--list]

The same checks as tests/core/test_spec_correctness.py (tests/core/spec_checks.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from core.generation.templates import default_library
from tests.core.spec_checks import check_specs, most_used_types

OLD_SPECS = """
import json, sys
from core.catalog import default_catalog
from core.generation.specs import node_spec
from core.generation.templates import default_library
catalog, library = default_catalog(), default_library()
out = []
for node_type, resource, operation in json.load(sys.stdin):
    current = {k: v for k, v in (("resource", resource), ("operation", operation)) if v}
    spec = node_spec(catalog.nodes[node_type], request="", library=library, current=current or None)
    out.append([sorted(spec.get("parameters", {})), spec.get("example_parameters")])
print(json.dumps(out))
"""


def old_counts(rev: str, checked: list[str]) -> str:
    """The same three counts for REV's node_spec (the tree checked out beside this one)."""
    import json
    import os
    import subprocess

    from layout import LAYOUT_SHIM
    from retrieval import worktree

    from tests.core.spec_checks import _ids_outside_id_fields, displayed_names

    labels = []
    for label in checked:
        node_type, pair = label.split(" ")
        resource, operation = (None if x == "None" else x for x in pair.split("/"))
        labels.append((node_type, resource, operation))
    with worktree(rev) as tree:
        proc = subprocess.run(
            [sys.executable, "-c", LAYOUT_SHIM + OLD_SPECS],
            input=json.dumps(labels),
            capture_output=True,
            text=True,
            cwd=tree,
            env={**os.environ, "PYTHONPATH": str(tree)},
            check=True,
        )
    wrong = foreign = ids = examples = 0
    for (node_type, resource, operation), (params, example) in zip(
        labels, json.loads(proc.stdout), strict=True
    ):
        wrong += set(params) != displayed_names(node_type, resource, operation)
        if example is not None:
            examples += 1
            foreign += bool(set(example) - set(params) - {"resource", "operation"})
            ids += bool(_ids_outside_id_fields(example))
    return (
        f"parameter names wrong {wrong} of {len(labels)}; example keys not spec keys "
        f"{foreign} of {examples}; <id> outside id fields {ids} of {examples}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--top", type=int, default=200)
    ap.add_argument("--list", action="store_true", help="list every failure")
    ap.add_argument(
        "--compare-rev",
        metavar="REV",
        help="also check REV's specs (its node_spec for each exact operation) the same way",
    )
    args = ap.parse_args()
    library = default_library()
    types = most_used_types(library, args.top)
    results = check_specs(types, library)
    if args.compare_rev:
        print(f"{args.compare_rev}: " + old_counts(args.compare_rev, results["checked"]))
    checked = len(results["checked"])
    print(f"{len(results['checked_types'])} node types, {checked} (type, resource, operation)")
    print("| check | failing | of |\n| --- | ---: | ---: |")
    print(
        f"| parameter names = what n8n displays | {len(results['wrong_parameters'])} | {checked} |"
    )
    examples = len(results["examples"])
    print(f"| example keys all spec keys | {len(results['foreign_example_keys'])} | {examples} |")
    print(f"| no <id> outside id fields | {len(results['id_in_non_id_field'])} | {examples} |")
    if args.list:
        for key in ("wrong_parameters", "foreign_example_keys", "id_in_non_id_field"):
            for line in results[key]:
                print(f"{key}: {line}")


if __name__ == "__main__":
    main()
