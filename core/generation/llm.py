"""The OpenAI-compatible chat client the generator talks to (OpenAI, Azure, vLLM, Ollama…).

One client per process, built from settings; errors are mapped once into the `LLMError` hierarchy.
Every call sends `max_tokens`, so one answer can never cost more than the caller reserved for it
(`core.workspace.quotas.reserve_tokens`, with `estimate_tokens` for the prompt); a server that
reports no usage is charged our estimate, never nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import openai

from core.kernel.errors import ClixenError, LLMNotConfigured
from core.kernel.metrics import LLM_CALLS, LLM_ERRORS, LLM_SECONDS, LLM_TOKENS
from core.kernel.settings import Settings

# The openai client retries 408/409/429/5xx and connection errors itself with capped backoff.
MAX_RETRIES = 2
DEFAULT_TIMEOUT_S = 120.0
# Tokens of one answer unless the caller asks for fewer (settings: CLIXEN_LLM_MAX_TOKENS).
DEFAULT_MAX_TOKENS = 8_000
# Our token estimate counts this many characters a token: below the ~4 of English prose, because
# workflow JSON, URLs and code cut into more tokens per character (a safe side for a quota).
CHARS_PER_TOKEN = 3
# What a chat format adds around each message, and around the whole conversation.
TOKENS_PER_MESSAGE = 4
TOKENS_PER_REPLY = 3


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
    """The answer's text and what it cost; `estimated` when the server reported no usage and
    the tokens are our estimate (never 0)."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


Message = dict[str, str]

# The reply shape core.generation.prompts.SYSTEM_RULES asks for, as a structured-output JSON
# schema. Not `strict`: node parameters are free-form objects, which strict mode cannot express;
# the reply is still read by the strict parser (core.generation.replies.parse_reply).
_NODE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "type": {"type": "string"},
        "typeVersion": {"type": "number"},
        "position": {"type": "array", "items": {"type": "number"}},
        "parameters": {"type": "object"},
        "credentials": {"type": "object"},
    },
    "required": ["id", "name", "type", "typeVersion", "position", "parameters"],
}
REPLY_SCHEMA: dict[str, Any] = {
    "name": "workflow_or_question",
    "strict": False,
    "schema": {
        "type": "object",
        "properties": {
            "workflow": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "nodes": {"type": "array", "items": _NODE_SCHEMA},
                    "connections": {"type": "object"},
                    "settings": {"type": "object"},
                },
                "required": ["name", "nodes", "connections"],
            },
            "summary": {"type": "string"},
            "question": {"type": "string"},
        },
    },
}


