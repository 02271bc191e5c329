"""Test tiers: every collected test lands in exactly one of `fast`, `integration` or `scale`.

- `scale`: under tests/scale/ or using the queue-mode stack (`queue_n8n`); starts that stack.
- `integration`: uses (directly or through other fixtures) a fixture named in SERVICE_FIXTURES,
  i.e. reaches Postgres, the real n8n, n8n-mcp or a subprocess of ours, or carries
  `@pytest.mark.integration` for a reason no fixture shows.
- `fast`: everything else; `scripts/test.sh --fast` runs these (`pytest -m fast`) and starts no
  service.

The tier follows from the fixtures a test asks for, so a test added later lands in the right tier
without anyone marking it. A fast test that still reaches a service (by building its own client
or database, or by starting `clixen`/n8n itself) fails: `FastTierGuard` refuses, for tests marked
`fast`, TCP connections to the services' ports and to anything off this machine, Postgres
connections of any kind, and subprocesses other than the local tools in ALLOWED_PROGRAMS. It
refuses in every run, not only in `--fast` ones, so CI catches a misplaced test too.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

REPO = Path(__file__).resolve().parent.parent

TIERS = ("fast", "integration", "scale")

# Fixtures that reach a service. Any test that uses one (also through another fixture: pytest's
# `fixturenames` is the closure) is `integration`. A new fixture that reaches a service goes here.
SERVICE_FIXTURES = frozenset(
    {
        "database_url",  # Postgres (engine, session_factory and the rest build on it)
        "fresh_database_url",  # Postgres, a database of the test's own
        "n8n",  # the real n8n (n8n_client and every pipeline/bot fixture build on it)
        "n8n_install",  # n8n and n8n-mcp installed under .stack (template_library needs it)
        "mcp_command",  # the n8n-mcp server over stdio
    }
)
SCALE_FIXTURES = frozenset({"queue_n8n"})
SCALE_DIR = REPO / "tests" / "scale"

# The usual ports of Postgres, n8n and Redis; the ones configured for this run are added.
SERVICE_PORTS = frozenset({5432, 5678, 6379})
# Local tools a fast test may run: Graphviz lays out the workflow pictures; the standard
# library's `platform` asks `uname` (the OpenAI SDK reports the platform).
ALLOWED_PROGRAMS = frozenset({"dot", "uname"})


def tier_of(item: pytest.Item) -> str:
    """The tier of one collected test (see the module docstring)."""
    names = set(getattr(item, "fixturenames", ()))
    if item.get_closest_marker("scale") or names & SCALE_FIXTURES:
        return "scale"
    if Path(str(item.path)).is_relative_to(SCALE_DIR):
        return "scale"
    if item.get_closest_marker("integration") or names & SERVICE_FIXTURES:
        return "integration"
    return "fast"


def mark_tiers(items: Iterable[pytest.Item]) -> None:
    """Add each test's tier marker (`-m fast`, `-m integration`, `-m scale` select them)."""
    for item in items:
        tier = tier_of(item)
        if not item.get_closest_marker(tier):
            item.add_marker(getattr(pytest.mark, tier))


def _port(url: str | None) -> int | None:
    if not url:
        return None
    try:
        return urlsplit(url).port
    except ValueError:
        return None


def configured_ports() -> frozenset[int]:
    """SERVICE_PORTS plus the ports of the n8n/Postgres this run is configured with."""
    urls = [os.environ.get(k) for k in ("N8N_URL", "DATABASE_URL", "CLIXEN_TEST_PG_URL")]
    for env_file in (REPO / ".stack" / "n8n.env", REPO / ".stack" / "queue" / "n8n.env"):
        try:
            lines = env_file.read_text().splitlines()
        except OSError:
            continue
        urls += [line.split("=", 1)[1].strip() for line in lines if line.startswith("N8N_URL=")]
    ports = {p for p in map(_port, urls) if p}
    return SERVICE_PORTS | ports


def _loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


@dataclass
class FastTierGuard:
    """Refuses, and remembers, what a fast test must not do (installed per test)."""

    test: str
    ports: frozenset[int]
    violations: list[str] = field(default_factory=list)

    def refuse(self, what: str) -> ConnectionRefusedError:
        message = (
            f"{self.test} is in the fast tier but {what}. Ask for the fixture that provides it "
            f"({', '.join(sorted(SERVICE_FIXTURES))}) or mark the test "
            "@pytest.mark.integration (tests/tiers.py)."
        )
        self.violations.append(message)
        return ConnectionRefusedError(message)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        guard = self
        real_connect = socket.socket.connect
        real_connect_ex = socket.socket.connect_ex
        real_execute_child = subprocess.Popen._execute_child  # type: ignore[attr-defined]

        def check_address(sock: socket.socket, address: Any) -> None:
            if sock.family not in (socket.AF_INET, socket.AF_INET6):
                return
            host, port = str(address[0]), int(address[1])
            if not _loopback(host):
                raise guard.refuse(f"connects to {host}:{port}, off this machine")
            if port in guard.ports:
                raise guard.refuse(f"connects to a service port ({host}:{port})")

        def connect(sock: socket.socket, address: Any) -> None:
            check_address(sock, address)
            real_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            check_address(sock, address)
            return real_connect_ex(sock, address)

        def pg_connect(*args: Any, **kwargs: Any) -> Any:
            raise guard.refuse("opens a Postgres connection")

        def execute_child(popen: subprocess.Popen[Any], args: Any, *rest: Any) -> None:
            argv = [args] if isinstance(args, str | bytes) else list(args)
            program = Path(os.fsdecode(argv[0]).split()[0]).name if argv else ""
            if program not in ALLOWED_PROGRAMS:
                raise guard.refuse(f"starts a subprocess ({program})")
            real_execute_child(popen, args, *rest)

        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
        monkeypatch.setattr(psycopg, "connect", pg_connect)
        monkeypatch.setattr(psycopg.Connection, "connect", pg_connect)
        monkeypatch.setattr(psycopg.AsyncConnection, "connect", pg_connect)
        monkeypatch.setattr(subprocess.Popen, "_execute_child", execute_child)
