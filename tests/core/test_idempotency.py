"""A key is claimed once: Slack retries and double clicks do their work once."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from core.kernel.idempotency import claim_once


def test_a_key_is_claimed_once(session_factory: sessionmaker[Session]) -> None:
    assert claim_once(session_factory=session_factory, key="slack:event:Ev1")
    assert not claim_once(session_factory=session_factory, key="slack:event:Ev1")
    assert claim_once(session_factory=session_factory, key="slack:event:Ev2")