def estimate_text_tokens(text: str) -> int:
    """Our estimate of the tokens of `text` (rounded up; at least 1 for any text)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def estimate_tokens(messages: Sequence[Message]) -> int:
    """Our estimate of the prompt tokens of `messages`: what to reserve before a call, and
    what a server that reports no usage is charged for the prompt."""
    return TOKENS_PER_REPLY + sum(
        TOKENS_PER_MESSAGE + estimate_text_tokens(str(m.get("content") or "")) for m in messages
    )


class LLMClient:
    """A chat-completions client; `chat()` returns the reply text and its token usage."""

    def __init__(
        self,
        api_key: str | None,
        base_url: str | None,
        model: str,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_retries: int = MAX_RETRIES,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> None:
        self.model = model
        self.base_url = base_url
        self.timeout_s = timeout
        self.max_retries = max_retries
        # The most tokens one answer may use: sent on every call.
        self.max_tokens = max_tokens
        # Whether the server takes a json_schema response format: None until the first call
        # tells; False (remembered) when it refused one, and json_object is asked instead.
        self.json_schema_supported: bool | None = None
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
            max_tokens=settings.llm_max_tokens,
            timeout=settings.llm_timeout_s,
        )

    def chat(
        self,
        messages: Sequence[Message],
        *,
        response_format_json: bool = True,
        max_tokens: int | None = None,
    ) -> LLMReply:
        """Send `messages` with `max_tokens` (default: the client's); returns the reply text and
        its token usage (our estimate when the server reports none), or raises an LLMError.

        `response_format_json` asks for the reply schema (`REPLY_SCHEMA`) where the server
        supports structured outputs, else for any JSON object: a server that refuses the schema
        (400 naming response_format) is asked again at once and remembered."""
        limit = self.max_tokens if max_tokens is None else max_tokens
        if limit < 1:
            raise ValueError("max_tokens must be at least 1")
        if not response_format_json:
            return self._chat(messages, limit, None)
        if self.json_schema_supported is False:
            return self._chat(messages, limit, {"type": "json_object"})
        try:
            reply = self._chat(
                messages, limit, {"type": "json_schema", "json_schema": REPLY_SCHEMA}
            )
        except LLMStatusError as e:
            if e.status not in (400, 422) or not _about_response_format(str(e)):
                raise
            self.json_schema_supported = False
            return self._chat(messages, limit, {"type": "json_object"})
        self.json_schema_supported = True
        return reply

    def _chat(
        self, messages: Sequence[Message], limit: int, response_format: dict[str, Any] | None
    ) -> LLMReply:
        """One call, counted, timed and its tokens added up by model (`clixen_llm_*`)."""
        LLM_CALLS.labels(self.model).inc()
        try:
            with LLM_SECONDS.labels(self.model).time():
                reply = self._call(messages, limit, response_format)
        except LLMError as e:
            LLM_ERRORS.labels(self.model, _error_label(e)).inc()
            raise
        LLM_TOKENS.labels(self.model, "prompt").inc(reply.prompt_tokens)
        LLM_TOKENS.labels(self.model, "completion").inc(reply.completion_tokens)
        return reply

    def _call(
        self, messages: Sequence[Message], limit: int, response_format: dict[str, Any] | None
    ) -> LLMReply:
        kwargs: dict[str, Any] = {}
        if response_format is not None:
            kwargs["response_format"] = response_format
        try:
            completion = self._client.chat.completions.create(
                model=self.model,
                messages=[dict(m) for m in messages],  # type: ignore[misc]
                temperature=0,
                max_tokens=limit,
                **kwargs,
            )
        except openai.APITimeoutError as e:
            raise LLMTimeout(
                f"The LLM server did not answer in time ({self.timeout_s:.0f} s a try, "
                f"{self.max_retries + 1} tries; CLIXEN_LLM_TIMEOUT_S); check that it is up."
            ) from e
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
        if usage is None or not (usage.prompt_tokens or usage.completion_tokens):
            # Some servers report nothing: the call still cost tokens, charge our estimate.
            return LLMReply(
                text=text,
                prompt_tokens=estimate_tokens(messages),
                completion_tokens=min(limit, max(1, estimate_text_tokens(text))),
                estimated=True,
            )
        return LLMReply(
            text=text,
            prompt_tokens=usage.prompt_tokens or 0,
            completion_tokens=usage.completion_tokens or 0,
        )


_ERROR_LABELS: tuple[tuple[type[LLMError], str], ...] = (
    (LLMTimeout, "timeout"),
    (LLMConnectionError, "connection"),
    (LLMAuthError, "auth"),
    (LLMRateLimited, "rate_limited"),
    (LLMServerError, "server"),
    (LLMStatusError, "status"),
    (LLMBadReply, "bad_reply"),
)


def _error_label(e: LLMError) -> str:
    """The `error` label of a failed call (most specific class first)."""
    return next((label for cls, label in _ERROR_LABELS if isinstance(e, cls)), "other")


def _about_response_format(message: str) -> bool:
    """True when a refusal is about the response format (a server without structured outputs)."""
    text = message.lower()
    return any(w in text for w in ("response_format", "json_schema", "response format"))


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
