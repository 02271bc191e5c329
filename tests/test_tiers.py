"""The test tiers (tests/tiers.py): a test lands in its tier from the fixtures it uses, and a fast
test that reaches a service fails. Run on small inner test suites (pytester) whose fixtures carry
the real fixture names but reach nothing."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

CONFTEST = """
import pytest
from tests.conftest import _fast_tier_guard, pytest_collection_modifyitems  # noqa: F401

@pytest.fixture
def database_url():
    return "postgresql+psycopg://nobody@127.0.0.1:5432/none"

@pytest.fixture
def session_factory(database_url):
    return None

@pytest.fixture
def queue_n8n():
    return None
"""

INI = """
[pytest]
addopts = --strict-markers -p no:cacheprovider
markers =
    fast: f
    integration: i
    scale: s
"""


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makefile(".ini", pytest=INI)
    return pytester


def selected(pytester: pytest.Pytester, tier: str) -> set[str]:
    result = pytester.runpytest_inprocess("--collect-only", "-q", "-m", tier)
    return {line.split("::")[1] for line in result.outlines if "::" in line}


def test_a_test_is_in_the_tier_its_fixtures_reach(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        test_mixed="""
        import pytest

        def test_pure(tmp_path):
            pass

        def test_through_another_fixture(session_factory):
            pass

        @pytest.mark.integration
        def test_marked():
            pass

        def test_queue(queue_n8n, database_url):
            pass
        """
    )
    assert selected(inner, "fast") == {"test_pure"}
    assert selected(inner, "integration") == {"test_through_another_fixture", "test_marked"}
    assert selected(inner, "scale") == {"test_queue"}


def test_a_fast_test_that_reaches_a_service_fails_and_says_how_to_fix_it(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        test_reach="""
        import socket
        import subprocess

        import psycopg
        from sqlalchemy import create_engine, text

        def test_postgres_through_sqlalchemy():
            engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
            with engine.connect() as conn:
                conn.execute(text("select 1"))

        def test_n8n_port_swallowed():
            try:
                socket.create_connection(("127.0.0.1", 5678), timeout=1).close()
            except OSError:
                pass  # code under test that hides the error still fails the test

        def test_process_of_ours():
            subprocess.run(["clixen", "--help"], check=False)

        def test_off_this_machine():
            socket.create_connection(("192.0.2.1", 443), timeout=1)

        def test_pure():
            assert psycopg is not None
        """
    )
    result = inner.runpytest_inprocess("-m", "fast")
    # test_n8n_port_swallowed passes its call and errors in teardown
    result.assert_outcomes(passed=2, failed=3, errors=4)
    text = result.stdout.str()
    assert "opens a Postgres connection" in text
    assert "connects to a service port (127.0.0.1:5678)" in text
    assert "starts a subprocess (clixen)" in text
    assert "connects to 192.0.2.1:443, off this machine" in text
    assert "mark the test @pytest.mark.integration" in text
