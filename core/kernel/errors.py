"""The domain error hierarchy, and the one mapping from any error to what a user is told
(`user_message`): front ends (Slack, CLI, HTTP) render its result, none maps errors itself."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass


class ClixenError(Exception):
    """Base of every error the product raises on purpose. `str(e)` is safe to show a user."""

    code = "error"


class SettingsError(ClixenError):
    """Required configuration is missing or unusable."""

    code = "settings"

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Configuration problem:\n  - " + "\n  - ".join(problems))


class NotFound(ClixenError):
    code = "not_found"


class PermissionDenied(ClixenError):
    code = "forbidden"


class InvalidInput(ClixenError):
    code = "invalid_input"


class LLMNotConfigured(ClixenError):
    code = "llm_not_configured"

    def __init__(self) -> None:
        super().__init__(
            "No LLM is configured. Set OPENAI_API_KEY (and OPENAI_BASE_URL for a server other "
            "than OpenAI, e.g. http://localhost:11434/v1 for Ollama) and optionally OPENAI_MODEL. "
            "Everything that needs no LLM (validate, deploy a given JSON, versions, rollback, "
            "dashboard, quotas) works without it."
        )


@dataclass(frozen=True)
class UserMessage:
    """What a user is told about an error: `code` (stable: a `ClixenError.code`, else
    "internal_error"), `text` (safe to show) and, for an unexpected error, the `error_id` that is
    in the text and in the log line holding its traceback."""

    code: str
    text: str
    error_id: str | None = None


def new_error_id() -> str:
    """An id for one unexpected error: shown to the user, logged with the traceback."""
    return uuid.uuid4().hex[:12]


def user_message(error: BaseException, *, log: logging.Logger, where: str) -> UserMessage:
    """The message for `error`. A `ClixenError` says itself; anything else is logged on `log`
    with its traceback and an error id (`where`: what was being done, for the log line), and the
    user is told only that id."""
    if isinstance(error, ClixenError):
        return UserMessage(error.code, str(error))
    error_id = new_error_id()
    log.error("unexpected error %s in %s", error_id, where, exc_info=error)
    return UserMessage(
        "internal_error", f"Something went wrong on our side (error id {error_id}).", error_id
    )
