"""The guard of the house rule "no n8n, LLM or Slack call while a database transaction is open".

Every engine made by `core.kernel.db.make_engine` reports here (`began`/`ended`) which of its
connections hold an open transaction, and in which thread. Each outside client calls
`outside_transaction` at its single choke point (the n8n clients' HTTP hooks, the LLM client's
send, the bot's Slack client's `api_call`): in tests (`guard_transactions(strict=True)`, an
autouse fixture) an offending call raises `TransactionOpen`, so the test that does it fails; in
production it logs a warning with the stack and the call goes out. Kept free of SQLAlchemy so
the clients import it cheaply.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger(__name__)


class TransactionOpen(RuntimeError):
    """An outside call (n8n, the LLM, Slack) was made while this thread holds an open database
    transaction: a bug. The fix: read, commit, call out, record the result in a new one."""


_open: dict[int, int] = {}  # id of a connection with a transaction open → thread that began it
_lock = threading.Lock()
_strict = False


def guard_transactions(*, strict: bool) -> bool:
    """strict: an outside call inside a transaction raises TransactionOpen (tests); otherwise it
    logs a warning (production). Returns the previous setting."""
    global _strict
    before, _strict = _strict, strict
    return before


def _autocommit(conn: Any) -> bool:
    try:
        return bool(conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT")
    except Exception:  # a connection being closed holds nothing
        return False


def began(conn: Any) -> None:
    """A connection began a transaction (SQLAlchemy `begin` event)."""
    if not _autocommit(conn):  # an AUTOCOMMIT connection (the deploy lock's) holds no snapshot
        with _lock:
            _open[id(conn)] = threading.get_ident()


def ended(conn: Any) -> None:
    """A connection's transaction ended (`commit` / `rollback`, also on close)."""
    with _lock:
        _open.pop(id(conn), None)


def transaction_open() -> bool:
    """True when this thread holds an open database transaction."""
    me = threading.get_ident()
    with _lock:
        return me in _open.values()


def outside_transaction(service: str, what: str) -> None:
    """Called right before a call to `service` (what: the endpoint or method, never a value):
    TransactionOpen (strict) or a warning when this thread holds an open transaction."""
    if not transaction_open():
        return
    message = (
        f"{service} call ({what}) while a database transaction is open: read what you need, "
        "commit, then call out, then record the result in a new transaction"
    )
    if _strict:
        raise TransactionOpen(message)
    log.warning("%s", message, stack_info=True)
