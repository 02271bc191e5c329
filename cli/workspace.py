"""`clixen quota|stats|secret|token|policy`: the guardrails from a terminal.

Secret values are read from standard input (or a hidden prompt), never from the command line,
so they do not end up in shell history or process listings.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from cli.context import cli_actor, cli_n8n, cli_session_factory
from core.kernel.errors import InvalidInput


def register(sub: Any) -> None:
    _register_quota_and_stats(sub)
    _register_secret(sub)
    _register_token(sub)
    _register_policy(sub)


def _register_quota_and_stats(sub: Any) -> None:
    q: argparse.ArgumentParser = sub.add_parser("quota", help="your use of today's limits")
    q.add_argument("--project", help="project name (default: your active project)")
    q.set_defaults(func=_quota)

    st: argparse.ArgumentParser = sub.add_parser("stats", help="core events per day and type")
    st.add_argument("--days", type=int, default=7, help="how many days back (default 7)")
    st.set_defaults(func=_stats)


def _register_secret(sub: Any) -> None:
    sec: argparse.ArgumentParser = sub.add_parser("secret", help="per-project encrypted secrets")
    ssub = sec.add_subparsers(dest="secret_command", metavar="ACTION")
    ssub.required = True
    s_set = ssub.add_parser(
        "set",
        help="set a secret: field by field on a terminal, or from stdin (one value or a JSON "
        "object of fields)",
    )
    s_set.add_argument("name", help="e.g. SLACK_TOKEN")
    s_set.add_argument("--type", dest="credential_type", help="n8n credential type, e.g. slackApi")
    s_set.add_argument(
        "--field",
        dest="fields",
        action="append",
        metavar="FIELD=VALUE",
        help="a field of the credential that is not secret, e.g. --field name=X-API-Key "
        "(repeatable; secret fields are asked for, hidden, or read from stdin)",
    )
    s_set.add_argument(
        "--allowed-host",
        dest="allowed_hosts",
        action="append",
        metavar="HOST",
        help="a host its credential may be sent to from HTTP Request/GraphQL (repeatable; "
        "needed for generic types such as httpHeaderAuth, e.g. api.example.com, *.example.com)",
    )
    s_set.set_defaults(func=_secret_set)
    s_list = ssub.add_parser("list", help="list secret names (never values)")
    s_list.set_defaults(func=_secret_list)
    s_del = ssub.add_parser("delete", help="delete a secret")
    s_del.add_argument("name")
    s_del.set_defaults(func=_secret_delete)
    s_rot = ssub.add_parser(
        "rotate",
        help="re-encrypt every secret from CLIXEN_SECRET_KEY to CLIXEN_NEW_SECRET_KEY (or stdin)",
    )
    s_rot.set_defaults(func=_secret_rotate)
    s_sync = ssub.add_parser(
        "resync",
        help="write every stale n8n credential again now (after an upgrade: domain restrictions)",
    )
    s_sync.set_defaults(func=_secret_resync)
    for p in (s_set, s_list, s_del):
        p.add_argument("--project", help="project name (default: your active project)")


def _register_token(sub: Any) -> None:
    tok: argparse.ArgumentParser = sub.add_parser("token", help="HTTP API tokens of a project")
    tsub = tok.add_subparsers(dest="token_command", metavar="ACTION")
    tsub.required = True
    t_new = tsub.add_parser("create", help="create a token (shown once)")
    t_new.add_argument("name")
    t_new.add_argument(
        "--read-only",
        action="store_true",
        help="a token that can list workflows and versions but never roll back",
    )
    t_new.set_defaults(func=_token_create)
    t_list = tsub.add_parser("list", help="list tokens")
    t_list.set_defaults(func=_token_list)
    t_rev = tsub.add_parser("revoke", help="revoke a token by id")
    t_rev.add_argument("token_id", type=int)
    t_rev.set_defaults(func=_token_revoke)
    for p in (t_new, t_list, t_rev):
        p.add_argument("--project", help="project name (default: your active project)")


def _register_policy(sub: Any) -> None:
    pol: argparse.ArgumentParser = sub.add_parser(
        "policy", help="node types a project may use, internal hosts it may call"
    )
    psub = pol.add_subparsers(dest="policy_command", metavar="ACTION")
    psub.required = True
    p_show = psub.add_parser("show", help="denied node types and why, allowed internal hosts")
    p_show.set_defaults(func=_policy_show)
    p_deny = psub.add_parser("deny", help="deny node types (owners)")
    p_deny.add_argument("types", nargs="+", metavar="TYPE")
    p_deny.set_defaults(func=_policy_deny)
    p_allow = psub.add_parser("allow", help="allow node types denied by default (owners)")
    p_allow.add_argument("types", nargs="+", metavar="TYPE")
    p_allow.set_defaults(func=_policy_allow)
    p_allow_host = psub.add_parser(
        "allow-host", help="let HTTP requests call an internal host, IP or CIDR (owners)"
    )
    p_allow_host.add_argument("hosts", nargs="+", metavar="HOST")
    p_allow_host.set_defaults(func=_policy_allow_host)
    p_deny_host = psub.add_parser("deny-host", help="remove allowed internal hosts (owners)")
    p_deny_host.add_argument("hosts", nargs="+", metavar="HOST")
    p_deny_host.set_defaults(func=_policy_deny_host)
    for p in (p_show, p_deny, p_allow, p_allow_host, p_deny_host):
        p.add_argument("--project", help="project name (default: your active project)")


def _quota(args: argparse.Namespace) -> int:
    from core.kernel.settings import get_settings
    from core.usecases.dashboard import quota

    actor = cli_actor()
    with cli_session_factory() as factory:
        project, status = quota(factory, settings=get_settings(), actor=actor, project=args.project)
    print(f"Today's use for {actor.user_id} in project {project}:")
    print(f"  LLM tokens:  {status.tokens_used:,} of {status.token_limit:,}")
    print(f"  deployments: {status.deploys_used:,} of {status.deploy_limit:,}")
    print(f"Limits reset at {status.resets_at:%Y-%m-%d %H:%M} UTC.")
    return 0


def _stats(args: argparse.Namespace) -> int:
    from core.usecases.operations import event_counts

    with cli_session_factory() as factory:
        rows = event_counts(factory, days=args.days)
    if not rows:
        print(f"No events in the last {args.days} days.")
        return 0
    print(f"{'day':<12}{'event':<18}{'count':>7}")
    for day, type_, count in rows:
        print(f"{day.isoformat():<12}{type_:<18}{count:>7}")
    return 0


def _read_value(prompt: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.read().rstrip("\r\n")


def _n8n_configured() -> bool:
    from core.kernel.settings import get_settings

    settings = get_settings()
    return bool(settings.n8n_url and settings.n8n_api_key)


def _secret_set(args: argparse.Namespace) -> int:
    import contextlib

    from core.credentials.secrets import check_name
    from core.kernel.settings import get_settings
    from core.usecases.secrets import save_secret, secret_type_to_set

    check_name(args.name)
    settings = get_settings()
    settings.require("CLIXEN_SECRET_KEY")  # before the value is asked for
    with cli_session_factory() as factory:
        # A secret set again keeps its type: its fields are asked for and checked the same.
        stored = secret_type_to_set(
            factory, actor=cli_actor(), project=args.project, name=args.name
        )
    value = _secret_value(args, args.credential_type or stored)
    with cli_session_factory() as factory, contextlib.ExitStack() as stack:
        # With n8n configured, a secret already in n8n gets its credential updated right away.
        n8n = stack.enter_context(cli_n8n()) if _n8n_configured() else None
        saved = save_secret(
            factory,
            settings=settings,
            n8n=n8n,
            actor=cli_actor(),
            project=args.project,
            name=args.name,
            value=value,
            credential_type=args.credential_type,
            allowed_hosts=args.allowed_hosts,
        )
    print(f"Secret {args.name} saved (encrypted) in project {saved.project}.")
    if n8n is not None:
        return _resume_waiting(settings, saved.project_id)
    return 0


def _secret_value(args: argparse.Namespace, credential_type: str | None) -> str:
    """The value to store: n8n's fields of --type (when n8n is configured) from --field, then
    asked one by one on a terminal, or from stdin; checked against n8n's schema now."""
    from core.credentials.entry import (
        SeveralFields,
        compose_value,
        parse_field_arguments,
        refuse_secret_arguments,
        secret_form,
    )
    from core.kernel.settings import get_settings

    settings = get_settings()
    given = parse_field_arguments(args.fields)
    if settings.n8n_url and settings.n8n_api_key and credential_type:
        with cli_n8n() as n8n:
            form = secret_form(n8n, credential_type)
    else:
        form = secret_form(None, credential_type)
    refuse_secret_arguments(form, given, secret=args.name)
    if credential_type and not form.checked:
        print(
            f"note: without N8N_URL/N8N_API_KEY the fields of {credential_type} cannot be "
            "checked now: give one value, or a JSON object of its fields.",
            file=sys.stderr,
        )
    if not sys.stdin.isatty():
        try:
            return compose_value(form, given, sys.stdin.read(), secret=args.name)
        except SeveralFields as e:
            fields = " ".join(f"--field {n}=…" for n in e.plain)
            alone = (
                f", give {fields} with {e.secret_left[0]} alone on stdin,"
                if e.plain and len(e.secret_left) == 1
                else ""
            )
            raise InvalidInput(
                f"{e.summary} Run the same command on a terminal (it asks for each field)"
                f"{alone} or give a JSON object {e.example} on stdin."
            ) from None
    if not form.checked:
        return compose_value(
            form, given, getpass.getpass(f"Value of {args.name} (hidden): "), secret=args.name
        )
    asked = dict(given)
    # A type that marks no field required leaves each to the field: none is called optional.
    some_required = any(f.required for f in form.fields)
    for field in form.to_ask(given):
        label = field.name + (f" ({'/'.join(field.options)})" if field.options else "")
        label += " (optional, Enter to skip)" if some_required and not field.required else ""
        ask = getpass.getpass if field.secret else input
        answer = ask(f"{label}{' (hidden)' if field.secret else ''}: ")
        if answer:
            asked[field.name] = answer
    return compose_value(form, asked, None, secret=args.name)


