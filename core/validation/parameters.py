"""Which parameters of a node are shown and required under its current values: a port of
n8n-workflow's `displayParameter` / `addToIssuesIfMissing`, plus resource-locator values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from core.catalog import ParamSpec, VersionClass
from core.validation.shapes import MISSING, is_number


@dataclass(frozen=True, slots=True)
class ParamContext:
    version: float
    node_type: str


def _get_path(values: Mapping[str, Any], path: str) -> Any:
    cur: Any = values
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            return MISSING
    return cur


def _property_values(values: Mapping[str, Any], key: str, ctx: ParamContext) -> list[Any]:
    if key == "@version":
        value: Any = ctx.version or 0
    elif key == "@tool":
        value = ctx.node_type.endswith("Tool")
    elif key == "@feature":
        return []
    else:
        value = _get_path(values, key.lstrip("/"))
    if isinstance(value, dict) and value.get("__rl"):
        value = value.get("value", MISSING)
    return list(value) if isinstance(value, list) else [value]


def _js_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if is_number(a) and is_number(b):
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


def _compare(a: Any, b: Any, op: str) -> bool:
    if is_number(a) and is_number(b):
        return _ordered(float(a), float(b), op)
    if isinstance(a, str) and isinstance(b, str):
        return _ordered(a, b, op)
    return False


def _ordered(x: Any, y: Any, op: str) -> bool:
    if op == "gte":
        return bool(x >= y)
    if op == "lte":
        return bool(x <= y)
    if op == "gt":
        return bool(x > y)
    return bool(x < y)


def _check_conditions(conditions: Any, actual: list[Any]) -> bool:
    if not isinstance(conditions, list):
        conditions = [conditions]
    for cond in conditions:
        if isinstance(cond, dict) and "_cnd" in cond and len(cond) == 1:
            items = list((cond["_cnd"] or {}).items())
            if not items:
                continue
            key, target = items[0]
            if not actual:
                if key == "not":
                    return True
                continue
            if all(_cnd_one(key, target, v) for v in actual):
                return True
        elif any(_js_equal(v, cond) for v in actual):
            return True
    return False


def _cnd_one(key: str, target: Any, v: Any) -> bool:
    if key == "eq":
        return _js_equal(v, target)
    if key == "not":
        return not _js_equal(v, target)
    if key in ("gte", "lte", "gt", "lt"):
        return _compare(v, target, key)
    if key == "between" and isinstance(target, dict):
        return _compare(v, target.get("from"), "gte") and _compare(v, target.get("to"), "lte")
    if key == "includes":
        return isinstance(v, str) and isinstance(target, str) and target in v
    if key == "startsWith":
        return isinstance(v, str) and isinstance(target, str) and v.startswith(target)
    if key == "endsWith":
        return isinstance(v, str) and isinstance(target, str) and v.endswith(target)
    if key == "regex":
        try:
            return isinstance(v, str) and re.search(str(target), v) is not None
        except re.error:
            return False
    if key == "exists":
        return v is not MISSING and v is not None and v != ""
    return False


def _displayed(p: ParamSpec, values: Mapping[str, Any], ctx: ParamContext) -> bool:
    return shown(p.display_options, values, ctx)


def shown(opts: Mapping[str, Any] | None, values: Mapping[str, Any], ctx: ParamContext) -> bool:
    """Whether something with these displayOptions (a parameter, a node's credential slot)
    applies under the node's parameter `values` (defaults filled in: `with_defaults`)."""
    if not opts:
        return True
    show = opts.get("show")
    if show:
        for key, conds in show.items():
            vals = _property_values(values, key, ctx)
            if any(isinstance(v, str) and v.startswith("=") for v in vals):
                return True
            if not _check_conditions(conds, vals):
                return False
    hide = opts.get("hide")
    if hide:
        for key, conds in hide.items():
            vals = _property_values(values, key, ctx)
            if vals and _check_conditions(conds, vals):
                return False
    return True


def with_defaults(vc: VersionClass, params: Mapping[str, Any], ctx: ParamContext) -> dict[str, Any]:
    # n8n fills in the default of every displayed parameter before it checks required ones.
    values = dict(params)
    for p in vc.params:
        if p.name not in values and _displayed(p, values, ctx):
            values[p.name] = p.default if p.default is not None else MISSING
    return values


def _empty(p: ParamSpec, value: Any) -> bool:
    if p.type in ("string", "dateTime", "options"):
        return value is MISSING or value == ""
    if p.type == "multiOptions":
        return isinstance(value, list) and not value
    if p.type in ("resourceLocator", "workflowSelector", "agentSelector"):
        if isinstance(value, dict):
            inner = value.get("value")
            return not is_number(inner) and not inner
        return value is MISSING or not value
    return False


@lru_cache(maxsize=4096)
def _js_regex(rx: str) -> re.Pattern[str] | None:
    try:
        return re.compile("^" + rx + r"\Z")
    except re.error:
        return None


def locator_mismatch(
    p: ParamSpec, values: Mapping[str, Any], ctx: ParamContext
) -> tuple[str, str] | None:
    """(mode, value) when a resource locator's value fails its mode's validation regex."""
    value = values.get(p.name, MISSING)
    if not isinstance(value, dict) or "value" not in value or "mode" not in value:
        return None
    rxs = (p.modes or {}).get(str(value.get("mode")))
    if not rxs or not _displayed(p, values, ctx):
        return None
    raw = value.get("value")
    text = "" if raw is None or raw == "" else _js_string(raw)
    if text.startswith("="):
        return None
    for rx in rxs:
        pattern = _js_regex(rx)
        if pattern is not None and pattern.search(text) is None:
            return str(value.get("mode")), text
    return None


def _js_string(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def is_missing(p: ParamSpec, values: Mapping[str, Any], ctx: ParamContext) -> bool:
    if not _displayed(p, values, ctx):
        return False
    value = values.get(p.name, MISSING)
    if p.multiple:
        return isinstance(value, list) and any(_empty(p, v) for v in value)
    return _empty(p, value)


# -- expressions --------------------------------------------------------------------------------
