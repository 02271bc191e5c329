"""The policy's guards on what a node does, beyond its type: sub-workflows a node runs (inline
ones are checked like the workflow itself; from the database only the project's own workflows;
other sources are refused), the hosts of every URL a node fetches (internal ones are refused
unless the project allows them) and literal internal URLs in code (a warning: code can send
requests, and builds URLs at run time too). Only with a policy."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from core.kernel.hosts import internal_host, url_host
from core.validation.base import Context, denied_type
from core.validation.credential_use import (
    check_credential_use,
    inline_credential_issues,
    short_name,
)
from core.validation.report import Issue

# Inline sub-workflows inside inline sub-workflows: checked this many levels deep, refused deeper.
MAX_SUBWORKFLOW_DEPTH = 3
# Node short names (lower case, without a "Tool" suffix) of nodes that run another workflow.
SUBWORKFLOW_NODES = frozenset({"executeworkflow", "toolworkflow"})
# Node short name → where in its parameters a URL sits that n8n itself connects to (a list in the
# way is read item by item). App nodes whose API host is fixed are not here: only URLs the
# workflow chooses. LLM nodes' `baseURL` counts: n8n sends the credential's API key there.
_NEXT_URL = ("options", "pagination", "pagination", "nextURL")
FETCHED_URLS: dict[str, tuple[tuple[str, ...], ...]] = {
    "httprequest": (("url",), _NEXT_URL, ("options", "proxy")),
    "toolhttprequest": (("url",),),
    "rssfeedread": (("url",),),
    "rssfeedreadtrigger": (("feedUrl",),),
    "graphql": (("endpoint",),),
    "ssetrigger": (("url",),),
    "mcpclient": (("endpointUrl",), ("sseEndpoint",)),
    "discord": (("webhookUri",),),  # v1 posts the message to this URL
    "lmchatopenai": (("options", "baseURL"),),
    "lmopenai": (("options", "baseURL"),),
    "embeddingsopenai": (("options", "baseURL"),),
    "openai": (("options", "baseURL"),),
    "openaiassistant": (("options", "baseURL"),),
    "lmopenhuggingfaceinference": (("options", "endpointUrl"),),
    "embeddingshuggingfaceinference": (("options", "endpointUrl"),),
    "kafka": (("schemaRegistryUrl",),),
    "kafkatrigger": (("schemaRegistryUrl",),),
}
# Node short name → its code parameters. The task runner gives code `helpers.httpRequest`, so a
# literal internal URL in it is a call n8n may make; only a warning: code builds URLs at run time
# too, which no check here sees (n8n's SSRF protection is the defence for those).
CODE_FIELDS: dict[str, tuple[str, ...]] = {
    "code": ("jsCode", "pythonCode"),
    "aitransform": ("jsCode",),
    "function": ("functionCode",),
    "functionitem": ("functionCode",),
}
_URL_IN_CODE = re.compile(r"(?i)\b(?:https?|wss?|ftp)://[^\s'\"`<>\\]+")
# Every declarative (routing-based) node has this option: n8n connects to the proxy it names.
EVERY_NODE_URLS = (("requestOptions", "proxy"),)
# The workflow id in an n8n editor URL (https://n8n.example.com/workflow/<id>/…).
_WORKFLOW_URL = re.compile(r"/workflow/([A-Za-z0-9_-]+)(?:[/?#]|$)")
HINT_DATABASE = (
    'Set "source" to "database" and pick, in "workflowId", a workflow of the same project.'
)


def check_guards(
    ctx: Context, node: dict[str, Any], *, subject: str, report_as: str
) -> list[Issue]:
    """What `node` runs and calls, against the policy; issues are reported on node `report_as`,
    and their messages start with `subject` (which names the node, and the sub-workflow it sits
    in). Nothing without a policy."""
    params = node.get("parameters")
    if ctx.policy is None or not isinstance(params, dict):
        return []
    kind = short_name(str(node.get("type") or ""))
    where = {"subject": subject, "report_as": report_as}
    out = [
        found
        for path in (*FETCHED_URLS.get(kind, ()), *EVERY_NODE_URLS)
        for url in values_at(params, path)
        for found in _check_url(ctx, url, **where)
    ]
    if kind in SUBWORKFLOW_NODES:
        out += _check_subworkflow(ctx, params, **where)
    for name in CODE_FIELDS.get(kind, ()):
        code = params.get(name)
        if isinstance(code, str):
            out += _check_code(ctx, code, **where)
    return out


# -- URLs a node fetches --------------------------------------------------------------------


def _check_url(ctx: Context, url: object, *, subject: str, report_as: str) -> list[Issue]:
    out: list[Issue] = []
    assert ctx.policy is not None
    if not isinstance(url, str) or not url:
        return out
    host = url_host(url)
    if host is None:
        out.append(
            Issue(
                "url_not_checked",
                f"{subject}: its URL is built at run time, so the host it calls cannot be "
                "checked before deploy; make sure it can never point at an internal address.",
                node=report_as,
                hint="Write the scheme and host literally (https://api.example.com/…) and keep "
                "expressions to the path and query.",
                severity="warning",
            )
        )
        return out
    found = internal_host(host)
    if found is None or ctx.policy.host_allowed(found.host, found.ip):
        return out
    allow = str(found.ip) if found.ip is not None else found.host
    out.append(
        Issue(
            "internal_host",
            f"{subject} calls {found.shown()}, {found.why}: workflows may not call internal "
            "hosts unless the project allows them.",
            node=report_as,
            hint="Call a public address instead. If the workflow really must reach this host, a "
            f"project owner can allow it: `clixen policy allow-host {allow}`.",
        )
    )
    return out


def _check_code(ctx: Context, code: str, *, subject: str, report_as: str) -> list[Issue]:
    out: list[Issue] = []
    assert ctx.policy is not None
    seen: set[str] = set()
    for match in _URL_IN_CODE.finditer(code):
        host = url_host(match.group(0))
        found = internal_host(host) if host else None
        if found is None or found.host in seen:
            continue
        if ctx.policy.host_allowed(found.host, found.ip):
            continue
        seen.add(found.host)
        allow = str(found.ip) if found.ip is not None else found.host
        out.append(
            Issue(
                "internal_host_in_code",
                f"{subject} has code that names {found.shown()}, {found.why}: code can send "
                "requests (helpers.httpRequest), and workflows may not call internal hosts unless "
                "the project allows them.",
                node=report_as,
                hint="Call a public address instead. If the workflow really must reach this host, "
                f"a project owner can allow it: `clixen policy allow-host {allow}`.",
                severity="warning",
            )
        )
    return out


# -- sub-workflows --------------------------------------------------------------------------


def _refuse_source(why: str, *, subject: str, report_as: str) -> list[Issue]:
    return [
        Issue(
            "subworkflow_source_denied",
            f"{subject} {why}, so what it runs cannot be checked against this project's policy.",
            report_as,
            hint=HINT_DATABASE,
        )
    ]


def _check_subworkflow(
    ctx: Context, params: dict[str, Any], *, subject: str, report_as: str
) -> list[Issue]:
    source = params.get("source", "database")
    where = {"subject": subject, "report_as": report_as}
    if source == "database":
        return _check_called(ctx, params.get("workflowId"), **where)
    if source == "url":
        return _refuse_source("loads its sub-workflow from a URL", **where)
    if source == "localFile":
        return _refuse_source("loads its sub-workflow from a file on the n8n server", **where)
    if source != "parameter":
        how = "chooses at run time" if str(source).startswith("=") else "does not say clearly"
        return _refuse_source(f"{how} where its sub-workflow comes from", **where)
    raw = params.get("workflowJson")
    if isinstance(raw, str) and raw.startswith("="):
        return _refuse_source("builds its inline sub-workflow at run time", **where)
    sub = raw
    if isinstance(raw, str):
        try:
            sub = json.loads(raw)
        except ValueError:
            sub = None
    if not isinstance(sub, dict):
        return _refuse_source("has an inline sub-workflow that is not a JSON object", **where)
    if ctx.depth >= MAX_SUBWORKFLOW_DEPTH:
        return _refuse_source(
            f"nests inline sub-workflows more than {MAX_SUBWORKFLOW_DEPTH} levels deep", **where
        )
    return _check_inline(ctx, sub, **where)


def _check_called(
    ctx: Context, workflow_id: object, *, subject: str, report_as: str
) -> list[Issue]:
    """A workflow run from n8n's database must be one of the project's own (when the policy
    knows them): another project's workflow would run with that project's credentials."""
    out: list[Issue] = []
    assert ctx.policy is not None
    ours = ctx.policy.workflows
    if ours is None:
        return out
    locator = workflow_id if isinstance(workflow_id, dict) else {"value": workflow_id}
    value, mode = locator.get("value"), locator.get("mode")
    if not isinstance(value, str) or not value.strip():
        return out  # runs nothing: n8n's own required-parameter check refuses it
    value = value.strip()
    if value.startswith("="):
        problem = (
            "picks the workflow it runs at run time, so it cannot be checked: the workflow "
            "it calls must be fixed at deploy time."
        )
    else:
        called = value
        if mode == "url":
            found = _WORKFLOW_URL.search(value)
            called = found.group(1) if found else ""
        if called in ours:
            if called != value:
                # n8n (2.40.7) runs and publishes by the locator's value as is: a URL is no id.
                out.append(
                    Issue(
                        "invalid_parameter_value",
                        f'{subject} names workflow "{ours[called]}" by its URL, but n8n looks '
                        "a sub-workflow up by its id only.",
                        node=report_as,
                        hint='Set "workflowId" to {"__rl": true, "mode": "id", "value": '
                        f'"{called}"}}.',
                    )
                )
            return out
        shown = f'"{called}"' if called else f"the URL {value!r}, which names no workflow,"
        problem = (
            f"runs n8n workflow {shown} which is not a workflow of this project: a workflow "
            "may only run workflows of the same project."
        )
    if ours:
        listed = ", ".join(f'"{name}" ({i})' for i, name in list(ours.items())[:10])
        more = f" (and {len(ours) - 10} more)" if len(ours) > 10 else ""
        hint = f'Set "workflowId" to one of this project\'s workflows: {listed}{more}.'
    else:
        hint = (
            "This project has no deployed workflow to call yet: deploy the sub-workflow in "
            'this project first, then set "workflowId" to its id.'
        )
    out.append(Issue("foreign_workflow", f"{subject} {problem}", node=report_as, hint=hint))
    return out


def _check_inline(
    ctx: Context, sub: dict[str, Any], *, subject: str, report_as: str
) -> list[Issue]:
    """Every node of an inline sub-workflow, under the same policy, one level deeper. Only
    what the policy guards is checked: n8n checks nothing else of it before it runs."""
    out: list[Issue] = []
    nodes = sub.get("nodes")
    if not isinstance(nodes, list):
        return out  # nothing in it can run
    inner, found = ctx.deeper(), []
    for i, raw in enumerate(nodes):
        if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
            continue
        label = raw.get("name") if isinstance(raw.get("name"), str) else f"#{i + 1}"
        where = f'{subject} runs an inline sub-workflow whose node "{label}"'
        denied = denied_type(inner, raw["type"])
        if denied is not None:
            assert ctx.policy is not None
            spec = ctx.catalog.get(denied)
            shown = spec.display_name if spec is not None else denied
            out.append(
                Issue(
                    "node_denied",
                    f"{where} ({shown}) is not allowed in this project: {ctx.policy.why(denied)}",
                    node=report_as,
                    hint=f"Remove the {shown} node from the inline sub-workflow of "
                    f'"{report_as}", or run a workflow of the same project instead '
                    '(source "database").',
                )
            )
            continue
        found += check_guards(inner, raw, subject=where, report_as=report_as)
        found += check_credential_use(raw, short_name(raw["type"]), report_as=report_as)
        found += inline_credential_issues(raw, where=where, report_as=report_as)
    return [*out, *found]


def called_hosts(node: Mapping[str, Any]) -> list[str | None]:
    """The hosts of the URLs a node calls (`FETCHED_URLS`), in order; None for a host built at
    run time (an edit that changes them unbinds the node's credential)."""
    params = node.get("parameters")
    if not isinstance(params, dict):
        return []
    kind = short_name(str(node.get("type") or ""))
    return [
        url_host(url)
        for path in (*FETCHED_URLS.get(kind, ()), *EVERY_NODE_URLS)
        for url in values_at(params, path)
        if isinstance(url, str)
    ]


def values_at(params: dict[str, Any], path: tuple[str, ...]) -> Iterator[object]:
    """The values under `path` in a node's parameters, through any lists on the way."""
    here: list[object] = [params]
    for key in path:
        nxt: list[object] = []
        for item in here:
            for one in item if isinstance(item, list) else [item]:
                if isinstance(one, dict) and key in one:
                    nxt.append(one[key])
        here = nxt
    yield from here
