"""Claim a key once: Slack retries and double clicks must not do the same work twice."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from core.models import ProcessedAction


def claim(
    session_factory: sessionmaker[Session], key: str, result: dict[str, Any] | None = None
) -> bool:
    """True the first time `key` is claimed, False for every later attempt (in any process)."""
    try:
        with session_factory.begin() as session:
            session.add(ProcessedAction(key=key[:200], result=result or {}))
    except IntegrityError:
        return False
    return True


def slack_retry_num(headers: dict[str, Any]) -> int:
    """Slack's retry counter (0 for a first delivery)."""
    for name, value in headers.items():
        if name.lower() == "x-slack-retry-num":
            raw = value[0] if isinstance(value, list | tuple) else value
            try:
                return int(raw)
            except (TypeError, ValueError):
                return 0
    return 0
