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

from core.templates import default_library
from tests.core.spec_checks import check_specs, most_used_types


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--top", type=int, default=200)
    ap.add_argument("--list", action="store_true", help="list every failure")
    args = ap.parse_args()
    library = default_library()
    results = check_specs(most_used_types(library, args.top), library)
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
