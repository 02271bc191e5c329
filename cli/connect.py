"""`clixen oauth-app set|list` (the operator, once per provider), `clixen connect SERVICE` (a
single-use link to connect an account; `--wait` binds it and resumes the waiting run here),
`clixen accounts` and `clixen disconnect SERVICE`."""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from typing import Any

from cli.context import cli_actor, cli_n8n, cli_session_factory

SERVICES_HELP = (
    "google-sheets, gmail, google-drive, google-calendar, outlook, excel, teams, hubspot, oauth2"
)


def register(sub: Any) -> None:
    app: argparse.ArgumentParser = sub.add_parser(
        "oauth-app", help="the OAuth client of each provider (operator, set once)"
    )
    asub = app.add_subparsers(dest="oauth_app_command", metavar="ACTION")
    asub.required = True
    a_set = asub.add_parser("set", help="register a provider's OAuth client")
    a_set.add_argument("provider", help="google, microsoft, hubspot or oauth2 (generic)")
    a_set.add_argument("--client-id", required=True)
    a_set.add_argument(
        "--client-secret-stdin",
        action="store_true",
        required=True,
        help="read the client secret from stdin (hidden on a terminal)",
    )
    a_set.add_argument("--auth-url", help="oauth2 only: the authorization endpoint")
    a_set.add_argument("--token-url", help="oauth2 only: the token endpoint")
    a_set.add_argument("--scope", help="oauth2 only: scopes, space separated")
    a_set.add_argument(
        "--allowed-host",
        dest="allowed_hosts",
        action="append",
        default=[],
        metavar="HOST",
        help="oauth2 only (required): an API host its tokens may be sent to; repeat for more",
    )
    a_set.set_defaults(func=_app_set)
    a_list = asub.add_parser("list", help="registered OAuth apps (never their secrets)")
    a_list.set_defaults(func=_app_list)

    con: argparse.ArgumentParser = sub.add_parser(
        "connect", help="a link that connects an OAuth2 account (Google, Microsoft, …)"
    )
    con.add_argument("service", help=SERVICES_HELP)
    con.add_argument("--project", help="project name (default: your active project)")
    con.add_argument("--run", type=int, help="the waiting run to resume once connected")
    con.add_argument(
        "--wait", action="store_true", help="wait for the consent, bind the account, resume"
    )
    con.set_defaults(func=_connect)
    acc: argparse.ArgumentParser = sub.add_parser("accounts", help="connected accounts")
    acc.add_argument("--project")
    acc.set_defaults(func=_accounts)
    dis: argparse.ArgumentParser = sub.add_parser(
        "disconnect", help="remove a connected account (its token too)"
    )
    dis.add_argument("service", nargs="?", help=SERVICES_HELP)
    dis.add_argument("--project")
    dis.add_argument(
        "--leftovers",
        action="store_true",
        help="instead: delete the n8n credentials unfinished connects left (`clixen accounts`)",
    )
    dis.set_defaults(func=_disconnect)


def _secret_from_stdin() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("Client secret (hidden): ")
    return sys.stdin.read().strip()


def _app_set(args: argparse.Namespace) -> int:
    from core.kernel.settings import get_settings
    from core.usecases.accounts import register_oauth_app

    settings = get_settings()
    settings.require("CLIXEN_SECRET_KEY")  # before the secret is asked for
    client_secret = _secret_from_stdin()
    with cli_session_factory() as factory:
        info = register_oauth_app(
            factory,
            settings=settings,
            actor=cli_actor(),
            provider=args.provider,
            client_id=args.client_id,
            client_secret=client_secret,
            auth_url=args.auth_url,
            token_url=args.token_url,
            scope=args.scope,
            allowed_hosts=args.allowed_hosts,
        )
    print(f"OAuth app for {info.provider} saved (client id {info.client_id}; secret encrypted).")
    print(f"Register this redirect URL with {info.provider}: {_callback_url()}")
    return 0


def _callback_url() -> str:
    from core.kernel.settings import get_settings

    settings = get_settings()
    base = (settings.n8n_public_url or settings.n8n_url or "<N8N public URL>").rstrip("/")
    return f"{base}/rest/oauth2-credential/callback"


def _app_list(args: argparse.Namespace) -> int:
    from core.usecases.accounts import oauth_apps

    with cli_session_factory() as factory:
        apps = oauth_apps(factory)
    if not apps:
        print("No OAuth app yet: clixen oauth-app set google --client-id … --client-secret-stdin")
    for app in apps:
        extra = f"  {app.auth_url} {app.token_url}" if app.auth_url else ""
        print(f"{app.provider:<10} {app.client_id}  set by {app.set_by}{extra}")
    return 0


