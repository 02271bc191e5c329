"""The domain error hierarchy. Front ends (Slack, CLI, HTTP) turn these into user-facing text."""

from __future__ import annotations


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
