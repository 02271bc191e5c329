"""Which resource/operation of a node a request most likely needs: the words it shares with
the option's value and action (the main verb included, and the operation words our verb hints
add), then how often real templates use it (n8n's implicit defaults counted), then n8n's
default. A destructive operation is never guessed. The spec lists every operation anyway, so a
wrong guess never hides the right one."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.catalog import ParamSpec, VersionClass
from core.generation.templates import tokens
from core.validation.parameters import ParamContext, with_defaults

# Request verbs and the operation words they usually mean.
_VERB_HINTS: dict[str, str] = {
    "post": "send post create",
    "send": "send post",
    "notify": "send post",
    "alert": "send post",
    "dm": "send post",
    "message": "send post",
    "email": "send",
    "mail": "send",
    "tweet": "create",
    "add": "create append add insert",
    "insert": "insert create append",
    "create": "create",
    "store": "create append insert",
    "save": "create append upload",
    "upload": "upload",
    "write": "append create update",
    "update": "update",
    "delete": "delete",
    "remove": "delete",
    "fetch": "get getAll",
    "read": "get getAll",
    "list": "getAll",
    "look": "get search",
    "search": "search getAll",
    "find": "search get",
    "download": "download get",
    "export": "append create",
    "put": "append create",
    "log": "append create",
    "make": "create",
    "get": "get getall",
    "msg": "send post",
    "ping": "send post",
    "reply": "reply",
    "approve": "sendandwait",
    "approval": "sendandwait",
    "approved": "sendandwait",
    "approves": "sendandwait",
    "transcribe": "transcribe",
    "upsert": "upsert appendorupdate",
    "sync": "appendorupdate upsert",
    "exist": "appendorupdate upsert",
    "exists": "appendorupdate upsert",
    "label": "addlabels",
    "labelled": "addlabels",
}
# Verbs the template keyword search drops as noise but that name an operation.
_OPERATION_VERBS = frozenset({"create", "send", "make", "get", "gets", "update", "all"})


@dataclass(frozen=True)
class Operation:
    resource: str | None
    operation: str | None
    # When no word of the request named the operation (it is the most used or n8n's default),
    # the resource's other operations, so the prompt offers the choice instead of imposing it.
    alternatives: tuple[str, ...] = ()


def _as_param_specs(props: Sequence[Mapping[str, Any]]) -> tuple[ParamSpec, ...]:
    return tuple(
        ParamSpec(
            name=p["n"],
            type=p["t"],
            default=p.get("d"),
            required=bool(p.get("r")),
            display_options=p.get("s"),
        )
        for p in props
    )


def _words(text: str) -> set[str]:
    """`tokens` of `text` keeping the verbs that name operations ("create", "send", "get")."""
    raw = re.findall(r"[a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text).lower())
    return tokens(text) | {w for w in raw if w in _OPERATION_VERBS}


def _request_words(text: str) -> set[str]:
    words = _words(text)
    for w in list(words):
        words |= set(_VERB_HINTS.get(w, "").lower().split())
    return words


def _match(words: set[str], value: Any, label: str) -> float:
    option = _words(f"{value} {label}") | {str(value).lower()}
    return float(len(words & option))


def _usage_with_defaults(
    usage: Mapping[tuple[str | None, str | None], int],
    default_resource: Any,
    default_ops: Mapping[Any, Any],
) -> dict[tuple[Any, Any], int]:
    """Template usage with implicit values filled in: a Slack node that leaves resource and
    operation out posts a message (n8n's defaults), so it counts as ("message", "post")."""
    out: dict[tuple[Any, Any], int] = {}
    for (resource, operation), n in usage.items():
        r = resource if resource is not None else default_resource
        o = operation if operation is not None else default_ops.get(r)
        out[(r, o)] = out.get((r, o), 0) + n
    return out


MAX_ALTERNATIVES = 12
USAGE_WEIGHT = 0.9
_DESTRUCTIVE = re.compile(r"(?i)^(delete|remove|clear|archive|kick|leave|ban|trash|close|disable)")


def choose_operation(
    node: Mapping[str, Any],
    node_type: str,
    request: str,
    *,
    usage: Mapping[tuple[str | None, str | None], int] | None = None,
) -> Operation:
    """The resource/operation of `node` that `request` most likely needs: the most words in
    common with the option's value and action, then the most used in real templates, then
    n8n's default."""
    props = node["p"]
    vc = VersionClass((node["v"],), None, 0, _as_param_specs(props))
    ctx = ParamContext(version=node["v"], node_type=node_type)
    words = _request_words(request)
    resource_prop = next((p for p in props if p["n"] == "resource" and "o" in p), None)
    resources: list[tuple[Any, str]] = (
        [tuple(o) for o in resource_prop["o"]] if resource_prop else [(None, "")]
    )
    best: tuple[tuple[float, int, int], Operation] | None = None
    named_op = False
    choices: tuple[str, ...] = ()
    per_resource = _operations_by_resource(props, resources, vc, ctx)
    default_resource = resource_prop.get("d") if resource_prop else None
    counts = _usage_with_defaults(
        usage or {}, default_resource, {r: d for r, _, _, d in per_resource}
    )
    most_used = max(counts.values(), default=0)
    for resource, r_label, ops, default_op in per_resource:
        for op, o_label in ops:
            if _DESTRUCTIVE.match(str(op or "")) and not (
                tokens(str(op)) & words and (resource is None or tokens(str(resource)) & words)
            ):
                continue  # never guessed: "delete the channel" gets it, "leave a note" not
            score = _match(words, resource, r_label) * 0.5 + _match(words, op, o_label)
            used = counts.get((resource, op), 0)
            is_default = int(
                (resource_prop is None or resource == resource_prop.get("d")) and op == default_op
            )
            # How real templates use this node counts like half a matching word at most: a
            # weak match ("list" → getAll) must not beat what nearly every template does.
            prior = USAGE_WEIGHT * popularity(used, most_used)
            key = (score + prior, used, is_default)
            if best is None or key > best[0]:
                best = (key, Operation(resource, op))
                # Named = a word of the operation itself (not its resource) is in the request.
                named_op = bool(tokens(str(op)) & words) if op is not None else False
                choices = tuple(str(o) for o, _ in ops if o is not None)
    if best is None:
        return Operation(None, None)
    chosen = best[1]
    if named_op or len(choices) < 2:
        return chosen
    others = tuple(o for o in choices if o != chosen.operation)[:MAX_ALTERNATIVES]
    return Operation(chosen.resource, chosen.operation, others)


def _operations_by_resource(
    props: Sequence[Mapping[str, Any]],
    resources: list[tuple[Any, str]],
    vc: VersionClass,
    ctx: ParamContext,
) -> list[tuple[Any, str, list[tuple[Any, str]], Any]]:
    """(resource, its label, the (operation, label) pairs it shows, its default operation) for
    each resource."""
    per_resource: list[tuple[Any, str, list[tuple[Any, str]], Any]] = []
    for resource, r_label in resources:
        values = with_defaults(vc, {"resource": resource} if resource is not None else {}, ctx)
        shown_ops = [
            p for p in props if p["n"] == "operation" and "o" in p and _shown(p, vc, values, ctx)
        ]
        ops: list[tuple[Any, str]] = (
            [tuple(o) for o in shown_ops[0]["o"]] if shown_ops else [(None, "")]
        )
        per_resource.append((resource, r_label, ops, values.get("operation")))
    return per_resource


def _shown(
    p: Mapping[str, Any], vc: VersionClass, values: Mapping[str, Any], ctx: ParamContext
) -> bool:
    # with_defaults leaves out exactly the parameters that are not displayed.
    single = VersionClass(vc.versions, None, 0, _as_param_specs([p]))
    probe = {k: v for k, v in values.items() if k != p["n"]}
    return p["n"] in with_defaults(single, probe, ctx)


def popularity(count: int, most: int) -> float:
    """0..1: how common a node type is in real templates, on a log scale."""
    if most <= 0:
        return 0.0
    return math.log1p(count) / math.log1p(most)
