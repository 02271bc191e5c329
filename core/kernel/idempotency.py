"""Claim a key once: Slack retries and double clicks must not do the same work twice."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.models import ProcessedAction


def claim_once(
    *, session_factory: sessionmaker[Session], key: str, result: dict[str, Any] | None = None
) -> bool:
    """True the first time `key` is claimed, False for every later attempt (in any process).

    Takes the factory, not a session: the claim commits on its own, so it holds whatever the
    caller's transaction does next."""
    try:
        with session_factory.begin() as session:
            session.add(ProcessedAction(key=key[:200], result=result or {}))
    except IntegrityError:
        return False
    return True
