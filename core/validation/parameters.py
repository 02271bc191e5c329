"""Which parameters of a node are required and missing under its current values: a port of
n8n-workflow's `addToIssuesIfMissing`, plus resource-locator values. Which are shown at all
(`shown`, `with_defaults`, `ParamContext`) is the catalog's `core.catalog.display_options`,
named here too for the callers that read a node's parameters through the validator."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from core.catalog import ParamSpec
from core.catalog.display_options import MISSING, is_number
from core.catalog.display_options import ParamContext as ParamContext
from core.catalog.display_options import shown as shown
from core.catalog.display_options import with_defaults as with_defaults


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
    if not rxs or not shown(p.display_options, values, ctx):
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
    if not shown(p.display_options, values, ctx):
        return False
    value = values.get(p.name, MISSING)
    if p.multiple:
        return isinstance(value, list) and any(_empty(p, v) for v in value)
    return _empty(p, value)


# -- expressions --------------------------------------------------------------------------------
