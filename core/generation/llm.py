"""The OpenAI-compatible chat client the generator talks to (OpenAI, Azure, vLLM, Ollama…).

One client per process, built from settings; errors are mapped once into the `LLMError` hierarchy.
Every call sends `max_tokens` (`max_completion_tokens` to a model that refuses it, remembered),
so one answer can never cost more than the caller reserved for it
(`core.workspace.quotas.reserve_tokens`, with `estimate_tokens` for the prompt); a server that
reports no usage is charged our estimate, never nothing. Tool calls (`tools=`) are offered where
the server takes them; one that refuses them is asked again without and remembered, like one that
refuses structured outputs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.kernel.errors import ClixenError, LLMNotConfigured
from core.kernel.metrics import LLM_CALLS, LLM_ERRORS, LLM_SECONDS, LLM_TOKENS
from core.kernel.transactions import outside_transaction

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletion

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
class ToolCall:
    """One tool call the model asked for: its id, the tool's name and its JSON arguments (text,
    untrusted)."""

    id: str
    name: str
    arguments: str

    def as_message_part(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass(frozen=True)
class LLMReply:
    """The answer's text and what it cost; `estimated` when the server reported no usage and
    the tokens are our estimate (never 0). `tool_calls` when the model asked for tools."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False
    tool_calls: tuple[ToolCall, ...] = ()

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


Message = dict[str, str]
# A message of a tool conversation: an assistant turn may carry `tool_calls` (and no content),
# a `tool` turn answers one call by its `tool_call_id`.
ChatMessage = Mapping[str, Any]

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


def estimate_tokens(messages: Sequence[ChatMessage]) -> int:
    """Our estimate of the prompt tokens of `messages` (tool calls included): what to reserve
    before a call, and what a server that reports no usage is charged for the prompt."""
    return TOKENS_PER_REPLY + sum(
        TOKENS_PER_MESSAGE
        + estimate_text_tokens(str(m.get("content") or ""))
        + (estimate_text_tokens(json.dumps(m["tool_calls"])) if m.get("tool_calls") else 0)
        for m in messages
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
        # Whether the server takes `tools` (None until a call with tools tells; False when it
        # refused them: generation then makes today's single call).
        self.tools_supported: bool | None = None
        # The name of the answer-length parameter: OpenAI's reasoning models refuse
        # `max_tokens` (400 "Unsupported parameter") and take `max_completion_tokens`.
        self.answer_limit_name = "max_tokens"

        # Imported here, not at the top: the SDK costs ~0.4 s to import, and `clixen prompt` and
        # retrieval use this module's message types and token estimate without a client.
        import openai

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
        messages: Sequence[ChatMessage],
        *,
        response_format_json: bool = True,
        max_tokens: int | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
        tool_choice: str | None = None,
    ) -> LLMReply:
        """Send `messages` with `max_tokens` (default: the client's); returns the reply text and
        its token usage (our estimate when the server reports none), or raises an LLMError.

        `response_format_json` asks for the reply schema (`REPLY_SCHEMA`) where the server
        supports structured outputs, else for any JSON object: a server that refuses the schema
        (400 naming response_format) is asked again at once and remembered. `tools` offers
        tool calls (`tool_choice` "none" forbids them this turn); a server that refuses tools
        (400 naming them) is asked again without them and remembered (`tools_supported`), so
        the caller sees a plain answer."""
        limit = self.max_tokens if max_tokens is None else max_tokens
        if limit < 1:
            raise ValueError("max_tokens must be at least 1")
        extra: dict[str, Any] = {}
        if tools and self.tools_supported is not False:
            extra["tools"] = [dict(t) for t in tools]
            if tool_choice is not None:
                extra["tool_choice"] = tool_choice
        try:
            reply = self._formatted(messages, limit, response_format_json, extra)
        except LLMStatusError as e:
            if "tools" not in extra or e.status not in (400, 422) or not _about_tools(str(e)):
                raise
            self.tools_supported = False
            return self._formatted(messages, limit, response_format_json, {})
        if "tools" in extra:
            self.tools_supported = True
        return reply

    def _formatted(
        self,
        messages: Sequence[ChatMessage],
        limit: int,
        json_reply: bool,
        extra: dict[str, Any],
    ) -> LLMReply:
        if not json_reply:
            return self._chat(messages, limit, None, extra)
        if self.json_schema_supported is False:
            return self._chat(messages, limit, {"type": "json_object"}, extra)
        try:
            reply = self._chat(
                messages, limit, {"type": "json_schema", "json_schema": REPLY_SCHEMA}, extra
            )
        except LLMStatusError as e:
            if e.status not in (400, 422) or not _about_response_format(str(e)):
                raise
            self.json_schema_supported = False
            return self._chat(messages, limit, {"type": "json_object"}, extra)
        self.json_schema_supported = True
        return reply

    def _chat(
        self,
        messages: Sequence[ChatMessage],
        limit: int,
        response_format: dict[str, Any] | None,
        extra: dict[str, Any],
    ) -> LLMReply:
        """One call, counted, timed and its tokens added up by model (`clixen_llm_*`)."""
        LLM_CALLS.labels(self.model).inc()
        try:
            with LLM_SECONDS.labels(self.model).time():
                reply = self._limited(messages, limit, response_format, extra)
        except LLMError as e:
            LLM_ERRORS.labels(self.model, _error_label(e)).inc()
            raise
        LLM_TOKENS.labels(self.model, "prompt").inc(reply.prompt_tokens)
        LLM_TOKENS.labels(self.model, "completion").inc(reply.completion_tokens)
        return reply

    def _limited(
        self,
        messages: Sequence[ChatMessage],
        limit: int,
        response_format: dict[str, Any] | None,
        extra: dict[str, Any],
    ) -> LLMReply:
        """The call with the answer limit this model takes (`max_completion_tokens` for one
        that refuses `max_tokens`, found once and remembered)."""
        try:
            return self._send(messages, limit, response_format, extra)
        except LLMStatusError as e:
            if (
                e.status != 400
                or self.answer_limit_name != "max_tokens"
                or not _refuses_max_tokens(str(e))
            ):
                raise
            self.answer_limit_name = "max_completion_tokens"
            return self._send(messages, limit, response_format, extra)

    def _send(
        self,
        messages: Sequence[ChatMessage],
        limit: int,
        response_format: dict[str, Any] | None,
        extra: dict[str, Any],
    ) -> LLMReply:
        # The SDK loads on the first call, not at import (~0.4 s; see `__init__`).
        import openai

        outside_transaction("LLM", "chat.completions")
        kwargs: dict[str, Any] = {self.answer_limit_name: limit, **extra}
        if response_format is not None:
            kwargs["response_format"] = response_format
        try:
            completion = self._client.chat.completions.create(
                model=self.model,
                messages=[dict(m) for m in messages],  # type: ignore[misc]
                temperature=0,
                **kwargs,
            )
        except openai.OpenAIError as e:
            raise self._llm_error(e) from e
        return _reply_of(completion, messages, limit)

    def _llm_error(self, e: Exception) -> LLMError:
        """The error of ours, with what to do, for an error of the OpenAI SDK."""
        import openai  # loaded already by the call that failed (see `_send`)

        if isinstance(e, openai.APITimeoutError):
            return LLMTimeout(
                f"The LLM server did not answer in time ({self.timeout_s:.0f} s a try, "
                f"{self.max_retries + 1} tries; CLIXEN_LLM_TIMEOUT_S); check that it is up."
            )
        if isinstance(e, openai.APIConnectionError):
            return LLMConnectionError(f"The LLM server could not be reached ({e.message}).")
        if isinstance(e, openai.AuthenticationError):
            return LLMAuthError("The LLM server rejected the API key (OPENAI_API_KEY).", 401)
        if isinstance(e, openai.PermissionDeniedError):
            return LLMAuthError("The LLM server denied access for this API key.", 403)
        if isinstance(e, openai.RateLimitError):
            return LLMRateLimited("The LLM server is rate limiting; try again shortly.", 429)
        if isinstance(e, openai.InternalServerError):
            return LLMServerError(
                f"The LLM server failed ({e.status_code}); try again shortly.", e.status_code
            )
        if isinstance(e, openai.APIStatusError):
            return LLMStatusError(
                f"The LLM server refused the request ({e.status_code}): {_short(e.message)}",
                e.status_code,
            )
        return LLMError(f"The LLM call failed: {_short(str(e))}")


