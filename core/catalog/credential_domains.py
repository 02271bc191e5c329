"""Where each n8n credential type may be sent: its service's domains.

n8n 2.40.7 lets a credential carry `allowedHttpRequestDomains` (`all`, `domains`, `none`) and
`allowedDomains` (comma-separated; `*.slack.com` matches subdomains only, never `slack.com`), and
checks them when the credential is used from the HTTP Request or GraphQL node. Clixen writes them
on every credential it creates (`core.credentials.sync`), from this table:

- a service type (`slackApi`, `githubApi`, …): its service's domains (`SERVICE_DOMAINS`), plus
  the hosts of the credential's own URL fields (a GitHub Enterprise `server`, a Jira `domain`);
- a generic type (`httpHeaderAuth`, `oAuth2Api`, …, `OWNER_NAMED`): only the hosts the owner
  names when setting the secret (`clixen secret set NAME --type T --allowed-host HOST`);
- any other type: `none` — it works in its own node, never from HTTP Request or GraphQL, until
  the owner names hosts;
- the Clixen bot's Slack token (`BOT_SECRET`): `none`, and only Slack nodes may use it.

The validator reads the same table to refuse a workflow that sends a credential elsewhere.
Importing this module is cheap (no I/O): `clixen validate` uses it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from core.kernel.hosts import url_host

# The secret that holds the Clixen bot's own token ("post as Clixen"), and the node types that
# may use it: Slack's own nodes, never a generic HTTP Request or GraphQL node.
BOT_SECRET: Final = "CLIXEN_BOT"  # noqa: S105 (the secret's name)
BOT_NODE_TYPES: Final = frozenset(
    {"n8n-nodes-base.slack", "n8n-nodes-base.slackTool", "n8n-nodes-base.slackTrigger"}
)
# The name Clixen gives a secret's n8n credential (`clixen-p<project>-<secret>`).
_N8N_NAME = re.compile(r"clixen-p[0-9]+-(?P<secret>[A-Z][A-Z0-9_]*)")

_SLACK = ("slack.com", "*.slack.com")
_GITHUB = ("github.com", "*.github.com", "models.github.ai")  # GitHub Models' API
_GITLAB = ("gitlab.com", "*.gitlab.com")
_NOTION = ("api.notion.com",)
_AIRTABLE = ("airtable.com", "*.airtable.com")
_HUBSPOT = ("api.hubapi.com", "*.hubapi.com")
_DISCORD = ("discord.com", "*.discord.com", "discordapp.com")
_GOOGLE = ("googleapis.com", "*.googleapis.com")
_MICROSOFT = ("graph.microsoft.com",)

# Credential type → the domains of its service. Types whose service lives at a host the owner
# chose (Jira, Mattermost, a self-hosted GitLab) have () here: their own URL field names it.
SERVICE_DOMAINS: Final[Mapping[str, tuple[str, ...]]] = {
    "slackApi": _SLACK,
    "slackOAuth2Api": _SLACK,
    "githubApi": _GITHUB,
    "githubOAuth2Api": _GITHUB,
    "gitlabApi": _GITLAB,
    "gitlabOAuth2Api": _GITLAB,
    "notionApi": _NOTION,
    "notionOAuth2Api": _NOTION,
    "airtableTokenApi": _AIRTABLE,
    "airtableApi": _AIRTABLE,
    "airtableOAuth2Api": _AIRTABLE,
    "telegramApi": ("api.telegram.org",),
    "openAiApi": ("api.openai.com",),
    "anthropicApi": ("api.anthropic.com",),
    "mistralCloudApi": ("api.mistral.ai",),
    "groqApi": ("api.groq.com",),
    "openRouterApi": ("openrouter.ai",),
    "deepSeekApi": ("api.deepseek.com",),
    "googlePalmApi": ("generativelanguage.googleapis.com",),
    "hubspotApi": _HUBSPOT,
    "hubspotAppToken": _HUBSPOT,
    "hubspotOAuth2Api": _HUBSPOT,
    "hubspotDeveloperApi": _HUBSPOT,
    "jiraSoftwareCloudApi": (),
    "jiraSoftwareServerApi": (),
    "jiraSoftwareServerPatApi": (),
    "mattermostApi": (),
    "discordBotApi": _DISCORD,
    "discordWebhookApi": _DISCORD,
    "discordOAuth2Api": _DISCORD,
    "trelloApi": ("api.trello.com",),
    "linearApi": ("api.linear.app",),
    "linearOAuth2Api": ("api.linear.app",),
    "stripeApi": ("api.stripe.com",),
    "asanaApi": ("app.asana.com",),
    "asanaOAuth2Api": ("app.asana.com",),
    "clickUpApi": ("api.clickup.com",),
    "clickUpOAuth2Api": ("api.clickup.com",),
    "todoistApi": ("api.todoist.com",),
    "todoistOAuth2Api": ("api.todoist.com",),
    "googleApi": _GOOGLE,
    "googleOAuth2Api": _GOOGLE,
    "gmailOAuth2": _GOOGLE,
    "googleSheetsOAuth2Api": _GOOGLE,
    "googleDriveOAuth2Api": _GOOGLE,
    "googleCalendarOAuth2Api": _GOOGLE,
    "googleDocsOAuth2Api": _GOOGLE,
    # The generic Microsoft OAuth2 credential: any Microsoft API its scopes name, Azure
    # Resource Manager included.
    "microsoftOAuth2Api": (*_MICROSOFT, "management.azure.com"),
    "microsoftOutlookOAuth2Api": _MICROSOFT,
    "microsoftTeamsOAuth2Api": _MICROSOFT,
    "microsoftExcelOAuth2Api": _MICROSOFT,
    "microsoftOneDriveOAuth2Api": _MICROSOFT,
    "dropboxApi": ("*.dropboxapi.com",),
    "dropboxOAuth2Api": ("*.dropboxapi.com",),
    "sendGridApi": ("api.sendgrid.com",),
    "mailgunApi": ("*.mailgun.net",),
    "twilioApi": ("*.twilio.com",),
    "mondayComApi": ("api.monday.com",),
    "mondayComOAuth2Api": ("api.monday.com",),
    "pipedriveApi": ("*.pipedrive.com",),
    "pipedriveOAuth2Api": ("*.pipedrive.com",),
    "typeformApi": ("api.typeform.com",),
    "typeformOAuth2Api": ("api.typeform.com",),
    "zoomApi": ("api.zoom.us",),
    "zoomOAuth2Api": ("api.zoom.us",),
}
# Generic types: they authenticate whatever host the workflow names, so only the hosts the
# secret's owner names are allowed; a secret of these types without one is refused.
OWNER_NAMED: Final = frozenset(
    {
        "httpHeaderAuth",
        "httpBasicAuth",
        "httpBearerAuth",
        "httpQueryAuth",
        "httpDigestAuth",
        "httpCustomAuth",
        "httpTemplatedCustomAuth",
        "oAuth1Api",
        "oAuth2Api",
    }
)
# Credential fields that hold a host or a URL (Postgres `host`, OpenAI `url`, GitHub `server`,
# Jira `domain`, MongoDB `connectionString`, an SSH tunnel's `sshHost`, …).
HOST_FIELD: Final = re.compile(
    r"(?i)^(ssh)?host(name)?$|url$|uri$|^server$|endpoint$|^domain$|^connectionString$"
)
RESTRICTION_FIELDS: Final = ("allowedHttpRequestDomains", "allowedDomains")


def bot_secret_of(name: object) -> bool:
    """Whether a node's credential reference name means the Clixen bot's token (the secret's
    name, or its n8n credential's name)."""
    if not isinstance(name, str):
        return False
    found = _N8N_NAME.fullmatch(name)
    return (found.group("secret") if found else name) == BOT_SECRET


def secret_name_of(name: object) -> str | None:
    """The project secret a node's credential reference name means (the secret's own name, or
    its n8n credential's `clixen-p<project>-<SECRET>`); None when it is not a string."""
    if not isinstance(name, str):
        return None
    found = _N8N_NAME.fullmatch(name)
    return found.group("secret") if found else name


def host_fields(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (field, value) pairs of a credential's data that name a host or URL (non-empty
    strings only; the restriction fields left out)."""
    return [
        (k, v)
        for k, v in data.items()
        if isinstance(v, str) and v.strip() and k not in RESTRICTION_FIELDS and HOST_FIELD.search(k)
    ]


def own_hosts(data: Mapping[str, Any]) -> list[str]:
    """The hosts a credential's own URL fields name (where its service lives), normalised."""
    found: list[str] = []
    for _, value in host_fields(data):
        for part in connection_hosts(value):
            host = url_host(part)
            if host and host not in found:
                found.append(host)
    return found


def connection_hosts(value: str) -> list[str]:
    """`value`, or each host of a multi-host connection string (mongodb://a:1,b:2/db)."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        return [value]
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0].rsplit("@", 1)[-1]
    return [f"{scheme}://{h}" for h in authority.split(",") if h] or [value]


def allowed_domains(
    credential_type: str, data: Mapping[str, Any], owner_hosts: Iterable[str] = ()
) -> list[str]:
    """The domains a credential of `credential_type` may be sent to from HTTP Request/GraphQL:
    its service's, the hosts of its own URL fields, and the hosts its owner named. [] means
    nowhere (the credential is for its own node only)."""
    domains = list(SERVICE_DOMAINS.get(credential_type, ()))
    if credential_type in SERVICE_DOMAINS:
        domains += own_hosts(data)
    domains += [h.strip().lower() for h in owner_hosts if h.strip()]
    return list(dict.fromkeys(domains))


def restriction(
    credential_type: str, data: Mapping[str, Any], owner_hosts: Iterable[str] = ()
) -> dict[str, str]:
    """The two n8n restriction fields for a credential (to merge into its `data`)."""
    domains = allowed_domains(credential_type, data, owner_hosts)
    if not domains:
        return {"allowedHttpRequestDomains": "none", "allowedDomains": ""}
    return {"allowedHttpRequestDomains": "domains", "allowedDomains": ",".join(domains)}


def domain_allowed(host: str, domains: Iterable[str]) -> bool:
    """n8n's own match: `example.com` exactly, `*.example.com` any subdomain (never the bare
    domain)."""
    host = host.strip().lower().rstrip(".")
    for entry in domains:
        entry = entry.strip().lower().rstrip(".")
        if entry.startswith("*."):
            if len(entry) > 2 and host.endswith(entry[1:]):
                return True
        elif host == entry:
            return True
    return False


_DOMAIN = re.compile(
    r"(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*"
)


def normalize_allowed_host(value: str) -> str:
    """An owner-named host in n8n's spelling: `api.example.com`, `*.example.com` (subdomains
    only) or an IP address; a URL is cut to its host. ValueError names what is wrong."""
    text = value.strip()
    wildcard = text.startswith("*.")
    host = url_host(text[2:] if wildcard else text) or ""
    host = ("*." if wildcard else "") + host
    if not host or not (_DOMAIN.fullmatch(host) or re.fullmatch(r"\[[0-9a-f:.]+\]", host)):
        raise ValueError(
            f"{value[:80]!r} is not a host: give a host name such as api.example.com, or "
            "*.example.com for every name under it."
        )
    return host
