"""One real configuration of a node, mined from the shipped templates, for a spec's example:
only of the same version class and operation (n8n's defaults filled in where a template leaves
them out), only with keys the spec shows, secrets and ids scrubbed — never option values or
field names — and none naming another node of its template."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from core.catalog import VersionClass

if TYPE_CHECKING:
    from core.generation.node_lookup.choice import Operation
    from core.generation.templates import TemplateLibrary

MAX_EXAMPLE_CHARS = 450
_SECRET_KEY = re.compile(r"(?i)(api_?key|token|secret|password|passwd|authorization|bearer)")
_ID_LIKE = re.compile(r"^[A-Za-z0-9_-]{20,}$")
# Parameters whose names look secret but hold an option value ("authentication": "oAuth2").
_OPTION_KEYS = frozenset({"authentication", "nodeCredentialType", "genericAuthType"})


# `$('Other node')` / `$node["Other node"]`: an expression that only makes sense in its template.
_NODE_REFERENCE = re.compile(r"\$\(|\$node\[")


def mined_configuration(
    library: TemplateLibrary,
    node_type: str,
    op: Operation,
    *,
    cls: VersionClass | None = None,
    defaults: Mapping[Any, Any] | None = None,
    keys: set[str] | None = None,
) -> Any:
    """One real `parameters` object of `node_type` doing `op` in the shipped templates, with
    secrets, ids and caches removed and none naming another node of its template; None when no
    template has one small enough. With `cls`, only nodes of a typeVersion that class serves;
    a resource/operation a template leaves out counts as n8n's default (`defaults`: None →
    the default resource, each resource → its default operation). With `keys`, only a
    configuration whose every key is one of them (a parameter the spec shows)."""
    memo = _CHOSEN.setdefault(library, {})
    key = (
        node_type,
        op.resource,
        op.operation,
        cls.versions if cls is not None else None,
        frozenset((defaults or {}).items()),
        frozenset(keys) if keys is not None else None,
    )
    if key not in memo:
        memo[key] = _richest(library, node_type, op, cls=cls, defaults=defaults, keys=keys)
    chosen = memo[key]
    return copy.deepcopy(chosen) if chosen is not None else None


# Per library: the configuration `mined_configuration` chose for each question asked of it; the
# same few node types and operations come back in every prompt, and the library never changes.
_CHOSEN: WeakKeyDictionary[TemplateLibrary, dict[tuple[Any, ...], Any]] = WeakKeyDictionary()


def _richest(
    library: TemplateLibrary,
    node_type: str,
    op: Operation,
    *,
    cls: VersionClass | None,
    defaults: Mapping[Any, Any] | None,
    keys: set[str] | None,
) -> Any:
    """The largest usable configuration that fits (see `mined_configuration`), not copied."""
    best: tuple[int, Any] | None = None
    implicit = defaults or {}
    for version, params, clean, size in _usable(library, node_type):
        if cls is not None and (version is None or float(version) not in cls.versions):
            continue  # another version class has other parameters
        resource = params.get("resource", implicit.get(None))
        operation = params.get("operation", implicit.get(resource))
        if op.resource is not None and resource != op.resource:
            continue
        if op.operation is not None and operation != op.operation:
            continue
        if keys is not None and not set(params) <= keys:
            continue  # set under other option values than the spec's: it would mislead
        # Prefer a configuration with some substance: the richest that fits the budget.
        if best is None or size > best[0]:
            best = (size, clean)
    return best[1] if best else None


# Per library and node type: its configurations that can be shown at all, scrubbed, with their
# size. Scrubbing is most of what a spec's example costs, and the same few types come back in
# every prompt; the library never changes once loaded.
_USABLE: WeakKeyDictionary[TemplateLibrary, dict[str, list[_Usable]]] = WeakKeyDictionary()
_Usable = tuple[float | None, dict[str, Any], Any, int]


def _usable(library: TemplateLibrary, node_type: str) -> list[_Usable]:
    """(typeVersion, parameters, scrubbed parameters, their JSON size) of every configuration of
    `node_type` small enough, ASCII, and naming no other node of its template; in template
    order."""
    by_type = _USABLE.setdefault(library, {})
    found = by_type.get(node_type)
    if found is None:
        found = []
        for version, params in library.versioned_configurations(node_type):
            clean = _scrub(params)
            text = json.dumps(clean, separators=(",", ":"), ensure_ascii=False)
            if len(text) > MAX_EXAMPLE_CHARS or not text.isascii():
                continue
            if _NODE_REFERENCE.search(text):
                continue  # names a node of its own template, which the user's workflow lacks
            found.append((version, params, clean, len(text)))
        by_type[node_type] = found
    return found


def _scrub(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        if value.get("__rl") is True:
            mode = value.get("mode", "id")
            keep = mode in ("name", "url") and not _ID_LIKE.match(str(value.get("value", "")))
            return {"__rl": True, "mode": mode, "value": value.get("value") if keep else "<id>"}
        out = {
            k: _scrub(v, k)
            for k, v in value.items()
            if not k.startswith("cachedResult") and k not in ("webhookId", "credentials")
        }
        # A header/query pair {"name": "X-API-Key", "value": "…"}: the value is the secret.
        name = value.get("name")
        if isinstance(name, str) and _SECRET_KEY.search(name) and isinstance(out.get("value"), str):
            out["value"] = "<secret>"
        return out
    if isinstance(value, list):
        return [_scrub(v, key) for v in value[:4]]
    if isinstance(value, str):
        if _SECRET_KEY.search(key) and key not in _OPTION_KEYS:
            return "<secret>"
        if _ID_LIKE.match(value) and _looks_generated(value):
            return "<id>"
        return value if len(value) <= 120 else value[:120] + "..."
    return value


def _looks_generated(value: str) -> bool:
    """An id mixes in digits (a model name such as text-embedding-3-small, an option value or
    a field name does not look like this): three or more, or any in an unbroken mixed-case run."""
    digits = sum(c.isdigit() for c in value)
    mixed = value.lower() != value and value.upper() != value and not re.search(r"[-_]", value)
    return digits >= 3 or (digits >= 1 and mixed)