def _connect(args: argparse.Namespace) -> int:
    from core.kernel.settings import get_settings
    from core.usecases.accounts import connect_account

    settings = get_settings()
    with cli_session_factory() as factory:
        made = connect_account(
            factory,
            settings=settings,
            actor=cli_actor(),
            service=args.service,
            run_id=args.run,
            project=args.project,
        )
        link = made.link
        print(f"Open this link to connect {link.service.label} to project {made.project}")
        print(f"(single use, valid until {link.expires_at:%H:%M} UTC):\n{link.url}")
        if not args.wait:
            print("`clixen serve` binds the account after consent and resumes waiting runs.")
            return 0
        return _wait_and_resume(settings, factory, link.expires_at)


def _wait_and_resume(settings: Any, factory: Any, until: Any) -> int:
    import datetime as dt

    from core.connect import finish_connections
    from core.connect.resume import resume_after_connect
    from core.credentials.secrets import secret_key
    from core.kernel.settings import get_settings
    from core.n8n.session import N8nUserSession
    from core.pipeline import build_services

    key = secret_key(get_settings())
    deadline = until + dt.timedelta(minutes=10)  # opened at the last minute: n8n's 5 + margin
    with cli_n8n() as n8n, N8nUserSession.from_settings(settings) as n8n_session:
        services = build_services(
            settings, session_factory=factory, n8n=n8n, require_llm=False, with_mcp=False
        )
        while dt.datetime.now(dt.UTC) < deadline:
            done = finish_connections(
                session_factory=factory, n8n=n8n, n8n_session=n8n_session, key=key
            )
            for connected in done:
                who = f" as {connected.account.account}" if connected.account.account else ""
                print(f"{connected.account.label} connected{who}.")
                for outcome in resume_after_connect(services, connected):
                    print(f"[run {outcome.run_id}] {outcome.state}: {outcome.message}")
                return 0
            time.sleep(2)
    print("No consent arrived before the link expired; run clixen connect again.", file=sys.stderr)
    return 1


def _accounts(args: argparse.Namespace) -> int:
    from core.usecases.accounts import accounts

    with cli_session_factory() as factory:
        project, listed = accounts(factory, actor=cli_actor(), project=args.project)
        leftovers = _leftovers(factory, args.project)
    if not listed:
        print(f"No connected account in project {project}: clixen connect SERVICE")
    for a in listed:
        used = f"{a.last_used_at:%Y-%m-%d %H:%M}" if a.last_used_at else "never"
        state = "NEEDS RECONNECT" if a.needs_reconnect else "ok"
        name = a.account or ("(its owner's)" if a.account_hidden else "(account not named)")
        print(
            f"{a.service:<16} {name:<28} by {a.connected_by} "
            f"{a.connected_at:%Y-%m-%d %H:%M}, last used {used}, {state}"
        )
    for left in leftovers:
        print(
            f"{left.service:<16} {'(unfinished connect)':<28} n8n credential {left.credential_id} "
            f"made {left.created_at:%Y-%m-%d %H:%M}, never completed"
        )
    if leftovers:
        print(
            "Unfinished connects left credentials in n8n: `clixen disconnect --leftovers` "
            "deletes them (the scheduler's sweep does too, every 10 minutes)."
        )
    return 0


def _leftovers(factory: Any, project: str | None) -> list[Any]:
    """What unfinished connects left in n8n, for an editor with n8n configured; else none."""
    from core.kernel.errors import ClixenError
    from core.kernel.settings import get_settings
    from core.usecases.accounts import connect_leftovers

    settings = get_settings()
    if not (settings.n8n_url and settings.n8n_api_key):
        return []
    try:
        with cli_n8n() as n8n:
            return connect_leftovers(factory, n8n=n8n, actor=cli_actor(), project=project)[1]
    except ClixenError:  # a viewer, or n8n unreachable: the accounts are listed all the same
        return []


def _disconnect(args: argparse.Namespace) -> int:
    from core.kernel.errors import InvalidInput
    from core.usecases.accounts import connect_leftovers, disconnect_account

    if args.leftovers:
        with cli_session_factory() as factory, cli_n8n() as n8n:
            project, removed = connect_leftovers(
                factory, n8n=n8n, actor=cli_actor(), project=args.project, remove=True
            )
        print(f"Deleted {len(removed)} n8n credential(s) left by unfinished connects in {project}.")
        return 0
    if not args.service:
        raise InvalidInput("Name the SERVICE to disconnect (`clixen accounts` lists them).")
    with cli_session_factory() as factory, cli_n8n() as n8n:
        project, info = disconnect_account(
            factory, n8n=n8n, actor=cli_actor(), service=args.service, project=args.project
        )
    print(f"{info.label} disconnected from project {project} (its n8n credential deleted).")
    return 0