def _resume_waiting(settings: Any, project_id: int) -> int:
    """Runs of the project waiting for credentials try again with the secrets it has now."""
    from core.kernel.vocabulary import RunState
    from core.pipeline import build_services
    from core.pipeline.resume import resume_waiting_runs

    with cli_session_factory() as factory, cli_n8n() as n8n:
        services = build_services(
            settings, session_factory=factory, n8n=n8n, require_llm=False, with_mcp=False
        )
        outcomes = resume_waiting_runs(services, project_id=project_id)
    code = 0
    for outcome in outcomes:
        if outcome.ok:
            print(f"[run {outcome.run_id}] resumed: {outcome.message}")
        elif outcome.state == RunState.awaiting_credentials:
            print(f"[run {outcome.run_id}] still waiting: {outcome.message}", file=sys.stderr)
            code = 4
        else:
            print(f"[run {outcome.run_id}] {outcome.state}: {outcome.message}", file=sys.stderr)
            code = 1
    return code


def _secret_list(args: argparse.Namespace) -> int:
    from core.usecases.secrets import secrets

    with cli_session_factory() as factory:
        project, infos = secrets(factory, actor=cli_actor(), project=args.project)
    if not infos:
        print(f"Project {project} has no secrets.")
        return 0
    for info in infos:
        kind = info.credential_type or "-"
        hosts = f"  hosts: {', '.join(info.allowed_hosts)}" if info.allowed_hosts else ""
        print(
            f"{info.name:<32} {kind:<24} set by {info.created_by} {info.updated_at:%Y-%m-%d}"
            + hosts
        )
    return 0


