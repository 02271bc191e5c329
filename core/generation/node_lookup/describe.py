"""Parameters described for the model: one parameter's type, options, default, value shape
and n8n's hint (`describe`), the parameters an operation shows (`operation_params`), and those a
switch shows at another value, by the switch setting (`switched_params`, issue 29) — plus the
checks of the switch values a caller asks a spec for, and the filter version an example must
carry. `core.generation.specs` assembles a node's spec from these."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from core.catalog import NodeSpec, VersionClass
from core.generation.node_lookup import shapes
from core.generation.node_lookup.choice import Operation, _as_param_specs, _shown
from core.generation.node_lookup.params import _params_of, generic_auth_types, shown_values
from core.generation.node_lookup.switches import parse_values, switched
from core.validation.parameters import ParamContext

MAX_OPTIONS_IN_FULL = 12  # longer option lists are trimmed to their first values
MAX_PARAMS = 14
MAX_COLLECTION_FIELDS = 10
MAX_DEPTH = 4  # fixedCollections inside fixedCollections, rendered this deep (full specs)
MAX_HINT = 200  # characters of n8n's hints on one parameter in a first message
MAX_GROUP_FIELDS = 16  # fields of one fixedCollection group in a first message
MAX_SPEC_CHARS = 8_500  # a full spec longer than this lists `when` by names only
GENERIC_AUTH_NOTES = (
    "The node's credentials key is this same type: "
    '"credentials": {"httpHeaderAuth": {"name": "SECRET_NAME"}}.'
)
PREDEFINED_NOTES = (
    "The credential type n8n ships for the service called (e.g. slackApi, githubApi, "
    "notionApi); the node's credentials key is that same type."
)
WHEN_NOTE = (
    "when: parameters n8n shows only when a switch has that value; set the switch too. "
    "credentials_when: credential types for that switch value. For one setting in full call "
    'get_node_spec with "switches", e.g. {"sendBody": true}.'
)


def _options_text(values: Sequence[Any]) -> list[Any]:
    if len(values) <= MAX_OPTIONS_IN_FULL:
        return list(values)
    return [*values[: MAX_OPTIONS_IN_FULL - 2], f"…{len(values) - MAX_OPTIONS_IN_FULL + 2} more"]


def _describe(
    p: Mapping[str, Any], *, depth: int = 0, version: float = 1.0, full: bool = False
) -> Any:
    """One parameter for the prompt: a short dict of what the model must get right (`full`:
    every field of a fixedCollection at every depth, else the first few of each group)."""
    ptype = p["t"]
    out: dict[str, Any] = {"type": ptype}
    if p.get("r"):
        out["required"] = True
    if "o" in p:
        values = _unique(o[0] if isinstance(o, list) else o for o in p["o"])
        out["options"] = _options_text(values)
    if "d" in p and ptype not in ("fixedCollection", "collection", "filter"):
        out["default"] = p["d"]
    if ptype in ("resourceLocator", "workflowSelector"):
        out = _resource_locator(p)
    elif ptype == "filter":
        value = shapes.filter_shape(p.get("fv"), version)
        if not full:  # the notes say how a unary condition differs
            value["conditions"] = value["conditions"][:1]
        out["value"] = value
        out["notes"] = shapes.FILTER_NOTES
    elif ptype == "assignmentCollection":
        out["value"] = shapes.ASSIGNMENTS_SHAPE
    elif ptype == "resourceMapper":
        out["value"] = shapes.RESOURCE_MAPPER_SHAPE
        out["notes"] = shapes.RESOURCE_MAPPER_NOTES
    elif ptype == "fixedCollection" and depth < (MAX_DEPTH if full else 2):
        # (its default repeats the shape: left out)
        out["value"] = _fixed_collection_shape(p, depth=depth, version=version, full=full)
    elif ptype == "collection":
        names = _unique(p.get("f", []))
        out["fields"] = (
            names
            if full or len(names) <= MAX_COLLECTION_FIELDS
            else [*names[:MAX_COLLECTION_FIELDS], f"…{len(names) - MAX_COLLECTION_FIELDS} more"]
        )
    elif ptype == "credentialsSelect":
        out.pop("default", None)
        if p.get("ct") == ["has:genericAuth"] and generic_auth_types():
            out["options"] = list(generic_auth_types())
            out["notes"] = GENERIC_AUTH_NOTES
        else:
            out["notes"] = PREDEFINED_NOTES
    if "value" in out:
        out.pop("default", None)  # the shape says more than n8n's empty default
    hints = [h for h in (shapes.hint_text(t) for t in _param_hints(p)) if h]
    if hints:
        text = " ".join(_unique(hints))
        out["hint"] = text if full else shapes.whole_sentences(text, MAX_HINT)
    if depth > 0 and out.get("default") == "":
        del out["default"]  # an empty text field says nothing at depth
    if depth > 0 and set(out) == {"type"}:
        return ptype
    return out


def _resource_locator(p: Mapping[str, Any]) -> dict[str, Any]:
    """A resource locator's value shape, in the mode the model can fill best (an id)."""
    modes = [m for m in p.get("m", []) if m != "list"] or p.get("m", [])
    mode = "id" if "id" in modes else (modes[0] if modes else "id")
    return {
        "type": "resourceLocator",
        **({"required": True} if p.get("r") else {}),
        "value": {"__rl": True, "mode": mode, "value": "…"},
        "modes": modes,
    }


