"""Which parameters and credential slots of a node apply under its current values: a port of
n8n-workflow's `displayParameter` (displayOptions `show`/`hide`, `_cnd` conditions, `@version`,
`@tool`), with the defaults n8n fills in first (`with_defaults`). Catalog knowledge: the
validator, the credentials' needs and the prompts' specs all read a node through it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from core.catalog.node_spec import ParamSpec, VersionClass


class _Missing:
    """JavaScript's `undefined` (a parameter that is not set)."""

    def __repr__(self) -> str:
        return "undefined"


MISSING: Any = _Missing()


def is_number(x: object) -> TypeGuard[int | float]:
    return isinstance(x, int | float) and not isinstance(x, bool)


@dataclass(frozen=True, slots=True)
class ParamContext:
    """What displayOptions may test besides parameters: the node's version (`@version`) and type
    (`@tool`)."""

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
    """The node's parameter values with the default of every shown parameter filled in."""
    # n8n fills in the default of every displayed parameter before it checks required ones.
    values = dict(params)
    for p in vc.params:
        if p.name not in values and _displayed(p, values, ctx):
            values[p.name] = p.default if p.default is not None else MISSING
    return values