def _secret_delete(args: argparse.Namespace) -> int:
    import contextlib

    from core.usecases.secrets import delete_secret

    with cli_session_factory() as factory, contextlib.ExitStack() as stack:
        # The n8n credential (if any) is removed with the secret when n8n is configured.
        n8n = stack.enter_context(cli_n8n()) if _n8n_configured() else None
        project = delete_secret(
            factory, n8n=n8n, actor=cli_actor(), project=args.project, name=args.name
        )
    print(f"Secret {args.name} deleted from project {project}.")
    return 0


def _secret_rotate(args: argparse.Namespace) -> int:
    from core.kernel.settings import get_settings
    from core.usecases.secrets import rotate_secret_key

    settings = get_settings()
    settings.require("CLIXEN_SECRET_KEY")
    new_key = os.environ.get("CLIXEN_NEW_SECRET_KEY") or _read_value("New secret key (hidden): ")
    with cli_session_factory() as factory:
        n = rotate_secret_key(factory, settings=settings, new_key=new_key)
    print(f"Re-encrypted {n} secret(s). Now set CLIXEN_SECRET_KEY to the new key everywhere.")
    return 0


def _secret_resync(args: argparse.Namespace) -> int:
    from core.kernel.settings import get_settings
    from core.usecases.secrets import resync_secrets

    settings = get_settings()
    settings.require("CLIXEN_SECRET_KEY")
    with cli_session_factory() as factory, cli_n8n() as n8n:
        written, refused = resync_secrets(factory, settings=settings, n8n=n8n)
    print(f"Wrote {written} n8n credential(s) again.")
    for why in refused:
        print(f"not written: {why}", file=sys.stderr)
    return 1 if refused else 0


