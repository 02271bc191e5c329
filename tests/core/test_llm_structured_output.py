"""Structured output (issue 11, item 5): the reply schema where the server supports it, else a
JSON object — learned from the first refusal and remembered, so it costs one extra call once."""

from __future__ import annotations

from core.generation.llm import REPLY_SCHEMA, LLMClient
from tests.doubles.llm_server import ScriptedLLM


def test_the_reply_schema_is_asked_for_where_supported(llm: ScriptedLLM) -> None:
    llm.script('{"question": "Which channel?"}')
    client = LLMClient(api_key="k", base_url=llm.url, model="m", max_retries=0)
    assert client.chat([{"role": "user", "content": "hi"}]).text == '{"question": "Which channel?"}'
    fmt = llm.requests[0].body["response_format"]
    assert fmt == {"type": "json_schema", "json_schema": REPLY_SCHEMA}
    assert client.json_schema_supported is True


def test_a_server_without_structured_outputs_gets_json_object_from_then_on(
    llm: ScriptedLLM,
) -> None:
    llm.json_schema_supported = False
    llm.script('{"question": "Which feed?"}', '{"question": "Which channel?"}')
    client = LLMClient(api_key="k", base_url=llm.url, model="m", max_retries=0)
    assert client.chat([{"role": "user", "content": "a"}]).text == '{"question": "Which feed?"}'
    assert client.chat([{"role": "user", "content": "b"}]).text == '{"question": "Which channel?"}'
    formats = [r.body["response_format"]["type"] for r in llm.requests]
    # Refused once, then json_object, and the second call goes straight to json_object.
    assert formats == ["json_schema", "json_object", "json_object"]
    assert client.json_schema_supported is False


def test_a_model_that_refuses_max_tokens_gets_max_completion_tokens_from_then_on(
    llm: ScriptedLLM,
) -> None:
    """OpenAI's reasoning models answer 400 "Unsupported parameter: 'max_tokens'" (issue 19)."""
    llm.max_tokens_supported = False
    llm.script('{"question": "Which feed?"}', '{"question": "Which channel?"}')
    client = LLMClient(api_key="k", base_url=llm.url, model="m", max_retries=0)
    assert client.chat([{"role": "user", "content": "a"}], max_tokens=50).text.endswith('feed?"}')
    assert client.chat([{"role": "user", "content": "b"}], max_tokens=60).text.endswith('nel?"}')
    sent = [(r.body.get("max_tokens"), r.body.get("max_completion_tokens")) for r in llm.requests]
    assert sent == [(50, None), (None, 50), (None, 60)]
    assert client.answer_limit_name == "max_completion_tokens"
