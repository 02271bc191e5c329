"""Shared fixtures: a real Postgres database, the real n8n, and the two network-edge doubles; the
test tiers (tests/tiers.py) are assigned here, and fast tests run under their guard."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from core.generation.templates import DEFAULT_DB_PATH, TemplateLibrary, default_library
from core.kernel import db, log_context, transactions
from core.kernel.models import Base, Secret
from core.kernel.settings import get_settings
from core.n8n import N8nClient
from core.n8n.session import N8nUserSession
from tests.builders import delete_deployed
from tests.doubles.llm_server import ScriptedLLM, start_llm_server
from tests.doubles.slack_api import FakeSlack, start_fake_slack
from tests.tiers import FastTierGuard, configured_ports, mark_tiers

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get(
    "CLIXEN_TEST_PG", "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
)
PG_URL_BASE = os.environ.get("CLIXEN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")


def create_database(
    prefix: str = "clixen_test", *, admin: str = PG_ADMIN, url_base: str = PG_URL_BASE
) -> str:
    """Create an empty Postgres database (through the `admin` connection); its SQLAlchemy URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{url_base}/{name}"


def drop_database(url: str, *, admin: str = PG_ADMIN) -> None:
    name = url.rsplit("/", 1)[-1]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mark_tiers(items)


@pytest.fixture(autouse=True)
def _fast_tier_guard(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """A fast test that reaches Postgres, n8n, Redis, the network or a subprocess fails."""
    if not request.node.get_closest_marker("fast"):
        yield
        return
    guard = FastTierGuard(request.node.nodeid, configured_ports())
    guard.install(monkeypatch)
    yield
    if guard.violations:
        pytest.fail("\n".join(dict.fromkeys(guard.violations)), pytrace=False)


@pytest.fixture(autouse=True)
def _fresh_log_fields() -> Iterator[None]:
    """Each test starts with no bound log fields: a test that dispatches a Slack request on its
    own thread (Bolt's middleware binds the request's fields with `begin`, as on a pooled
    thread) must not hand them to the next test's log lines."""
    log_context.begin()
    yield
    log_context.begin()


@pytest.fixture(autouse=True)
def _no_outside_call_in_transaction() -> Iterator[None]:
    """Every test runs under the transaction guard: an n8n, LLM or Slack call made while the
    calling thread holds an open database transaction raises TransactionOpen (the test fails)."""
    before = transactions.guard_transactions(strict=True)
    yield
    transactions.guard_transactions(strict=before)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A Postgres database private to this test run, migrated to head."""
    url = create_database()
    db.upgrade(url)
    yield url
    drop_database(url)


@pytest.fixture
def fresh_database_url() -> Iterator[str]:
    """An empty Postgres database of this test's own (not migrated), dropped afterwards."""
    url = create_database("clixen_fresh")
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = db.make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions on the run's database, emptied before each test (tests stay isolated)."""
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield db.make_session_factory(engine)


@dataclass(frozen=True)
class N8nStack:
    url: str
    api_key: str
    mcp_command: str | None


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            k, v = line.split("=", 1)
            values[k.strip()] = v.strip()
    return values


@pytest.fixture(scope="session")
def n8n_install() -> Path:
    """The n8n and n8n-mcp installed under .stack/ (by the stack script when missing, as on a
    fresh machine; never skipped): n8n's node descriptions, n8n-mcp's template database."""
    if not DEFAULT_DB_PATH.is_file():
        subprocess.run([str(REPO / "scripts" / "n8n_stack.sh"), "install"], check=True, cwd=REPO)
    return REPO / ".stack"


@pytest.fixture(scope="session")
def template_library(n8n_install: Path) -> TemplateLibrary:
    """The real n8n.io templates from n8n-mcp's database."""
    return default_library()


@pytest.fixture(scope="session")
def n8n() -> N8nStack:
    """The real n8n: reused when N8N_URL/N8N_API_KEY are set, else started by the project script."""
    if os.environ.get("N8N_URL") and os.environ.get("N8N_API_KEY"):
        return N8nStack(
            os.environ["N8N_URL"], os.environ["N8N_API_KEY"], os.environ.get("N8N_MCP_COMMAND")
        )
    subprocess.run([str(REPO / "scripts" / "n8n_stack.sh"), "start"], check=True, cwd=REPO)
    env = _read_env_file(REPO / ".stack" / "n8n.env")
    return N8nStack(env["N8N_URL"], env["N8N_API_KEY"], env.get("N8N_MCP_COMMAND"))


@pytest.fixture
def n8n_client(n8n: N8nStack) -> Iterator[N8nClient]:
    """A client of the real n8n (what a test creates there is its own to delete)."""
    with N8nClient(n8n.url, n8n.api_key) as client:
        yield client


@pytest.fixture(scope="session")
def n8n_user(n8n: N8nStack) -> Iterator[N8nUserSession]:
    """Clixen's server-side n8n user session (the owner scripts/n8n_stack.sh created; its login
    is in .stack/n8n.env, or N8N_OWNER_EMAIL / N8N_OWNER_PASSWORD for the n8n in N8N_URL). One
    for the whole session: n8n allows 5 sign-ins per minute and user."""
    stack_env = REPO / ".stack" / "n8n.env"  # absent when N8N_URL names a shared n8n
    env = {**(_read_env_file(stack_env) if stack_env.is_file() else {}), **os.environ}
    email, password = env.get("N8N_OWNER_EMAIL"), env.get("N8N_OWNER_PASSWORD")
    assert email and password, (
        "N8N_OWNER_EMAIL / N8N_OWNER_PASSWORD are not set: run scripts/n8n_stack.sh start "
        "(it writes them to .stack/n8n.env) or export them for the n8n in N8N_URL."
    )
    with N8nUserSession(n8n.url, email, password) as session:
        yield session


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    """A scripted OpenAI-compatible server; `llm.url` is its base URL, `llm.requests` the log."""
    fake = ScriptedLLM()
    server, _ = start_llm_server(fake)
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    """A fake Slack Web API; `slack.url` is the base URL, `slack.calls` the recorded calls."""
    fake = FakeSlack()
    server = start_fake_slack(fake)
    yield fake
    server.shutdown()
    server.server_close()


CLI_USER = "alice"
CLI_SECRET_KEY = "k3y-for-the-cli-tests-0123456789"


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    n8n: N8nStack,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
) -> Iterator[N8nClient]:
    """`clixen` in this process (tests.cli.common.run) on the test database, the real n8n (our
    validator alone, no n8n-mcp) and the scripted LLM, as the terminal user cli:alice; other
    variables the test sets stay. Yields a client of that n8n; afterwards deletes from n8n the
    credentials and workflows the test created."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("N8N_URL", n8n.url)
    monkeypatch.setenv("N8N_API_KEY", n8n.api_key)
    monkeypatch.setenv("N8N_MCP_COMMAND", "")
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
    monkeypatch.setenv("OPENAI_MODEL", "scripted")
    monkeypatch.setenv("CLIXEN_SECRET_KEY", CLI_SECRET_KEY)
    monkeypatch.setenv("CLIXEN_CLI_USER", CLI_USER)
    get_settings.cache_clear()
    with N8nClient(n8n.url, n8n.api_key) as client:
        yield client
        with session_factory() as session:
            credentials = [c for c in session.scalars(select(Secret.n8n_credential_id)) if c]
        for credential_id in credentials:
            client.delete_credential(credential_id)
        delete_deployed(session_factory, client)
    get_settings.cache_clear()
