"""Real n8n.io workflow templates, as examples for generation and as test material.

The templates come from n8n-mcp's SQLite file `data/nodes.db` (table `templates`, column
`workflow_json_compressed` = base64 of gzip of the workflow JSON). About a quarter of them have
every node's `parameters` emptied to `{}`; those teach nothing and are dropped at load.

`TemplateLibrary.similar(request)` ranks templates by keyword overlap (IDF-weighted, token sets
precomputed at load, so a query costs a few milliseconds); `core.generation.template_compact`
shrinks one to what a generation prompt needs. What load derives is kept in a cache
(`core.generation.template_cache`), so only the first process after n8n-mcp changes pays for it;
each workflow and each node type's mined configurations stay packed until first asked for.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import logging
import marshal
import math
import re
import sqlite3
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.generation.template_cache import DEFAULT_CACHE_DIR, read_cache, write_cache
from core.kernel.errors import ClixenError

if TYPE_CHECKING:
    from core.kernel.settings import Settings

log = logging.getLogger(__name__)

STICKY_NOTE = "n8n-nodes-base.stickyNote"
# The settings' REPO_ROOT, without importing the settings (pydantic-settings: ~0.1 s).
_REPO = Path(__file__).resolve().parents[2]
# Where scripts/n8n_stack.sh installs n8n-mcp.
DEFAULT_DB_PATH = _REPO / ".stack" / "npm" / "node_modules" / "n8n-mcp" / "data" / "nodes.db"

_STOPWORDS = frozenset(
    " ".join(
        (
            "a an and are as at be by for from get gets in into is it its me my of on or our so",
            "that the their them then this to up us we when whenever with you your every each new",
            "all any via using use n8n node nodes base workflow workflows automate automation",
            "automatically please want would like make create send",
        )
    ).split()
)
# Name, node-type and description hits are not worth the same: the name says what the template
# is for, its node types say what it touches, the description is long and chatty.
_WEIGHT_NAME = 2.0
_WEIGHT_NODE = 3.0
_WEIGHT_DESC = 1.0
# A node type the caller asks for outweighs any keyword match (an IDF is at most ~7.5).
_WEIGHT_WANTED_TYPE = 25.0
# An example's node type that was not asked for costs this much (a wanted one earns 25).
_PENALTY_UNRELATED = 8.0
# Plumbing that fits any workflow: no penalty for carrying it.
_GENERIC_TYPES = frozenset(
    "n8n-nodes-base." + t
    for t in ("set", "code", "if", "filter", "merge", "noOp", "manualTrigger", "splitOut")
)
_DESC_CHARS = 600  # only the opening of a description; the rest is setup instructions


class TemplatesUnavailable(ClixenError):
    code = "templates_unavailable"


@dataclass(frozen=True)
class Template:
    """One published n8n.io workflow: its `workflow` is the full n8n JSON."""

    id: int
    name: str
    description: str
    node_types: frozenset[str]
    node_count: int  # nodes other than sticky notes
    _packed_workflow: bytes = field(repr=False, compare=False)
    _name_tokens: frozenset[str] = field(repr=False, compare=False, default=frozenset())
    _node_tokens: frozenset[str] = field(repr=False, compare=False, default=frozenset())
    _desc_tokens: frozenset[str] = field(repr=False, compare=False, default=frozenset())

    @cached_property
    def workflow(self) -> dict[str, Any]:
        """The full n8n JSON (unpacked on first use: a prompt reads one of ~1,800)."""
        data: dict[str, Any] = marshal.loads(self._packed_workflow)  # noqa: S302 - packed by load
        return data


def tokens(text: str) -> set[str]:
    """Lower-case keywords of `text`; camelCase and dotted node types are split into words."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    words = re.findall(r"[a-z0-9]+", text.lower())
    out = {w for w in words if len(w) > 1 and w not in _STOPWORDS}
    # Plural/singular: "feeds" should meet "feed", "emails" "email".
    out |= {w[:-1] for w in out if len(w) > 3 and w.endswith("s") and not w.endswith("ss")}
    return out


