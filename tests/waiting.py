"""Waiting in tests: poll a condition until it holds, never sleep a fixed time and hope."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

POLL_S = 0.05


def wait_until(
    condition: Callable[[], T],
    timeout: float = 60.0,
    message: str | Callable[[], str] = "the condition never held",
) -> T:
    """What `condition()` returned once it was truthy (asked every POLL_S seconds, and once more
    at the deadline). After `timeout` seconds the test fails with `message` (a callable is asked
    only then, for details such as a process's log)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"after {timeout:g} s: {text}")
        time.sleep(POLL_S)
