"""One mapping from an error to what a user is told, with one kind of error id."""

from __future__ import annotations

import logging
import re

import pytest

from core.kernel.errors import NotFound, user_message
from core.workspace.quotas import TooManyRuns

log = logging.getLogger("tests.user_message")


def test_our_errors_say_themselves_with_their_code_and_no_id() -> None:
    told = user_message(NotFound("There is no workflow #4."), log=log, where="a test")
    assert (told.code, told.text, told.error_id) == ("not_found", "There is no workflow #4.", None)
    assert user_message(TooManyRuns(running=2, limit=2), log=log, where="x").code == "too_many_runs"


def test_anything_else_is_an_id_shown_to_the_user_and_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    try:
        raise KeyError("secret internals")
    except KeyError as e:
        with caplog.at_level(logging.ERROR, logger=log.name):
            told = user_message(e, log=log, where="run 7")
    assert told.code == "internal_error" and told.error_id is not None
    assert re.fullmatch(r"[0-9a-f]{12}", told.error_id)
    assert told.text == f"Something went wrong on our side (error id {told.error_id})."
    assert "secret internals" not in told.text
    [record] = caplog.records
    assert told.error_id in record.getMessage() and "run 7" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is KeyError
