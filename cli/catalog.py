"""`clixen catalog refresh [--from DIR]` and `clixen catalog search TEXT`: the node catalog."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.catalog import SNAPSHOT_PATH, default_catalog, refresh_snapshot

DEFAULT_N8N_ROOT = Path(".stack")


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("catalog", help="the n8n node catalog snapshot")
    p.set_defaults(uses_settings=False)
    csub = p.add_subparsers(dest="catalog_command", metavar="ACTION")
    csub.required = True
    ref = csub.add_parser(
        "refresh", help="rebuild the snapshot from an installed n8n's dist/types/nodes.json"
    )
    ref.add_argument(
        "--from",
        dest="root",
        type=Path,
        default=DEFAULT_N8N_ROOT,
        help="folder holding the n8n install (default: .stack)",
    )
    ref.add_argument("--out", type=Path, default=SNAPSHOT_PATH, help=argparse.SUPPRESS)
    ref.set_defaults(func=_refresh)
    se = csub.add_parser("search", help="node types matching some words")
    se.add_argument("text", nargs="+")
    se.add_argument("--limit", type=int, default=10)
    se.set_defaults(func=_search)


def _refresh(args: argparse.Namespace) -> int:
    try:
        catalog = refresh_snapshot(args.root, args.out)
    except FileNotFoundError as e:
        print(f"error: {e} (run scripts/n8n_stack.sh install, or pass --from DIR)")
        return 2
    version = catalog.n8n_version or "unknown version"
    print(f"{len(catalog)} node types from n8n {version} written to {args.out}")
    from core.catalog.snapshot import read_descriptions
    from core.generation.node_lookup.params import (
        PARAMS_PATH,
        read_credential_descriptions,
        write_params_snapshot,
    )

    # Prompts' parameter details, beside the snapshot (core/data/node_params.json.gz).
    params_out = args.out.with_name(PARAMS_PATH.name)
    write_params_snapshot(
        read_descriptions(args.root), params_out, read_credential_descriptions(args.root)
    )
    print(f"prompt parameters of every node type written to {params_out}")
    from core.catalog.output_schemas import INDEX_PATH, refresh_output_schemas

    index_out = INDEX_PATH if args.out == SNAPSHOT_PATH else args.out.parent / INDEX_PATH.name
    try:
        usable, seen = refresh_output_schemas(args.root, index_out)
    except FileNotFoundError as e:
        print(f"output schemas not refreshed: {e}")
        return 0
    print(f"{usable} of {seen} output schemas usable by the field check, written to {index_out}")
    return 0


def _search(args: argparse.Namespace) -> int:
    for spec in default_catalog().search(" ".join(args.text), args.limit):
        print(f"{spec.type}\t{spec.display_name}\t{spec.description}")
    return 0
