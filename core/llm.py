"""The OpenAI-compatible chat client the generator talks to (OpenAI, Azure, vLLM, Ollama…).

One client per process, built from settings; errors are mapped once into the `LLMError` hierarchy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import openai

from core.errors import ClixenError, LLMNotConfigured
from core.settings import Settings

# The openai client retries 408/409/429/5xx and connection errors itself with capped backoff.
MAX_RETRIES = 2
DEFAULT_TIMEOUT_S = 120.0


class LLMError(ClixenError):
    """The LLM server could not give an answer. The message is safe to show a user."""

    code = "llm_error"


class LLMConnectionError(LLMError):
    """The LLM server could not be reached (or did not answer in time)."""


class LLMTimeout(LLMConnectionError):
    pass


class LLMStatusError(LLMError):
    """The LLM server answered with an error status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class LLMAuthError(LLMStatusError):
    """The server rejected the API key (401/403)."""


class LLMRateLimited(LLMStatusError):
    """429 after the client's own retries."""


class LLMServerError(LLMStatusError):
    """5xx after the client's own retries."""


class LLMBadReply(LLMError):
    """A 2xx answer without usable content."""


@dataclass(frozen=True)
class LLMReply:
    text: str
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


Message = dict[str, str]


class LLMClient:
    """A chat-completions client; `chat()` returns the reply text and its token usage."""

    def __init__(
        self,
        api_key: str | None,
        base_url: str | None,
        model: str,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_retries: int = MAX_RETRIES,
    ) -> None:
        self.model = model
        self.base_url = base_url
        # A local server (Ollama, vLLM) often needs no key, but the client insists on one.
        self._client = openai.OpenAI(
            api_key=api_key or "not-needed",
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMClient:
        """The configured client; raises LLMNotConfigured naming what to set."""
        if not settings.llm_configured:
            raise LLMNotConfigured()
        return cls(
            api_key=settings.openai_api_key,
            base_url=settings.openai_base_url,
            model=settings.openai_model,
        )

    def chat(self, messages: Sequence[Message], *, response_format_json: bool = True) -> LLMReply:
        """Send `messages`; returns the reply text and token usage, or raises an LLMError."""
        kwargs: dict[str, Any] = {}
        if response_format_json:
            kwargs["response_format"] = {"type": "json_object"}
        try:
            completion = self._client.chat.completions.create(
                model=self.model,
                messages=[dict(m) for m in messages],  # type: ignore[misc]
                temperature=0,
                **kwargs,
            )
        except openai.APITimeoutError as e:
            raise LLMTimeout("The LLM server did not answer in time.") from e
        except openai.APIConnectionError as e:
            raise LLMConnectionError(f"The LLM server could not be reached ({e.message}).") from e
        except openai.AuthenticationError as e:
            raise LLMAuthError("The LLM server rejected the API key (OPENAI_API_KEY).", 401) from e
        except openai.PermissionDeniedError as e:
            raise LLMAuthError("The LLM server denied access for this API key.", 403) from e
        except openai.RateLimitError as e:
            raise LLMRateLimited("The LLM server is rate limiting; try again shortly.", 429) from e
        except openai.InternalServerError as e:
            raise LLMServerError(
                f"The LLM server failed ({e.status_code}); try again shortly.", e.status_code
            ) from e
        except openai.APIStatusError as e:
            raise LLMStatusError(
                f"The LLM server refused the request ({e.status_code}): {_short(e.message)}",
                e.status_code,
            ) from e
        except openai.OpenAIError as e:
            raise LLMError(f"The LLM call failed: {_short(str(e))}") from e
        if not completion.choices:
            raise LLMBadReply("The LLM server answered without any choice.")
        text = completion.choices[0].message.content or ""
        usage = completion.usage
        return LLMReply(
            text=text,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
