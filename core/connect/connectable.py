"""The services a user can connect with one click, each an n8n OAuth2 credential type and the
OAuth app (provider) whose client it uses.

n8n's own types carry their provider's endpoints and scopes (e.g. `googleSheetsOAuth2Api` asks
for the Sheets and Drive scopes; Microsoft's include `openid offline_access`), so their
credential needs only the app's client id and secret (Google's also `openid email` on top of
n8n's scopes, to name the account). `oauth2` is n8n's generic `oAuth2Api`: the endpoints and
scopes come from the app.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from core.kernel.errors import InvalidInput


@dataclass(frozen=True)
class Service:
    """A connectable service: `name` as users type it, the n8n credential type, the provider
    whose OAuth app it uses, and the label shown on buttons."""

    name: str
    credential_type: str
    provider: str
    label: str
    # Set: the scopes asked for instead of the type's defaults (Google: n8n's defaults plus
    # `openid email`, so the token response names the account — "connected as …").
    scopes: tuple[str, ...] = ()


GENERIC_PROVIDER: Final = "oauth2"
_WHO = ("openid", "email")
_G = "https://www.googleapis.com/auth/"
# n8n 2.40.7's default scopes of each Google type (n8n-nodes-base/dist/credentials/*.js).
_SHEETS = (f"{_G}drive.file", f"{_G}spreadsheets", f"{_G}drive.metadata")
_GMAIL = (
    f"{_G}gmail.labels",
    f"{_G}gmail.addons.current.action.compose",
    f"{_G}gmail.addons.current.message.action",
    "https://mail.google.com/",
    f"{_G}gmail.modify",
    f"{_G}gmail.compose",
)
_DRIVE = (f"{_G}drive", f"{_G}drive.appdata", f"{_G}drive.photos.readonly")
_CALENDAR = (f"{_G}calendar", f"{_G}calendar.events")

SERVICES: Final[tuple[Service, ...]] = (
    Service("google-sheets", "googleSheetsOAuth2Api", "google", "Google Sheets", _SHEETS + _WHO),
    Service("gmail", "gmailOAuth2", "google", "Gmail", _GMAIL + _WHO),
    Service("google-drive", "googleDriveOAuth2Api", "google", "Google Drive", _DRIVE + _WHO),
    Service(
        "google-calendar", "googleCalendarOAuth2Api", "google", "Google Calendar", _CALENDAR + _WHO
    ),
    Service("outlook", "microsoftOutlookOAuth2Api", "microsoft", "Microsoft Outlook"),
    Service("excel", "microsoftExcelOAuth2Api", "microsoft", "Microsoft Excel"),
    Service("teams", "microsoftTeamsOAuth2Api", "microsoft", "Microsoft Teams"),
    Service("hubspot", "hubspotOAuth2Api", "hubspot", "HubSpot"),
    Service("oauth2", "oAuth2Api", GENERIC_PROVIDER, "OAuth2"),
)
PROVIDERS: Final = frozenset(s.provider for s in SERVICES)


def service_named(name: str) -> Service:
    """The service called `name` (case-insensitive), else InvalidInput listing the choices."""
    wanted = name.strip().lower()
    for service in SERVICES:
        if service.name == wanted:
            return service
    raise InvalidInput(
        f"{name[:40]!r} is not a service Clixen can connect. Choose one of: "
        f"{', '.join(s.name for s in SERVICES)}."
    )


def secret_name_of(service: str) -> str:
    """The project secret an account of `service` is bound as, e.g. GOOGLE_SHEETS."""
    return service.upper().replace("-", "_")


def service_for_type(credential_type: str) -> Service | None:
    """The connectable service of an n8n credential type, None when it is not one (pasted)."""
    return next((s for s in SERVICES if s.credential_type == credential_type), None)


def check_provider(name: str) -> str:
    """`name` if it is a provider with an OAuth app, else InvalidInput listing them."""
    wanted = name.strip().lower()
    if wanted not in PROVIDERS:
        raise InvalidInput(
            f"{name[:40]!r} is not an OAuth provider Clixen knows. Choose one of: "
            f"{', '.join(sorted(PROVIDERS))}."
        )
    return wanted
