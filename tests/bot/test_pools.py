"""The bot's worker pools count their work, so a test (or a stop) can tell when it is all done."""

from __future__ import annotations

import threading

from bot.pools import WorkerPool
from tests.bot.conftest import SlackSender
from tests.doubles.slack_api import FakeSlack
from tests.waiting import wait_until


def test_a_pool_counts_what_it_was_handed_and_what_is_still_running() -> None:
    release = threading.Event()
    with WorkerPool(2, thread_name_prefix="t") as pool:
        held = pool.submit(release.wait, 30)
        quick = pool.submit(sum, [1, 2])
        assert quick.result(timeout=30) == 3
        wait_until(lambda: pool.pending == 1, 30, f"pending: {pool.pending}")
        assert pool.submitted == 2
        release.set()
        assert held.result(timeout=30) is True
    assert (pool.submitted, pool.pending) == (2, 0)


def test_a_failing_task_is_counted_as_finished() -> None:
    with WorkerPool(1, thread_name_prefix="t") as pool:
        future = pool.submit(int, "not a number")
        assert isinstance(future.exception(timeout=30), ValueError)
    assert pool.pending == 0


def test_settle_returns_once_the_reply_to_an_acknowledged_request_was_sent(
    bot: SlackSender, slack: FakeSlack
) -> None:
    assert bot.command("help").status_code == 200  # acknowledged before any listener ran
    bot.settle()
    [reply] = slack.named("respond")
    assert "/clixen rollback" in str(reply.args)
