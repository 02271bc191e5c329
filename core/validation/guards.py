"""The policy's guards on what a node does, beyond its type: sub-workflows a node runs (inline
ones are checked like the workflow itself, other sources are refused) and the hosts HTTP Request
nodes call (internal ones are refused unless the project allows them). Only with a policy."""

from __future__ import annotations

import json
from typing import Any

from core.validation.base import Checks
from core.validation.hosts import internal_host, url_host

# Inline sub-workflows inside inline sub-workflows: checked this many levels deep, refused deeper.
MAX_SUBWORKFLOW_DEPTH = 3
# Node short names (lower case, without a "Tool" suffix) of nodes that run another workflow, and
# of nodes that send an HTTP request to their `url` parameter.
SUBWORKFLOW_NODES = frozenset({"executeworkflow", "toolworkflow"})
HTTP_NODES = frozenset({"httprequest", "toolhttprequest"})
SUBWORKFLOW_SOURCES = ("database", "parameter")
HINT_DATABASE = (
    'Set "source" to "database" and pick, in "workflowId", a workflow of the same project.'
)


def short_name(node_type: str) -> str:
    """`n8n-nodes-base.httpRequestTool` → `httprequest`: what a node does, however spelled."""
    short = node_type.strip().rsplit(".", 1)[-1].lower()
    return short[: -len("tool")] if short.endswith("tool") and short != "tool" else short


class GuardChecks(Checks):
    def check_guards(self, node: dict[str, Any], *, subject: str, report_as: str) -> None:
        """Check what `node` runs and calls; issues are reported on node `report_as`, and their
        messages start with `subject` (which names the node, and the sub-workflow it sits in)."""
        if self.policy is None:
            return
        params = node.get("parameters")
        if not isinstance(params, dict):
            return
        kind = short_name(str(node.get("type") or ""))
        if kind in HTTP_NODES:
            self._check_url(params.get("url"), subject=subject, report_as=report_as)
        elif kind in SUBWORKFLOW_NODES:
            self._check_subworkflow(params, subject=subject, report_as=report_as)

    # -- HTTP requests --------------------------------------------------------------------------

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
        self.issues.extend(inner.issues)
