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
from core.validation.credential_use import (
    CredentialUseChecks,
    inline_credential_issues,
    short_name,
)

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
SUBWORKFLOW_SOURCES = ("database", "parameter")
HINT_DATABASE = (
    'Set "source" to "database" and pick, in "workflowId", a workflow of the same project.'
)


class GuardChecks(CredentialUseChecks):
    def check_guards(self, node: dict[str, Any], *, subject: str, report_as: str) -> None:
        """Check what `node` runs and calls; issues are reported on node `report_as`, and their
        messages start with `subject` (which names the node, and the sub-workflow it sits in)."""
        if self.policy is None:
            return
        params = node.get("parameters")
        if not isinstance(params, dict):
            return
        kind = short_name(str(node.get("type") or ""))
        for path in (*FETCHED_URLS.get(kind, ()), *EVERY_NODE_URLS):
            for url in values_at(params, path):
                self._check_url(url, subject=subject, report_as=report_as)
        if kind in SUBWORKFLOW_NODES:
            self._check_subworkflow(params, subject=subject, report_as=report_as)
        for name in CODE_FIELDS.get(kind, ()):
            code = params.get(name)
            if isinstance(code, str):
                self._check_code(code, subject=subject, report_as=report_as)

    # -- URLs a node fetches --------------------------------------------------------------------

    def _check_url(self, url: object, *, subject: str, report_as: str) -> None:
        assert self.policy is not None
        if not isinstance(url, str) or not url:
            return
        host = url_host(url)
        if host is None:
            self.add(
                "url_not_checked",
                f"{subject}: its URL is built at run time, so the host it calls cannot be "
                "checked before deploy; make sure it can never point at an internal address.",
                node=report_as,
                hint="Write the scheme and host literally (https://api.example.com/…) and keep "
                "expressions to the path and query.",
                severity="warning",
            )
            return
        found = internal_host(host)
        if found is None or self.policy.host_allowed(found.host, found.ip):
            return
        allow = str(found.ip) if found.ip is not None else found.host
        self.add(
            "internal_host",
            f"{subject} calls {found.shown()}, {found.why}: workflows may not call internal "
            "hosts unless the project allows them.",
            node=report_as,
            hint="Call a public address instead. If the workflow really must reach this host, a "
            f"project owner can allow it: `clixen policy allow-host {allow}`.",
        )

    def _check_code(self, code: str, *, subject: str, report_as: str) -> None:
        assert self.policy is not None
        seen: set[str] = set()
        for match in _URL_IN_CODE.finditer(code):
            host = url_host(match.group(0))
            found = internal_host(host) if host else None
            if found is None or found.host in seen:
                continue
            if self.policy.host_allowed(found.host, found.ip):
                continue
            seen.add(found.host)
            allow = str(found.ip) if found.ip is not None else found.host
            self.add(
                "internal_host_in_code",
                f"{subject} has code that names {found.shown()}, {found.why}: code can send "
                "requests (helpers.httpRequest), and workflows may not call internal hosts unless "
                "the project allows them.",
                node=report_as,
                hint="Call a public address instead. If the workflow really must reach this host, "
                f"a project owner can allow it: `clixen policy allow-host {allow}`.",
                severity="warning",
            )

    # -- sub-workflows --------------------------------------------------------------------------

    def _refuse_source(self, why: str, *, subject: str, report_as: str) -> None:
        self.add(
            "subworkflow_source_denied",
            f"{subject} {why}, so what it runs cannot be checked against this project's policy.",
            node=report_as,
            hint=HINT_DATABASE,
        )

    def _check_subworkflow(self, params: dict[str, Any], *, subject: str, report_as: str) -> None:
        source = params.get("source", "database")
        if source == "database":
            self._check_called(params.get("workflowId"), subject=subject, report_as=report_as)
            return
        refuse = {"subject": subject, "report_as": report_as}
        if source == "url":
            self._refuse_source("loads its sub-workflow from a URL", **refuse)
            return
        if source == "localFile":
            self._refuse_source("loads its sub-workflow from a file on the n8n server", **refuse)
            return
        if source != "parameter":
            how = "chooses at run time" if str(source).startswith("=") else "does not say clearly"
            self._refuse_source(f"{how} where its sub-workflow comes from", **refuse)
            return
        raw = params.get("workflowJson")
        if isinstance(raw, str) and raw.startswith("="):
            self._refuse_source("builds its inline sub-workflow at run time", **refuse)
            return
        sub = raw
        if isinstance(raw, str):
            try:
                sub = json.loads(raw)
            except ValueError:
                sub = None
        if not isinstance(sub, dict):
            self._refuse_source("has an inline sub-workflow that is not a JSON object", **refuse)
            return
        if self.depth >= MAX_SUBWORKFLOW_DEPTH:
            self._refuse_source(
                f"nests inline sub-workflows more than {MAX_SUBWORKFLOW_DEPTH} levels deep",
                **refuse,
            )
            return
        self._check_inline(sub, subject=subject, report_as=report_as)

    def _check_called(self, workflow_id: object, *, subject: str, report_as: str) -> None:
        """A workflow run from n8n's database must be one of the project's own (when the policy
        knows them): another project's workflow would run with that project's credentials."""
        assert self.policy is not None
        ours = self.policy.workflows
        if ours is None:
            return
        locator = workflow_id if isinstance(workflow_id, dict) else {"value": workflow_id}
        value, mode = locator.get("value"), locator.get("mode")
        if not isinstance(value, str) or not value.strip():
            return  # runs nothing: n8n's own required-parameter check refuses it
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
                    self.add(
                        "invalid_parameter_value",
                        f'{subject} names workflow "{ours[called]}" by its URL, but n8n looks '
                        "a sub-workflow up by its id only.",
                        node=report_as,
                        hint='Set "workflowId" to {"__rl": true, "mode": "id", "value": '
                        f'"{called}"}}.',
                    )
                return
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
        self.add("foreign_workflow", f"{subject} {problem}", node=report_as, hint=hint)

    def _check_inline(self, sub: dict[str, Any], *, subject: str, report_as: str) -> None:
        """Every node of an inline sub-workflow, under the same policy, one level deeper. Only
        what the policy guards is checked: n8n checks nothing else of it before it runs."""
        nodes = sub.get("nodes")
        if not isinstance(nodes, list):
            return  # nothing in it can run
        inner = type(self)(self.catalog, self.policy, self.depth + 1)
        for i, raw in enumerate(nodes):
            if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
                continue
            label = raw.get("name") if isinstance(raw.get("name"), str) else f"#{i + 1}"
            where = f'{subject} runs an inline sub-workflow whose node "{label}"'
            denied = inner.denied_type(raw["type"])
            if denied is not None:
                assert self.policy is not None
                spec = self.catalog.get(denied)
                shown = spec.display_name if spec is not None else denied
                self.add(
                    "node_denied",
                    f"{where} ({shown}) is not allowed in this project: {self.policy.why(denied)}",
                    node=report_as,
                    hint=f"Remove the {shown} node from the inline sub-workflow of "
                    f'"{report_as}", or run a workflow of the same project instead '
                    '(source "database").',
                )
                continue
            inner.check_guards(raw, subject=where, report_as=report_as)
            inner.check_credential_use(raw, short_name(raw["type"]), report_as=report_as)
            inner.issues.extend(inline_credential_issues(raw, where=where, report_as=report_as))
        self.issues.extend(inner.issues)


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
