"""Where a node sends its credential: a predefined credential (HTTP Request with
`authentication: predefinedCredentialType`, its AI-tool variants, GraphQL) may only go to its
service's domains (`core.catalog.credential_domains`), and the Clixen bot's token only to
Slack's own nodes. Run on every workflow, with or without a policy: n8n refuses both at run time
(Clixen writes the same restriction on the credential), so they are errors here. A node with no
credential of a type it accepts (`core.catalog.credential_needs`) is a `missing_credentials`
warning (`missing_credential_issues`)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from core.catalog import NodeCatalog
from core.catalog.credential_domains import (
    BOT_NODE_TYPES,
    BOT_SECRET,
    SERVICE_DOMAINS,
    bot_secret_of,
    domain_allowed,
    secret_name_of,
)
from core.catalog.credential_needs import missing_credentials, secret_command
from core.kernel.hosts import url_host
from core.validation.report import Issue

# Node short names (see `short_name`) that send a credential to a URL of the workflow's
# choosing, and where that URL sits in their parameters.
CREDENTIAL_URLS: dict[str, tuple[str, ...]] = {
    "httprequest": ("url",),
    "toolhttprequest": ("url",),
    "graphql": ("endpoint",),
}
PREDEFINED = "predefinedCredentialType"


def short_name(node_type: str) -> str:
    """`n8n-nodes-base.httpRequestTool` → `httprequest`: what a node does, however spelled."""
    short = node_type.strip().rsplit(".", 1)[-1].lower()
    return short[: -len("tool")] if short.endswith("tool") and short != "tool" else short


def inline_credential_issues(node: Mapping[str, Any], *, where: str, report_as: str) -> list[Issue]:
    """An inline sub-workflow's node (`executeWorkflow`/`toolWorkflow` with `source:
    parameter`) naming a credential: refused. Clixen binds credentials on the workflow's own
    nodes only (the project's secrets, checked and restricted); a credential written inside
    `workflowJson` would pass by all of that (another project's credential id, say)."""
    creds = node.get("credentials")
    if not creds:
        return []
    return [
        Issue(
            "inline_credentials",
            f"{where} names a credential; credentials inside an inline sub-workflow are not "
            "allowed (Clixen cannot check or bind them).",
            report_as,
            "error",
            "Move the nodes that need a credential into the workflow itself, or deploy the "
            'sub-workflow in this project and run it by its id (source "database").',
        )
    ]


def check_credential_use(
    node: dict[str, Any], kind: str, *, report_as: str | None = None
) -> list[Issue]:
    """Issues for `node` (of short name `kind`) sending a credential where it may not,
    reported on node `report_as` (default: `node` itself; an inline sub-workflow's node is
    reported on the outer node that runs it)."""
    name = str(node.get("name"))
    where = report_as or name
    out = _check_bot_token(node, name, where)
    params = node.get("parameters")
    if kind not in CREDENTIAL_URLS or not isinstance(params, dict):
        return out
    if params.get("authentication") != PREDEFINED:
        return out
    ctype = params.get("nodeCredentialType")
    if not isinstance(ctype, str) or not ctype:
        return out  # n8n's required-parameter check names it
    if ctype.startswith("="):
        out.append(
            Issue(
                "credential_host",
                f'Node "{name}" chooses its credential type at run time, so where the '
                "credential goes cannot be checked.",
                node=where,
                hint='Set "nodeCredentialType" to the service\'s credential type, written out.',
            )
        )
        return out
    domains = SERVICE_DOMAINS.get(ctype)
    if not domains:
        return out  # generic or user-chosen host: n8n holds it to the hosts its owner named
    return [*out, *host_issues(node, kind, ctype, domains, where)]


def _check_bot_token(node: dict[str, Any], name: str, where: str) -> list[Issue]:
    creds = node.get("credentials")
    if not isinstance(creds, dict) or node.get("type") in BOT_NODE_TYPES:
        return []
    for ref in creds.values():
        ref_name = ref.get("name") if isinstance(ref, dict) else ref
        if bot_secret_of(ref_name):
            return [
                Issue(
                    "bot_token_misused",
                    f'Node "{name}" uses {BOT_SECRET}, the Clixen bot\'s own Slack token, '
                    "which only Slack nodes may use.",
                    node=where,
                    hint="Use the Slack node to talk to Slack, or a Slack credential of the "
                    "project's own (a secret of type slackApi).",
                )
            ]
    return []


# `={{ 'https://api.github.com/repos/' + $json.repo }}`: a string literal opening the expression
# that holds the whole host (a path, query or fragment follows it inside the literal).
_LITERAL_PREFIX = re.compile(
    r"""^=\s*\{\{\s*(?:'([^'\\]*)'|"([^"\\]*)")\s*(?:\+|\}\})"""  # 'literal' + … / 'literal' }}
    r"|^=\s*\{\{\s*`([^`\\$]*)(?:\$\{|`\s*(?:\+|\}\}))"  # `literal${…}` / `literal` + …
)


def literal_prefix_host(url: str) -> str | None:
    """The host of an expression URL that starts with a string literal holding the whole host
    (followed there by "/", "?" or "#"); None when the host is still built at run time."""
    m = _LITERAL_PREFIX.match(url)
    if m is None:
        return None
    literal = next(g for g in m.groups() if g is not None)
    if not re.match(r"(?i)^https?://[^/?#]+[/?#]", literal):
        return None
    return url_host(literal)


