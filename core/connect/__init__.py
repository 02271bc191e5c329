"""Connect an account: OAuth2 credentials from one link, no n8n login, no copied secret.

`services` (what can be connected), `apps` (the OAuth client per provider, set once),
`links` (single-use state, `open_link` starts n8n's flow server-side), `accounts` (noticing the
token n8n stored, binding it to the project, listing, disconnect, needs reconnect), `resume`
(the waiting run goes on).
"""

from core.connect.accounts import (
    RECONNECT_MESSAGE,
    AccountInfo,
    Connected,
    Disconnected,
    disconnect,
    finish_connections,
    forget_credential,
    list_accounts,
)
from core.connect.apps import OAuthAppInfo, list_oauth_apps, set_oauth_app
from core.connect.connectable import SERVICES, Service, service_for_type, service_named
from core.connect.links import (
    LINK_TTL,
    START_PATH,
    ConnectLink,
    LinkRefused,
    create_link,
    open_link,
)

__all__ = [
    "LINK_TTL",
    "RECONNECT_MESSAGE",
    "SERVICES",
    "START_PATH",
    "AccountInfo",
    "ConnectLink",
    "Connected",
    "Disconnected",
    "LinkRefused",
    "OAuthAppInfo",
    "Service",
    "create_link",
    "disconnect",
    "finish_connections",
    "forget_credential",
    "list_accounts",
    "list_oauth_apps",
    "open_link",
    "service_for_type",
    "service_named",
    "set_oauth_app",
]
