"""The LLM client against the scripted OpenAI-compatible server (real HTTP, real openai client)."""

from __future__ import annotations

import pytest

from core.generation.llm import LLMAuthError, LLMClient, LLMConnectionError, LLMServerError
from core.kernel.errors import LLMNotConfigured
from core.kernel.settings import Settings
from tests.doubles.llm_server import ScriptedLLM


def test_chat_returns_text_and_usage(llm: ScriptedLLM) -> None:
    llm.script({"question": "Which channel?"})
    client = LLMClient(api_key="test", base_url=llm.url, model="scripted")
    reply = client.chat([{"role": "user", "content": "post news"}])
    assert reply.text == '{"question": "Which channel?"}'
    assert reply.prompt_tokens > 0 and reply.completion_tokens > 0
    body = llm.requests[0].body
    assert body["model"] == "scripted"
    assert body["response_format"]["type"] == "json_schema"  # structured output where supported
    headers = {k.lower(): v for k, v in llm.requests[0].headers.items()}
    assert headers["authorization"] == "Bearer test"


def test_server_errors_are_retried_then_mapped(llm: ScriptedLLM) -> None:
    llm.script({"__status__": 500, "body": {"error": {"message": "boom"}}}, {"ok": 1})
    client = LLMClient(api_key="test", base_url=llm.url, model="scripted", max_retries=1)
    assert client.chat([{"role": "user", "content": "x"}]).text == '{"ok": 1}'
    assert len(llm.requests) == 2

    llm.script(*[{"__status__": 503, "body": {"error": {"message": "down"}}}] * 2)
    with pytest.raises(LLMServerError) as e:
        client.chat([{"role": "user", "content": "x"}])
    assert e.value.status == 503


def test_auth_errors_are_not_retried(llm: ScriptedLLM) -> None:
    llm.script({"__status__": 401, "body": {"error": {"message": "bad key"}}})
    client = LLMClient(api_key="wrong", base_url=llm.url, model="scripted", max_retries=2)
    with pytest.raises(LLMAuthError) as e:
        client.chat([{"role": "user", "content": "x"}])
    assert "OPENAI_API_KEY" in str(e.value)
    assert "wrong" not in str(e.value)
    assert len(llm.requests) == 1


def test_unreachable_server_is_a_connection_error() -> None:
    client = LLMClient(
        api_key="test", base_url="http://127.0.0.1:9/v1", model="m", timeout=2, max_retries=0
    )
    with pytest.raises(LLMConnectionError):
        client.chat([{"role": "user", "content": "x"}])


def test_from_settings_requires_key_or_url() -> None:
    with pytest.raises(LLMNotConfigured) as e:
        LLMClient.from_settings(Settings(OPENAI_API_KEY=None, OPENAI_BASE_URL=None))
    assert "OPENAI_API_KEY" in str(e.value)
    client = LLMClient.from_settings(
        Settings(OPENAI_BASE_URL="http://127.0.0.1:11434/v1", OPENAI_MODEL="llama")
    )
    assert client.model == "llama"