def _node_type_tokens(node_type: str) -> set[str]:
    short = node_type.rsplit(".", 1)[-1]
    short = re.sub(r"(Trigger|Tool)$", "", short) or short
    return tokens(short) | {short.lower()}


def is_emptied(workflow: Mapping[str, Any]) -> bool:
    """True when every node except sticky notes has no parameters (a stripped template)."""
    nodes = [
        n
        for n in workflow.get("nodes") or []
        if isinstance(n, dict) and n.get("type") != STICKY_NOTE
    ]
    return all(not n.get("parameters") for n in nodes)


def decode_workflow(compressed: str) -> dict[str, Any]:
    """The workflow JSON stored as base64 of gzip in n8n-mcp's `templates` table."""
    data: dict[str, Any] = json.loads(gzip.decompress(base64.b64decode(compressed)))
    return data


class TemplateLibrary:
    """The usable templates (emptied ones dropped), searchable by keyword overlap."""

    def __init__(
        self,
        templates: Iterable[Template],
        *,
        dropped_emptied: int = 0,
        packed_configurations: Mapping[str, bytes] | None = None,
    ) -> None:
        self.templates: list[Template] = list(templates)
        self.dropped_emptied = dropped_emptied
        df: Counter[str] = Counter()
        for t in self.templates:
            df.update(t._name_tokens | t._node_tokens | t._desc_tokens)
        n = max(1, len(self.templates))
        self._idf = {tok: math.log(1 + n / count) for tok, count in df.items()}
        self._type_counts: Counter[str] | None = None
        # Node type -> its mined configurations, marshalled; each unpacked when first asked for.
        self._packed_configs = packed_configurations
        self._configs: dict[str, list[tuple[float | None, dict[str, Any]]]] = {}
        # Node type -> how often each (resource, operation) is used; the library never changes.
        self._usage: dict[str, dict[tuple[str | None, str | None], int]] = {}

    def __len__(self) -> int:
        return len(self.templates)

    @classmethod
    def load(
        cls, path: str | Path | None = None, *, cache_dir: Path | None = None
    ) -> TemplateLibrary:
        """Every usable template of n8n-mcp's `nodes.db` (default: the one under `.stack/`).

        With `cache_dir`, from the derived copy there when it matches `nodes.db` as it is now,
        else from `nodes.db` (then the copy is written for the next process); without, from
        `nodes.db`, writing nothing. Both ways give the same library."""
        db = Path(path) if path is not None else DEFAULT_DB_PATH
        if not db.is_file():
            raise TemplatesUnavailable(
                f"n8n-mcp's template database was not found at {db} "
                "(run scripts/n8n_stack.sh install)."
            )
        if cache_dir is not None:
            cached = read_cache(db, cache_dir)
            if cached is not None:
                try:
                    return cls._from_plain(cached)
                except (KeyError, TypeError, ValueError) as e:
                    log.warning("template cache for %s is malformed (%s): rebuilding it", db, e)
        plain = cls._read_database(db)
        if cache_dir is not None:
            write_cache(db, cache_dir, plain)
        return cls._from_plain(plain)

    @classmethod
    def _from_plain(cls, data: Mapping[str, Any]) -> TemplateLibrary:
        templates = [Template(*row) for row in data["templates"]]
        configs = data["configurations"]
        if not isinstance(configs, dict):
            raise TypeError("configurations is not a dict")
        return cls(
            templates,
            dropped_emptied=int(data["dropped_emptied"]),
            packed_configurations=configs,
        )

    @staticmethod
    def _read_database(db: Path) -> dict[str, Any]:
        """What the library is made of, as plain data (what the cache stores): each usable
        template decoded and tokenized, and the configurations mined from all of them."""
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                rows = conn.execute(
                    "SELECT id, name, COALESCE(description, ''), workflow_json_compressed "
                    "FROM templates WHERE workflow_json_compressed IS NOT NULL ORDER BY id"
                ).fetchall()
        except sqlite3.Error as e:
            raise TemplatesUnavailable(f"n8n-mcp's template database is unreadable: {e}") from e
        kept: list[tuple[Any, ...]] = []
        workflows: list[dict[str, Any]] = []
        emptied = 0
        for tid, name, description, compressed in rows:
            try:
                workflow = decode_workflow(compressed)
            except (binascii.Error, OSError, zlib.error, json.JSONDecodeError):
                continue
            if not isinstance(workflow.get("nodes"), list) or is_emptied(workflow):
                emptied += 1
                continue
            kept.append(_template_row(int(tid), str(name), str(description), workflow))
            workflows.append(workflow)
        return {
            "templates": kept,
            "dropped_emptied": emptied,
            "configurations": _packed_configurations(workflows),
        }

    @classmethod
    def from_settings(
        cls, settings: Settings, *, cache_dir: Path | None = DEFAULT_CACHE_DIR
    ) -> TemplateLibrary:
        """The library of the n8n-mcp that `settings.n8n_mcp_command` runs, else the default
        (through the derived copy in `cache_dir`, see `load`)."""
        for part in (settings.n8n_mcp_command or "").split():
            if part.endswith("index.js"):
                # .../n8n-mcp/dist/mcp/index.js -> .../n8n-mcp/data/nodes.db
                candidate = Path(part).resolve().parents[2] / "data" / "nodes.db"
                if candidate.is_file():
                    return cls.load(candidate, cache_dir=cache_dir)
        return cls.load(cache_dir=cache_dir)

    def similar(
        self,
        request: str,
        k: int = 3,
        node_types: set[str] | None = None,
        *,
        max_nodes: int | None = 20,
    ) -> list[Template]:
        """The `k` templates that best match `request`, best first.

        Scores are IDF-weighted keyword overlaps with the template's name, node types and the
        opening of its description; each node type of `node_types` the template uses outweighs
        any keyword match, so templates using them come first. Templates with more than
        `max_nodes` nodes are skipped (prompt budget); ties go to the smaller template.
        Templates with no overlap at all are never returned.
        """
        want = tokens(request)
        wanted_types = node_types or set()
        scored: list[tuple[float, int, int, Template]] = []
        for t in self.templates:
            if max_nodes is not None and t.node_count > max_nodes:
                continue
            score = (
                _WEIGHT_NAME * self._weight(want & t._name_tokens)
                + _WEIGHT_NODE * self._weight(want & t._node_tokens)
                + _WEIGHT_DESC * self._weight(want & t._desc_tokens)
                + _WEIGHT_WANTED_TYPE * len(wanted_types & t.node_types)
            )
            if score > 0:
                scored.append((-score, t.node_count, t.id, t))
        scored.sort(key=lambda s: s[:3])
        return [s[3] for s in scored[:k]]

    def covering(
        self,
        request: str,
        node_types: Iterable[str],
        k: int = 2,
        *,
        max_nodes: int | None = 12,
    ) -> list[Template]:
        """Up to `k` templates that together cover the most of `node_types`, each penalised for
        node types it carries that were not asked for (noise in a prompt); keyword overlap with
        `request` breaks ties. A template that adds no wanted type is never picked."""
        wanted = set(node_types)
        want = tokens(request)
        uncovered = set(wanted)
        picked: list[Template] = []
        for _ in range(k):
            best: tuple[float, int, int] | None = None
            choice: Template | None = None
            for t in self.templates:
                if t in picked or (max_nodes is not None and t.node_count > max_nodes):
                    continue
                new = len(uncovered & t.node_types)
                if not new:
                    continue
                unrelated = len(t.node_types - wanted - _GENERIC_TYPES)
                score = (
                    _WEIGHT_WANTED_TYPE * new
                    + 5.0 * len(wanted & t.node_types)
                    - _PENALTY_UNRELATED * unrelated
                    + _WEIGHT_NAME * self._weight(want & t._name_tokens)
                    + _WEIGHT_DESC * self._weight(want & t._desc_tokens)
                )
                key = (score, -t.node_count, -t.id)
                if best is None or key > best:
                    best, choice = key, t
            if choice is None:
                break
            picked.append(choice)
            uncovered -= choice.node_types
        return picked

    def type_counts(self) -> Counter[str]:
        """How many templates use each node type (a popularity prior for retrieval)."""
        if self._type_counts is None:
            counts: Counter[str] = Counter()
            for t in self.templates:
                counts.update(t.node_types)
            self._type_counts = counts
        return self._type_counts

    def configurations(self, node_type: str) -> list[dict[str, Any]]:
        """The non-empty `parameters` of every node of `node_type` in the templates."""
        return [params for _, params in self.versioned_configurations(node_type)]

    def versioned_configurations(self, node_type: str) -> list[tuple[float | None, dict[str, Any]]]:
        """(typeVersion, non-empty `parameters`) of every node of `node_type` in the templates
        (None when the node names no numeric typeVersion)."""
        if self._packed_configs is None:
            self._packed_configs = _packed_configurations(t.workflow for t in self.templates)
        configs = self._configs.get(node_type)
        if configs is None:
            packed = self._packed_configs.get(node_type)
            configs = self._configs[node_type] = marshal.loads(packed) if packed else []  # noqa: S302
        return configs

    def operation_usage(self, node_type: str) -> dict[tuple[str | None, str | None], int]:
        """How often the templates use each (resource, operation) of `node_type` (counted once
        per type: every prompt's specs ask for the same few types)."""
        known = self._usage.get(node_type)
        if known is not None:
            return dict(known)
        usage: Counter[tuple[str | None, str | None]] = Counter()
        for params in self.configurations(node_type):
            resource, operation = params.get("resource"), params.get("operation")
            usage[
                (
                    resource if isinstance(resource, str) else None,
                    operation if isinstance(operation, str) else None,
                )
            ] += 1
        self._usage[node_type] = dict(usage)
        return dict(usage)

    def _weight(self, toks: set[str] | frozenset[str]) -> float:
        return sum(self._idf.get(t, 0.0) for t in toks)