def _reply_of(completion: ChatCompletion, messages: Sequence[ChatMessage], limit: int) -> LLMReply:
    """The first choice's text and function tool calls, with the tokens the server counted (our
    estimate when it counted none)."""
    if not completion.choices:
        raise LLMBadReply("The LLM server answered without any choice.")
    message = completion.choices[0].message
    text = message.content or ""
    calls = tuple(
        ToolCall(id=c.id, name=c.function.name, arguments=c.function.arguments or "")
        for c in message.tool_calls or ()
        if c.type == "function"
    )
    usage = completion.usage
    if usage is None or not (usage.prompt_tokens or usage.completion_tokens):
        # Some servers report nothing: the call still cost tokens, charge our estimate.
        spent = text + "".join(c.arguments for c in calls)
        return LLMReply(
            text=text,
            prompt_tokens=estimate_tokens(messages),
            completion_tokens=min(limit, max(1, estimate_text_tokens(spent))),
            estimated=True,
            tool_calls=calls,
        )
    return LLMReply(
        text=text,
        prompt_tokens=usage.prompt_tokens or 0,
        completion_tokens=usage.completion_tokens or 0,
        tool_calls=calls,
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


def _about_tools(message: str) -> bool:
    """True when a refusal is about tool calling (a server without it)."""
    text = message.lower()
    return any(w in text for w in ("tools", "tool_choice", "function", "tool call"))


def _refuses_max_tokens(message: str) -> bool:
    """True for OpenAI's answer to `max_tokens` from a model that takes only
    `max_completion_tokens` ("Unsupported parameter: 'max_tokens' …")."""
    text = message.lower()
    return "max_tokens" in text and ("unsupported" in text or "max_completion_tokens" in text)


def _about_response_format(message: str) -> bool:
    """True when a refusal is about the response format (a server without structured outputs)."""
    text = message.lower()
    return any(w in text for w in ("response_format", "json_schema", "response format"))


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