# --- where a credentialed request goes: its URL, its proxy, its pagination's next URL ---------

_PAGINATION_NEXT = "responseContainsNextURL"


def credential_targets(node: Mapping[str, Any], kind: str) -> list[tuple[str, object]]:
    """What a credentialed request of `node` reaches, as (what, value): its URL, the proxy it
    goes through (`options.proxy`: the proxy sees the request), and a literal pagination next
    URL (`options.pagination.pagination.nextURL`; an expression is decided by the response, and
    n8n's own domain restriction holds it)."""
    params = node.get("parameters")
    if kind not in CREDENTIAL_URLS or not isinstance(params, dict):
        return []
    found: list[tuple[str, object]] = [("URL", params.get(CREDENTIAL_URLS[kind][0]))]
    options = params.get("options")
    options = options if isinstance(options, dict) else {}
    if options.get("proxy"):
        found.append(("proxy", options.get("proxy")))
    outer = options.get("pagination")
    paging = outer.get("pagination") if isinstance(outer, dict) else None
    if isinstance(paging, dict) and paging.get("paginationMode") == _PAGINATION_NEXT:
        following = paging.get("nextURL")
        if isinstance(following, str) and following and not following.startswith("="):
            found.append(("pagination next URL", following))
    return found


def host_issues(
    node: Mapping[str, Any],
    kind: str,
    ctype: str,
    domains: Sequence[str],
    where: str,
) -> list[Issue]:
    """`credential_host` errors for each target of `node` (`credential_targets`) outside
    `domains` (n8n's spelling: `*.x.com` = subdomains), or whose host is built at run time."""
    name = str(node.get("name"))
    listed = ", ".join(domains) or "no host"
    issues: list[Issue] = []
    for what, value in credential_targets(node, kind):
        if not isinstance(value, str) or not value:
            continue
        host = url_host(value)
        if host is None:
            host = literal_prefix_host(value)
        if host is None:
            # Clixen writes n8n's domain restriction on every credential it writes: n8n refuses
            # another URL host when the node runs, so a run-time URL is a risk to name (a
            # warning). n8n checks no proxy against it: a run-time proxy stays an error.
            example = domains[0].removeprefix("*.") if domains else "api.example.com"
            enforced = what == "URL"
            issues.append(
                Issue(
                    "credential_host",
                    f'Node "{name}" sends its {ctype} credential to a {what} whose host is built '
                    + (
                        f"at run time; n8n refuses any host but {listed} when it runs."
                        if enforced
                        else f"at run time; it may only go to {listed}."
                    ),
                    where,
                    "warning" if enforced else "error",
                    f"Write the host literally in the {what} (e.g. https://{example}/…) and keep "
                    "expressions to the path.",
                )
            )
        elif host and not domain_allowed(host, domains):
            issues.append(
                Issue(
                    "credential_host",
                    f'Node "{name}" sends its {ctype} credential to {host} (its {what}), outside '
                    f"the hosts it may go to ({listed}): a credential never leaves its service.",
                    where,
                    "error",
                    f"Call only {listed} with this credential; to call {host}, use no credential, "
                    "or a credential set up for that host by its owner (e.g. "
                    f"`{secret_command('httpHeaderAuth', host=host)}`).",
                )
            )
    return issues


GENERIC = "genericCredentialType"


def generic_credential_issues(
    workflow: Mapping[str, Any], hosts_of: Mapping[str, Sequence[str]]
) -> list[Issue]:
    """`credential_host` errors for HTTP Request / GraphQL nodes sending a generic credential
    (`authentication: genericCredentialType`: header, bearer, OAuth2…) beyond the hosts that
    credential may go to. `hosts_of`: the project's secrets, name → allowed domains (what
    Clixen writes on their n8n credentials); a reference to a secret not listed is left to the
    binding, which refuses it."""
    issues: list[Issue] = []
    for node in workflow.get("nodes") or []:
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            continue
        params = node.get("parameters")
        kind = short_name(node["type"])
        if not isinstance(params, dict) or params.get("authentication") != GENERIC:
            continue
        ctype = params.get("genericAuthType")
        creds = node.get("credentials")
        if not isinstance(ctype, str) or not isinstance(creds, dict) or ctype not in creds:
            continue
        ref = creds[ctype]
        secret = secret_name_of(ref.get("name") if isinstance(ref, dict) else ref)
        if secret is None or secret not in hosts_of:
            continue
        issues.extend(host_issues(node, kind, ctype, hosts_of[secret], str(node.get("name"))))
    return issues


def missing_credential_issues(workflow: Mapping[str, Any], catalog: NodeCatalog) -> list[Issue]:
    """A `missing_credentials` warning per node that needs a credential and has none, naming
    the type and the command that sets one."""
    return [
        Issue(
            "missing_credentials",
            f'Node "{need.node}" needs a {" or ".join(need.types)} credential and has none: '
            f"set one for the project with `{secret_command(need.types[0], host=need.host)}`.",
            need.node,
            "warning",
            f'Add "credentials": {{"{need.types[0]}": {{"name": "<SECRET NAME>"}}}} naming a '
            "project secret of that type, or leave it out and the user is asked for one.",
        )
        for need in missing_credentials(workflow, catalog)
    ]
