"""`clixen db upgrade|downgrade|current`: schema migrations on DATABASE_URL."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("db", help="database migrations")
    dsub = p.add_subparsers(dest="db_command", metavar="ACTION")
    dsub.required = True
    up = dsub.add_parser("upgrade", help="apply migrations (default: to the newest)")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(func=_upgrade)
    down = dsub.add_parser("downgrade", help="revert migrations (default: the last one)")
    down.add_argument("revision", nargs="?", default="-1", help='a revision id, "-1" or "base"')
    down.set_defaults(func=_downgrade)
    cur = dsub.add_parser("current", help="print the applied revision")
    cur.set_defaults(func=_current)


def _upgrade(args: argparse.Namespace) -> int:
    from core.kernel import db
    from core.kernel.settings import get_settings

    url = get_settings().database_url
    db.upgrade(url, args.revision)
    print(f"database at revision {db.current_revision(url)}")
    return 0


def _downgrade(args: argparse.Namespace) -> int:
    from core.kernel import db
    from core.kernel.settings import get_settings

    url = get_settings().database_url
    db.downgrade(url, args.revision)
    print(f"database at revision {db.current_revision(url) or 'base (empty)'}")
    return 0


def _current(args: argparse.Namespace) -> int:
    from core.kernel import db
    from core.kernel.settings import get_settings

    print(db.current_revision(get_settings().database_url) or "base (empty)")
    return 0