def _template(tid: int, name: str, description: str, workflow: dict[str, Any]) -> Template:
    return Template(*_template_row(tid, name, description, workflow))


def _template_row(
    tid: int, name: str, description: str, workflow: dict[str, Any]
) -> tuple[Any, ...]:
    """One template as plain data, in `Template`'s field order (what the cache stores)."""
    nodes = [n for n in workflow["nodes"] if isinstance(n, dict)]
    types = frozenset(
        str(n["type"]) for n in nodes if isinstance(n.get("type"), str) and n["type"] != STICKY_NOTE
    )
    node_tokens: set[str] = set()
    for t in types:
        node_tokens |= _node_type_tokens(t)
    return (
        tid,
        name,
        description,
        types,
        sum(1 for n in nodes if n.get("type") != STICKY_NOTE),
        marshal.dumps(workflow),
        frozenset(tokens(name)),
        frozenset(node_tokens),
        frozenset(tokens(description[:_DESC_CHARS])),
    )


def _packed_configurations(workflows: Iterable[Mapping[str, Any]]) -> dict[str, bytes]:
    """Node type -> (typeVersion, non-empty `parameters`) of each of its nodes, marshalled."""
    configs: dict[str, list[tuple[float | None, dict[str, Any]]]] = {}
    for workflow in workflows:
        for n in workflow.get("nodes") or []:
            params = n.get("parameters") if isinstance(n, dict) else None
            if isinstance(params, dict) and params and isinstance(n.get("type"), str):
                tv = n.get("typeVersion")
                version = float(tv) if isinstance(tv, int | float) else None
                configs.setdefault(n["type"], []).append((version, params))
    return {node_type: marshal.dumps(found) for node_type, found in configs.items()}


@lru_cache(maxsize=1)
def default_library() -> TemplateLibrary:
    """The library under `.stack/`, loaded once per process (tens of milliseconds from the
    cache; about a second when nodes.db changed since the cache was written)."""
    return TemplateLibrary.load(cache_dir=DEFAULT_CACHE_DIR)