def _fixed_collection_shape(
    p: Mapping[str, Any], *, depth: int, version: float, full: bool
) -> dict[str, Any]:
    """Each group of a fixedCollection with its fields described (a list of them when it takes
    several values); beyond MAX_GROUP_FIELDS, unless `full`, how many more there are."""
    shape: dict[str, Any] = {}
    for group in p.get("c", []):
        values = group["v"] if full else group["v"][:MAX_GROUP_FIELDS]
        fields = {v["n"]: _describe(v, depth=depth + 1, version=version, full=full) for v in values}
        if len(values) < len(group["v"]):
            fields["…"] = f"{len(group['v']) - len(values)} more: get_node_spec"
        shape[group["n"]] = [fields] if p.get("mv") else fields
    return shape


def _param_hints(p: Mapping[str, Any]) -> list[str]:
    """n8n's builder hints on a parameter and on the fields of its collection."""
    found = [p["bh"]] if "bh" in p else []
    found += [f"{name}: {text}" for name, text in (p.get("fh") or {}).items()]
    return found


def operation_params(
    node: Mapping[str, Any],
    node_type: str,
    op: Operation,
    *,
    limit: int | None = MAX_PARAMS,
    switches: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The parameters shown for `op` (with `switches` turned), required ones first, each
    described (all of them when `limit` is None)."""
    props = node["p"]
    vc = VersionClass((node["v"],), None, 0, _as_param_specs(props))
    ctx = ParamContext(version=node["v"], node_type=node_type)
    values = shown_values(node, node_type, op, switches)
    seen: set[str] = set()
    shown = []
    for p in props:
        if p["n"] in seen or p["n"] in ("resource", "operation") or not _shown(p, vc, values, ctx):
            continue
        seen.add(p["n"])
        shown.append(p)
    shown.sort(key=lambda p: not p.get("r"))
    full = limit is None
    described = {p["n"]: _describe(p, version=float(node["v"]), full=full) for p in shown[:limit]}
    for name, value in (switches or {}).items():
        if name in described:  # what the caller turned is what the node sets
            described[name] = _with_value(described[name], value)
    return described


def _with_value(desc: Any, value: Any) -> Any:
    out = {"type": desc} if isinstance(desc, str) else dict(desc)
    out.pop("default", None)
    return {**out, "set": value}


def switched_params(
    node: Mapping[str, Any],
    spec: NodeSpec,
    cls: VersionClass | None,
    op: Operation,
    *,
    full: bool,
    switches: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The parameters (and credential types) a switch shows when set to another value than
    its default: condition ("sendBody=true, specifyBody=json") → {name: description} (`full`)
    or the names only (a first message); and condition → credential types."""
    creds = [(c.name, c.display_options) for c in (cls.credentials if cls else ())]
    params: dict[str, Any] = {}
    credentials: dict[str, list[str]] = {}
    version = float(node["v"])
    at_base = set(operation_params(node, spec.type, op, limit=None, switches=switches))
    for item in switched(node, spec.type, op, creds, base=switches):
        # A name already shown (Code's jsCode with another default) is not news.
        props = [
            node["p"][i]
            for i in item.params
            if node["p"][i]["n"] not in item.values and node["p"][i]["n"] not in at_base
        ]
        if not full:  # names only: a name listed under an earlier setting is not news
            listed = _names(params)
            props = [p for p in props if p["n"] not in listed]
        if props:
            params[item.condition] = (
                {p["n"]: _describe(p, version=version, full=True) for p in props}
                if full
                else _unique(p["n"] for p in props)
            )
        if item.credentials:
            credentials[item.condition] = list(item.credentials)
    return params, credentials


def _checked_switches(spec: NodeSpec, op: Operation, switches: Mapping[str, Any]) -> dict[str, Any]:
    """`switches` with text values read as n8n compares them; ValueError when a name is not a
    boolean/options parameter of the operation (at these values) or a value not one of its."""
    node = _params_of(spec.type)
    if node is None or float(node["v"]) != spec.latest_version:
        raise ValueError(f"{spec.type} has no switches to set")
    values = parse_values(switches)
    vc = VersionClass((node["v"],), None, 0, _as_param_specs(node["p"]))
    ctx = ParamContext(version=node["v"], node_type=spec.type)
    shown = shown_values(node, spec.type, op, values)
    names = []
    for p in node["p"]:
        switch = p["t"] in ("boolean", "options") and p["n"] not in ("resource", "operation")
        if switch and p["n"] not in names and _shown(p, vc, shown, ctx):
            names.append(p["n"])
    for name, value in values.items():
        if name not in names:
            raise ValueError(
                f"{name!r} is not a switch of {spec.type} here; switches: {', '.join(names)}"
            )
        p = next(p for p in node["p"] if p["n"] == name and _shown(p, vc, shown, ctx))
        allowed = (
            [True, False]
            if p["t"] == "boolean"
            else [o[0] if isinstance(o, list) else o for o in p.get("o") or []]
        )
        if value not in allowed or isinstance(value, bool) != (p["t"] == "boolean"):
            raise ValueError(
                f"{name} takes {', '.join(json.dumps(a) for a in allowed)}, not {json.dumps(value)}"
            )
    return values


def _filter_versions(example: Any, node: Mapping[str, Any]) -> Any:
    """`example` with each filter's `options.version` the one the spec states for the node's
    version (a template of an older version of the same class carries an older one)."""
    versions = {
        shapes.filter_version(p.get("fv"), float(node["v"]))
        for p in _all_props(node["p"])
        if p["t"] == "filter"
    }
    if len(versions) != 1:
        return example
    [version] = versions

    def fix(value: Any) -> Any:
        if isinstance(value, list):
            return [fix(v) for v in value]
        if not isinstance(value, dict):
            return value
        out = {k: fix(v) for k, v in value.items()}
        options = out.get("options")
        if "conditions" in out and isinstance(options, dict) and "version" in options:
            out["options"] = {**options, "version": version}
        return out

    return fix(example)


def _all_props(props: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    for p in props:
        yield p
        for group in p.get("c") or []:
            yield from _all_props(group.get("v") or [])


def _names(when: Mapping[str, Any]) -> set[str]:
    return {name for group in when.values() for name in group}


def _unique(values: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out