def _token_create(args: argparse.Namespace) -> int:
    from core.usecases.tokens import create_token

    with cli_session_factory() as factory:
        token = create_token(
            factory,
            actor=cli_actor(),
            project=args.project,
            name=args.name,
            read_only=args.read_only,
        )
    scope = "read-only " if token.read_only else ""
    print(f"{scope}API token #{token.id} ({token.name}) for project {token.project}:")
    print(token.raw)
    print("It is shown only now; send it as 'Authorization: Bearer <token>'.")
    return 0


def _token_list(args: argparse.Namespace) -> int:
    from core.usecases.tokens import tokens

    with cli_session_factory() as factory:
        project, listed = tokens(factory, actor=cli_actor(), project=args.project)
    if not listed:
        print(f"Project {project} has no API tokens.")
    for t in listed:
        state = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "active"
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
        scope = "read-only" if t.read_only else "read-write"
        print(f"#{t.id:<5} {t.name:<24} {t.prefix}…  {scope:<10} {state:<18} last used {used}")
    return 0


def _token_revoke(args: argparse.Namespace) -> int:
    from core.usecases.tokens import revoke_token

    with cli_session_factory() as factory:
        revoke_token(factory, actor=cli_actor(), project=args.project, token_id=args.token_id)
    print(f"API token #{args.token_id} revoked.")
    return 0


def _policy_show(args: argparse.Namespace) -> int:
    from core.usecases.policy import node_policy

    with cli_session_factory() as factory:
        shown = node_policy(factory, actor=cli_actor(), project=args.project)
    policy = shown.policy
    print(f"Node types denied in project {shown.project} (their <type>Tool variants too):")
    for t in sorted(policy.denied):
        print(f"  {t:<40} {policy.why(t)}")
    print("Internal hosts its HTTP requests may call:")
    for host in policy.allowed_hosts or ("(none)",):
        print(f"  {host}")
    return 0


def _change_policy(args: argparse.Namespace, *, deny: bool) -> int:
    from core.usecases.policy import change_node_types

    with cli_session_factory() as factory:
        changed = change_node_types(
            factory, actor=cli_actor(), project=args.project, types=args.types, deny=deny
        )
    verb = "denied" if deny else "allowed"
    print(f"{', '.join(args.types)} {verb} in project {changed.project}.")
    if changed.lifted:
        # scripts/n8n_stack.sh (and README "Hardening your n8n") exclude every default-denied type
        print(
            f"n8n does not load {', '.join(changed.lifted)} while its NODES_EXCLUDE lists them: "
            "drop them from NODES_EXCLUDE and restart n8n (README: Hardening your n8n)."
        )
    print(f"{len(changed.policy.denied)} node type(s) denied in total (clixen policy show).")
    return 0


def _policy_deny(args: argparse.Namespace) -> int:
    return _change_policy(args, deny=True)


def _policy_allow(args: argparse.Namespace) -> int:
    return _change_policy(args, deny=False)


def _change_hosts(args: argparse.Namespace, *, allow: bool) -> int:
    from core.usecases.policy import change_hosts
    from core.workspace.policy import normalize_host

    wanted = [normalize_host(h) for h in args.hosts]
    with cli_session_factory() as factory:
        changed = change_hosts(
            factory, actor=cli_actor(), project=args.project, hosts=args.hosts, allow=allow
        )
    verb = "may now be called" if allow else "may no longer be called"
    print(f"{', '.join(wanted)} {verb} by HTTP requests in project {changed.project}.")
    print(f"Allowed internal hosts: {', '.join(changed.policy.allowed_hosts) or '(none)'}")
    return 0


def _policy_allow_host(args: argparse.Namespace) -> int:
    return _change_hosts(args, allow=True)


def _policy_deny_host(args: argparse.Namespace) -> int:
    return _change_hosts(args, allow=False)
