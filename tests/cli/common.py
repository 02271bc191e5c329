"""The CLI tests' shared helper: `clixen` run in this process (the `cli_env` fixture in
tests/conftest.py points it at the test database and the real n8n)."""

from __future__ import annotations

import pytest

from cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`clixen *argv` in this process: exit code, stdout, stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
