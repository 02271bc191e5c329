"""The parameters and credential types a node shows only when a switch has another value than
its default (HTTP Request's `jsonBody` under `sendBody=true, specifyBody=json`, Slack's
`slackOAuth2Api` under `authentication=oAuth2`), found by turning each shown switch to each of
its other values — the same displayOptions n8n's own builder reads in its per-operation type
definitions, evaluated by the validator's logic (`core.validation.parameters.shown`).

A spec renders at the defaults; this is what it lists under `when`, so a model that turns a
switch on knows what that switch brings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from core.catalog import ParamSpec, VersionClass
from core.generation.node_lookup.params import _params_of
from core.validation.parameters import ParamContext, shown, with_defaults
from core.validation.shapes import MISSING

if TYPE_CHECKING:
    from core.generation.node_lookup.choice import Operation

MAX_DEPTH = 3  # switches under switches (sendBody → contentType → specifyBody)
MAX_STATES = 400  # switch values tried per node and operation (bounded work on any node)
MAX_VALUES_PER_SWITCH = 40
_SWITCH_TYPES = frozenset({"boolean", "options"})


@dataclass(frozen=True)
class Switched:
    """What one switch setting adds: `condition` as written in a spec ("sendBody=true,
    specifyBody=json"), the switch values it takes, the indexes of the node's properties it
    shows and the credential types it shows."""

    condition: str
    values: Mapping[str, Any]
    params: tuple[int, ...]
    credentials: tuple[str, ...]


def condition_text(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_value_text(v)}" for k, v in values.items())


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_values(text: Mapping[str, Any]) -> dict[str, Any]:
    """Switch values given as text ("true", "json") → the values n8n compares (booleans and
    numbers where the text is one)."""
    out: dict[str, Any] = {}
    for key, raw in text.items():
        value: Any = raw
        if isinstance(raw, str):
            low = raw.strip().lower()
            if low in ("true", "false"):
                value = low == "true"
            else:
                try:
                    value = float(raw) if "." in raw else int(raw)
                except ValueError:
                    value = raw
        out[str(key)] = value
    return out


def switched(
    node: Mapping[str, Any],
    node_type: str,
    op: Operation,
    credentials: Sequence[tuple[str, Mapping[str, Any] | None]] = (),
    base: Mapping[str, Any] | None = None,
) -> list[Switched]:
    """Each switch setting that shows parameters (or credential slots) not shown at `base`
    (switch values already chosen; n8n's defaults elsewhere), in n8n's order of the switches,
    each property and credential listed once, under the first setting that shows it."""
    key = (
        node_type,
        op.resource,
        op.operation,
        tuple((n, _freeze(d)) for n, d in credentials),
        _freeze(dict(base or {})),
    )
    del node  # read again by type inside the cache (a dict is not hashable)
    return list(_switched(key))


def _freeze(value: Any) -> Any:
    return json.dumps(value, sort_keys=True, default=str)


@lru_cache(maxsize=512)
def _switched(key: tuple[Any, ...]) -> tuple[Switched, ...]:
    """`switched` for a hashable key: a breadth-first walk over switch settings, MAX_DEPTH
    switches deep and at most MAX_STATES settings tried."""
    node_type, resource, operation, creds, base_text = key
    node = _params_of(node_type)
    if node is None:
        return ()
    credentials = [(n, json.loads(d)) for n, d in creds]
    chosen = {k: v for k, v in (("resource", resource), ("operation", operation)) if v}
    chosen.update(json.loads(base_text))
    node_at = _NodeAt(node, node_type, chosen, credentials)
    props = node["p"]
    _, seen_params, seen_creds = node_at.shown({})
    out: list[Switched] = []
    frontier: list[dict[str, Any]] = [{}]
    tried = 0
    for _depth in range(MAX_DEPTH):
        following: list[dict[str, Any]] = []
        for extra in frontier:
            values, on, _slots = node_at.shown(extra)
            for i in sorted(on):
                p = props[i]
                if p["t"] not in _SWITCH_TYPES or p["n"] in ("resource", "operation"):
                    continue
                if p["n"] in extra or p["n"] in chosen:
                    continue
                for value in _other_values(p, values.get(p["n"])):
                    if tried >= MAX_STATES:
                        return tuple(out)
                    tried += 1
                    setting = {**extra, p["n"]: value}
                    _, now_on, now_slots = node_at.shown(setting)
                    new_params = tuple(sorted(now_on - seen_params))
                    new_creds = tuple(
                        n for n, _ in credentials if n in now_slots and n not in seen_creds
                    )
                    if not new_params and not new_creds:
                        continue
                    seen_params |= set(new_params)
                    seen_creds |= set(new_creds)
                    out.append(Switched(condition_text(setting), setting, new_params, new_creds))
                    following.append(setting)
        frontier = following
        if not frontier:
            break
    return tuple(out)


class _NodeAt:
    """What a node shows when its switches take values: the chosen ones, plus those tried."""

    def __init__(
        self,
        node: Mapping[str, Any],
        node_type: str,
        chosen: Mapping[str, Any],
        credentials: Sequence[tuple[str, Any]],
    ) -> None:
        self.props = node["p"]
        self.specs = [
            ParamSpec(
                name=p["n"],
                type=p["t"],
                default=p.get("d"),
                required=bool(p.get("r")),
                display_options=p.get("s"),
            )
            for p in self.props
        ]
        self.vc = VersionClass((node["v"],), None, 0, tuple(self.specs))
        self.ctx = ParamContext(version=node["v"], node_type=node_type)
        self.chosen = chosen
        self.credentials = credentials

    def shown(self, extra: Mapping[str, Any]) -> tuple[dict[str, Any], set[int], set[str]]:
        """(every value, the indexes of the parameters shown, the credential slots shown) with
        the switches of `extra` set."""
        picked = {**self.chosen, **extra}
        values = with_defaults(self.vc, picked, self.ctx)
        for p in self.props:  # an options parameter without a default shows its first option
            unset = values.get(p["n"]) in (None, "", MISSING) and p["n"] not in picked
            if p["t"] == "options" and p.get("o") and unset:
                first = p["o"][0]
                picked[p["n"]] = first[0] if isinstance(first, list) else first
        values = with_defaults(self.vc, picked, self.ctx)
        on = {
            i
            for i, s in enumerate(self.specs)
            if shown(s.display_options, {k: v for k, v in values.items() if k != s.name}, self.ctx)
        }
        slots = {name for name, opts in self.credentials if shown(opts, values, self.ctx)}
        return values, on, slots


def _other_values(p: Mapping[str, Any], current: Any) -> list[Any]:
    if p["t"] == "boolean":
        return [not current] if isinstance(current, bool) else [True]
    values = [o[0] if isinstance(o, list) else o for o in p.get("o") or []]
    return [v for v in values if v != current][:MAX_VALUES_PER_SWITCH]
