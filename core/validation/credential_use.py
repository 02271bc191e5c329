"""Where a node sends its credential: a predefined credential (HTTP Request with
`authentication: predefinedCredentialType`, its AI-tool variants, GraphQL) may only go to its
service's domains (`core.catalog.credential_domains`), and the Clixen bot's token only to
Slack's own nodes. Run on every workflow, with or without a policy: n8n refuses both at run time
(Clixen writes the same restriction on the credential), so they are errors here."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from core.catalog.credential_domains import (
    BOT_NODE_TYPES,
    BOT_SECRET,
    SERVICE_DOMAINS,
    bot_secret_of,
    domain_allowed,
)
from core.kernel.hosts import url_host
from core.validation.report import Issue

# Node short names (see guards.short_name) that send a credential to a URL of the workflow's
# choosing, and where that URL sits in their parameters.
CREDENTIAL_URLS: dict[str, tuple[str, ...]] = {
    "httprequest": ("url",),
    "toolhttprequest": ("url",),
    "graphql": ("endpoint",),
}
PREDEFINED = "predefinedCredentialType"


def check_credential_use(
    node: dict[str, Any], kind: str, *, report_as: str | None = None
) -> list[Issue]:
    """Issues for `node` (of short name `kind`) sending a credential where it may not,
    reported on node `report_as` (default: `node` itself; an inline sub-workflow's node is
    reported on the outer node that runs it)."""
    out: list[Issue] = []
    name = str(node.get("name"))
    where = report_as or name
    out += _check_bot_token(node, name, where)
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
    url = params.get(CREDENTIAL_URLS[kind][0])
    if not isinstance(url, str) or not url:
        return out
    return [*out, *_service_host(name, where, ctype, domains, url)]


def _service_host(
    name: str, where: str, ctype: str, domains: Sequence[str], url: str
) -> list[Issue]:
    """A predefined `ctype` credential sent to `url`: its host must be one of its service's."""
    out: list[Issue] = []
    listed = ", ".join(domains)
    host = url_host(url)
    if host is None:
        host = literal_prefix_host(url)
    if host is None:
        # The credential carries n8n's domain restriction (Clixen writes it): n8n refuses
        # another host when the node runs, so this is a risk to name, not a certain fault.
        out.append(
            Issue(
                "credential_host",
                f'Node "{name}" sends its {ctype} credential to a host built at run time; '
                f"n8n refuses any host but {listed} when it runs.",
                node=where,
                hint=f"Write the {ctype} service's host literally in the URL (e.g. "
                f"https://{domains[0].removeprefix('*.')}/…) and keep expressions to the path.",
                severity="warning",
            )
        )
    elif host and not domain_allowed(host, domains):
        out.append(
            Issue(
                "credential_host",
                f'Node "{name}" sends its {ctype} credential to {host}, outside its service '
                f"({listed}): a credential never leaves its service.",
                node=where,
                hint=f"Call the {ctype} service's own API on {listed}; to call {host}, use "
                "no credential, or a credential set up for that host by its owner (e.g. "
                "httpHeaderAuth with `clixen secret set NAME --type httpHeaderAuth "
                f"--allowed-host {host}`).",
            )
        )
    return out


def _check_bot_token(node: dict[str, Any], name: str, where: str) -> list[Issue]:
    out: list[Issue] = []
    creds = node.get("credentials")
    if not isinstance(creds, dict) or node.get("type") in BOT_NODE_TYPES:
        return out
    for ref in creds.values():
        ref_name = ref.get("name") if isinstance(ref, dict) else ref
        if bot_secret_of(ref_name):
            out.append(
                Issue(
                    "bot_token_misused",
                    f'Node "{name}" uses {BOT_SECRET}, the Clixen bot\'s own Slack token, '
                    "which only Slack nodes may use.",
                    node=where,
                    hint="Use the Slack node to talk to Slack, or a Slack credential of the "
                    "project's own (a secret of type slackApi).",
                )
            )
            return out
    return out


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
