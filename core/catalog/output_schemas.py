"""What each node outputs: field shapes from n8n's own output schemas, shipped as a compact index.

n8n ships JSON Schemas of node outputs in
`n8n-nodes-base/dist/nodes/<Node>/__schema__/v<semver>/<resource>/<operation>.json` (1,230 files
in 2.40.7). `refresh_output_schemas(root)` (run by `clixen catalog refresh`) compresses them into
`core/data/output_schemas.json.gz`, because the installed n8n may be absent where Clixen runs.
Shapes are a small tree: an object is a dict of field → shape, an array is `["array", item]`, a
scalar is its JSON-Schema type name ("string", "integer|null", ...).

Three trigger/read outputs have no schema file and are written here by hand, from n8n's source:
the Schedule Trigger's item (ScheduleTrigger.node.js, `resultData`) and the RSS feed item of RSS
Read / RSS Feed Trigger (rss-parser 3.13's `Item` interface and its lib/fields.js item fields,
which both nodes return as is).

`output_shape(node_type, version, resource, operation)` gives a node's output shape or None.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.kernel.slack_trigger import PAYLOAD_SHAPE, SLACK_TRIGGER_TYPE

INDEX_PATH = Path(__file__).resolve().parent.parent / "data" / "output_schemas.json.gz"
BASE_PREFIX = "n8n-nodes-base."

Shape = Any  # dict[str, Shape] | list ("array", item) | str (scalar type)

RSS_ITEM: dict[str, Shape] = {
    "title": "string",
    "link": "string",
    "pubDate": "string",
    "creator": "string",
    "summary": "string",
    "content": "string",
    "contentSnippet": "string",
    "guid": "string",
    "isoDate": "string",
    "categories": ["array", "string"],
    "enclosure": {"url": "string", "length": "string", "type": "string"},
    # rss-parser's lib/fields.js item fields (and atom's id), present when the feed has them
    "author": "string",
    "comments": "string",
    "id": "string",
    "date": "string",
    "language": "string",
    "rights": "string",
    "source": "string",
    "content:encoded": "string",
    "content:encodedSnippet": "string",
    "dc:creator": "string",
    "dc:date": "string",
    "itunes": "object",
}
SCHEDULE_ITEM: dict[str, Shape] = {
    "timestamp": "string",
    "Readable date": "string",
    "Readable time": "string",
    "Day of week": "string",
    "Year": "string",
    "Month": "string",
    "Day of month": "string",
    "Hour": "string",
    "Minute": "string",
    "Second": "string",
    "Timezone": "string",
}
# Outputs that do not depend on resource/operation and have no schema file (see the docstring).
HAND_WRITTEN: dict[str, dict[str, Shape]] = {
    BASE_PREFIX + "rssFeedRead": RSS_ITEM,
    BASE_PREFIX + "rssFeedReadTrigger": RSS_ITEM,
    BASE_PREFIX + "scheduleTrigger": SCHEDULE_ITEM,
    SLACK_TRIGGER_TYPE: PAYLOAD_SHAPE,
}


def compact_schema(schema: Any, depth: int = 0) -> Shape:
    """A JSON Schema as a compact shape (nested objects down to 6 levels)."""
    if not isinstance(schema, Mapping):
        return "any"
    kind = schema.get("type")
    kinds = [str(k) for k in kind] if isinstance(kind, list) else [str(kind)] if kind else []
    props = schema.get("properties")
    if isinstance(props, Mapping) and ("object" in kinds or not kinds):
        if depth >= 6:
            return "object"
        return {str(k): compact_schema(v, depth + 1) for k, v in props.items()}
    if "array" in kinds:
        return [
            "array",
            compact_schema(schema.get("items"), depth + 1) if schema.get("items") else None,
        ]
    return "|".join(kinds) or "any"


def _version_tuple(name: str) -> tuple[int, ...]:
    return tuple(int(p) for p in name.lstrip("v").split(".") if p.isdigit())


def _schema_files(schema_dir: Path) -> Iterator[tuple[str, str, Path]]:
    """(version, "resource/operation" or "operation", file) under one __schema__ folder."""
    for vdir in sorted(p for p in schema_dir.iterdir() if p.is_dir()):
        for f in sorted(vdir.rglob("*.json")):
            key = f.relative_to(vdir).with_suffix("").as_posix()
            yield vdir.name.lstrip("v"), key, f


def find_nodes_base(root: Path) -> Path:
    """n8n-nodes-base/dist under `root` (an n8n install, e.g. `.stack`)."""
    for d in ("npm/node_modules", "node_modules", "."):
        p = root / d / "n8n-nodes-base" / "dist"
        if (p / "known" / "nodes.json").is_file():
            return p
    found = sorted(root.rglob("n8n-nodes-base/dist/known/nodes.json"), key=lambda p: len(p.parts))
    if not found:
        raise FileNotFoundError(f"no n8n-nodes-base/dist/known/nodes.json under {root}")
    return found[0].parent.parent


def build_index(dist: Path) -> dict[str, Any]:
    """The index from an n8n-nodes-base/dist folder: schema folders by node type, shapes by
    folder, version and resource/operation, and how many schema files were seen and kept."""
    known: dict[str, Any] = json.loads((dist / "known" / "nodes.json").read_text())
    folders: dict[str, dict[str, dict[str, Shape]]] = {}
    files = 0
    for schema_dir in sorted((dist / "nodes").rglob("__schema__")):
        key = schema_dir.parent.relative_to(dist / "nodes").as_posix()
        versions: dict[str, dict[str, Shape]] = {}
        for version, op, f in _schema_files(schema_dir):
            files += 1
            try:
                versions.setdefault(version, {})[op] = compact_schema(json.loads(f.read_text()))
            except ValueError:
                continue
        folders[key] = versions
    types: dict[str, str] = {}
    for name, entry in known.items():
        folder = (
            Path(str(entry.get("sourcePath", ""))).parent.as_posix().removeprefix("dist/nodes/")
        )
        if folder not in folders:
            continue
        # A trigger shares its folder with the app node, whose schemas describe the app node's
        # operations, not the trigger's events: only a trigger with its own folder keeps them.
        if name.endswith("Trigger") and folder.rsplit("/", 1)[-1] != entry.get("className"):
            continue
        types[BASE_PREFIX + name] = folder
    pkg = json.loads((dist.parent / "package.json").read_text()).get("version", "")
    return {"n8n_nodes_base": pkg, "files": files, "types": types, "folders": folders}


def usable_share(index: Mapping[str, Any]) -> tuple[int, int]:
    """(schema files the field check can use, schema files seen): usable means a node type maps
    to its folder and the schema names at least one output field."""
    used_folders = set(index["types"].values())
    usable = sum(
        1
        for folder, versions in index["folders"].items()
        if folder in used_folders
        for shapes in versions.values()
        for shape in shapes.values()
        if isinstance(shape, dict) and shape
    )
    return usable, int(index["files"])


def refresh_output_schemas(root: Path, out: Path = INDEX_PATH) -> tuple[int, int]:
    """Rebuild the shipped index from the n8n under `root`; returns `usable_share`."""
    index = build_index(find_nodes_base(root))
    out.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(index, separators=(",", ":"), sort_keys=True).encode()
    out.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
    default_index.cache_clear()
    return usable_share(index)


@lru_cache(maxsize=1)
def default_index() -> dict[str, Any]:
    """The shipped index (empty when the file is missing)."""
    try:
        data: dict[str, Any] = json.loads(gzip.decompress(INDEX_PATH.read_bytes()))
    except FileNotFoundError:
        return {"types": {}, "folders": {}, "files": 0}
    return data


def _ordered_versions(versions: list[str], version: float | None) -> list[str]:
    """Schema versions to try for a node's typeVersion, as n8n's workflow-sdk orders them: the
    same major at or below it (newest first), the same major above it, then older majors."""
    target = _version_tuple(f"{version:g}") if version is not None else (999,)
    target = (*target, 0, 0)[:3]
    tuples = {v: (*_version_tuple(v), 0, 0)[:3] for v in versions}
    same = [v for v in versions if tuples[v][0] == target[0]]
    below = sorted((v for v in same if tuples[v] <= target), key=lambda v: tuples[v], reverse=True)
    above = sorted((v for v in same if tuples[v] > target), key=lambda v: tuples[v])
    older = sorted(
        (v for v in versions if tuples[v][0] < target[0]), key=lambda v: tuples[v], reverse=True
    )
    return below + above + older


def output_shape(
    node_type: str,
    version: float | None,
    resource: str | None,
    operation: str | None,
    *,
    index: Mapping[str, Any] | None = None,
) -> dict[str, Shape] | None:
    """The shape of one output item of this node, or None when no schema is known."""
    if node_type in HAND_WRITTEN:
        return HAND_WRITTEN[node_type]
    idx = index if index is not None else default_index()
    folder = idx["types"].get(node_type)
    if folder is None:
        return None
    versions: dict[str, dict[str, Shape]] = idx["folders"].get(folder, {})
    keys = [f"{resource}/{operation}"] if resource and operation else []
    keys += [operation] if operation else []
    keys += ["output"] if not operation else []
    for v in _ordered_versions(list(versions), version):
        for key in keys:
            shape = versions[v].get(key)
            if isinstance(shape, dict) and shape:
                return shape
    return None


def sample_item(shape: Mapping[str, Shape]) -> dict[str, Any]:
    """A minimal item the shape allows: each field with a placeholder of its type."""
    return {k: _sample_value(k, v) for k, v in shape.items()}


def _sample_value(name: str, shape: Shape) -> Any:
    if isinstance(shape, dict):
        return sample_item(shape)
    if isinstance(shape, list):
        return []
    kinds = str(shape).split("|")
    if "string" in kinds:
        return f"sample {name}"
    if "integer" in kinds or "number" in kinds:
        return 1
    if "boolean" in kinds:
        return False
    if "object" in kinds:
        return {}
    return None
