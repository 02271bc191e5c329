"""The guard of "no n8n, LLM or Slack call inside an open database transaction": each client's
choke point refuses a call made while the calling thread holds a transaction (tests run strict,
`tests/conftest.py`), lets it through once the transaction ended, and in production logs a
warning instead of refusing."""

from __future__ import annotations

import logging
import threading

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from bot.slack_client import SlackClient
from core.deploy.lock import workflow_lock
from core.generation.llm import LLMClient
from core.kernel import transactions
from core.kernel.transactions import TransactionOpen
from core.n8n import N8nClient
from core.n8n.session import N8nUserSession
from tests.doubles.llm_server import ScriptedLLM
from tests.doubles.slack_api import FakeSlack


def test_an_n8n_call_inside_a_transaction_fails_the_test(
    session_factory: sessionmaker[Session], n8n_client: N8nClient
) -> None:
    with session_factory.begin() as session:
        session.execute(text("SELECT 1"))
        with pytest.raises(TransactionOpen, match=r"n8n call \(GET /api/v1/workflows\)"):
            n8n_client.list_workflows()
    # Committed: the same call goes out.
    n8n_client.list_workflows()


def test_a_read_only_session_left_open_counts_too(
    session_factory: sessionmaker[Session], n8n_user: N8nUserSession
) -> None:
    with session_factory() as session:
        session.execute(text("SELECT 1"))  # autobegun, never committed: still a transaction
        with pytest.raises(TransactionOpen, match="n8n call"):
            n8n_user.oauth2_connection("no-such-credential")


def test_an_llm_call_inside_a_transaction_fails_the_test(
    session_factory: sessionmaker[Session], llm: ScriptedLLM
) -> None:
    llm.script('{"answer": "ok"}')
    client = LLMClient(api_key="test", base_url=llm.url, model="scripted", max_retries=0)
    with session_factory.begin() as session:
        session.execute(text("SELECT 1"))
        with pytest.raises(TransactionOpen, match=r"LLM call"):
            client.chat([{"role": "user", "content": "hi"}])
    assert llm.requests == []  # refused before anything was sent
    assert client.chat([{"role": "user", "content": "hi"}]).text


def test_a_slack_call_inside_a_transaction_fails_the_test(
    session_factory: sessionmaker[Session], slack: FakeSlack
) -> None:
    client = SlackClient(token="xoxb-test", base_url=slack.url)
    with session_factory.begin() as session:
        session.execute(text("SELECT 1"))
        with pytest.raises(TransactionOpen, match=r"Slack call \(chat.postMessage\)"):
            client.chat_postMessage(channel="C1", text="hello")
    assert not [c for c in slack.calls if c.method == "chat.postMessage"]
    client.chat_postMessage(channel="C1", text="hello")


def test_the_deploy_lock_and_other_threads_transactions_do_not_count(
    session_factory: sessionmaker[Session], n8n_client: N8nClient
) -> None:
    # The deploy lock is held on an AUTOCOMMIT connection: no snapshot, no row lock held.
    with workflow_lock(session_factory, 4242):
        n8n_client.list_workflows()
    # Another thread's open transaction is that thread's business.
    opened, release = threading.Event(), threading.Event()

    def hold() -> None:
        with session_factory.begin() as session:
            session.execute(text("SELECT 1"))
            opened.set()
            release.wait(30)

    worker = threading.Thread(target=hold)
    worker.start()
    try:
        assert opened.wait(30)
        n8n_client.list_workflows()
    finally:
        release.set()
        worker.join()


def test_production_logs_a_warning_and_lets_the_call_through(
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = transactions.guard_transactions(strict=False)
    try:
        with caplog.at_level(logging.WARNING), session_factory.begin() as session:
            session.execute(text("SELECT 1"))
            n8n_client.list_workflows()
    finally:
        transactions.guard_transactions(strict=before)
    assert "while a database transaction is open" in caplog.text
