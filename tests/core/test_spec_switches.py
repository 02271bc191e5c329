"""Specs name what real workflows switch on (issue 29): the parameters a switch shows at its
other values (`when`), credential types per authentication value (`credentials_when`), a spec
rendered at given switch values, tool variants' description parameters, complete collections,
hints never cut mid-sentence nor naming a denied node, examples whose filter version is the
spec's, and the core toolbox in every first message."""

from __future__ import annotations

import json

import pytest

from core.catalog import default_catalog
from core.generation.node_lookup import shapes
from core.generation.node_lookup.toolbox import TOOLBOX, toolbox_lines
from core.generation.node_lookup.tools import NodeLookup
from core.generation.prompts import PromptContext, generation_messages
from core.generation.specs import node_spec_for

B = "n8n-nodes-base."


def spec(node_type: str, **kw: object) -> dict[str, object]:
    catalog = default_catalog()
    return node_spec_for(catalog.nodes[node_type], **kw)  # type: ignore[arg-type]


def when_names(doc: dict[str, object]) -> dict[str, set[str]]:
    when = doc.get("when") or {}
    assert isinstance(when, dict)
    return {cond: set(params) for cond, params in when.items()}


def test_http_request_names_body_headers_query_and_generic_auth() -> None:
    when = when_names(spec(B + "httpRequest"))
    assert {"contentType", "specifyBody", "bodyParameters"} <= when["sendBody=true"]
    assert "jsonBody" in when["sendBody=true, specifyBody=json"]
    assert "headerParameters" in when["sendHeaders=true"]
    assert "queryParameters" in when["sendQuery=true"]
    assert "genericAuthType" in when["authentication=genericCredentialType"]
    assert "nodeCredentialType" in when["authentication=predefinedCredentialType"]
    generic = spec(B + "httpRequest")["when"]["authentication=genericCredentialType"]  # type: ignore[index]
    assert {"httpHeaderAuth", "httpBearerAuth", "oAuth2Api"} <= set(
        generic["genericAuthType"]["options"]
    )


def test_a_spec_too_long_to_read_whole_lists_when_by_names() -> None:
    lookup = NodeLookup(default_catalog())
    answer = lookup.answer("get_node_spec", json.dumps({"type": B + "uproc"}))
    assert not answer.endswith("…(cut)")
    assert all(isinstance(v, list) for v in json.loads(answer)["when"].values())


def test_switched_parameters_of_set_respond_and_merge() -> None:
    assert "jsonOutput" in when_names(spec(B + "set"))["mode=raw"]
    assert "responseBody" in when_names(spec(B + "respondToWebhook"))["respondWith=json"]
    assert "combineBy" in when_names(spec(B + "merge"))["mode=combine"]


def test_credentials_per_authentication_value() -> None:
    slack = spec(B + "slack", resource="message", operation="post")
    assert slack["credentials"] == ["slackApi"]
    assert slack["credentials_when"] == {"authentication=oAuth2": ["slackOAuth2Api"]}
    gmail = spec(B + "gmail", resource="message", operation="send")
    assert "googleApi" in json.dumps(gmail["credentials_when"])


def test_a_spec_rendered_at_switch_values() -> None:
    doc = spec(B + "httpRequest", switches={"sendBody": "true", "specifyBody": "json"})
    params = doc["parameters"]
    assert isinstance(params, dict)
    assert params["sendBody"]["set"] is True and "jsonBody" in params
    slack = spec(
        B + "slack", resource="message", operation="post", switches={"authentication": "oAuth2"}
    )
    assert slack["credentials"] == ["slackOAuth2Api"]
    with pytest.raises(ValueError, match="sendBody"):
        spec(B + "httpRequest", switches={"sendBod": "true"})
    with pytest.raises(ValueError, match="takes"):
        spec(B + "httpRequest", switches={"sendBody": "maybe"})


def test_get_node_spec_takes_switches_and_refuses_nested_ones() -> None:
    lookup = NodeLookup(default_catalog())
    answer = json.loads(
        lookup.answer(
            "get_node_spec",
            json.dumps({"type": B + "httpRequest", "switches": {"sendHeaders": True}}),
        )
    )
    assert "headerParameters" in answer["parameters"]
    bad = lookup.answer(
        "get_node_spec", json.dumps({"type": B + "httpRequest", "switches": {"a": {"b": 1}}})
    )
    assert "switches is an object" in json.loads(bad)["error"]


def test_tool_variants_carry_their_description_parameters() -> None:
    gmail_tool = spec(B + "gmailTool", resource="message", operation="send")
    assert "descriptionType" in gmail_tool["parameters"]  # type: ignore[operator]
    assert "toolDescription" in when_names(gmail_tool)["descriptionType=manual"]
    # A tool without operations takes its description directly.
    assert "toolDescription" in spec(B + "httpRequestTool")["parameters"]  # type: ignore[operator]


def test_collections_are_complete_in_a_full_spec() -> None:
    options = spec(B + "httpRequest")["parameters"]["options"]  # type: ignore[index]
    assert not any(str(f).startswith("…") for f in options["fields"])
    assert "webdavMethods" in options["fields"] or len(options["fields"]) > 10


def test_hints_end_at_a_sentence_and_never_name_a_denied_node() -> None:
    assert shapes.hint_text("One short sentence. " + "Long words " * 40 + "end.", 60) == (
        "One short sentence."
    )
    assert shapes.hint_text("Use Sheets for sharing. Use Data Table for storage.") == (
        "Use Sheets for sharing."
    )
    for node_type in (B + "googleSheets", B + "httpRequest", B + "slack"):
        text = json.dumps(spec(node_type))
        assert "Data Table" not in text and "dataTable" not in text
        for hint in spec(node_type).get("hints", []):  # type: ignore[attr-defined]
            assert hint.rstrip().endswith((".", "!", "?", ")", '"')), hint


def test_the_first_message_carries_the_core_toolbox() -> None:
    catalog = default_catalog()
    lines = toolbox_lines(catalog)
    assert len(lines) == len(TOOLBOX)
    http = next(line for line in lines if line.startswith(B + "httpRequest "))
    assert "sendBody=true → contentType" in http
    ctx = PromptContext(toolbox=lines)
    text = generation_messages(request="x", ctx=ctx)[1]["content"]
    assert "Core nodes" in text and B + "code v2" in text
    # A type with a spec is not repeated there.
    assert not any(
        line.startswith(B + "code ") for line in toolbox_lines(catalog, exclude={B + "code"})
    )


def test_an_examples_filter_version_is_the_specs() -> None:
    from core.generation.node_lookup.describe import _filter_versions
    from core.generation.node_lookup.params import default_params

    stated = spec(B + "if")["parameters"]["conditions"]["value"]["options"]["version"]  # type: ignore[index]
    old = {"conditions": {"options": {"version": 1}, "conditions": [], "combinator": "and"}}
    fixed = _filter_versions(old, default_params()[B + "if"])
    assert fixed["conditions"]["options"]["version"] == stated
    nested = {"rules": {"values": [{"conditions": {"options": {"version": 1}, "conditions": []}}]}}
    fixed = _filter_versions(nested, default_params()[B + "switch"])
    assert fixed["rules"]["values"][0]["conditions"]["options"]["version"] == stated


def test_a_first_message_spec_lists_switched_parameters_by_name() -> None:
    from core.generation.specs import node_spec

    catalog = default_catalog()
    brief = node_spec(catalog.nodes[B + "httpRequest"], request="post json to an api")
    assert "jsonBody" in brief["when"]["sendBody=true, specifyBody=json"]
    assert "when_note" not in brief  # the first message's header says what `when` is
    assert "get_node_spec" not in json.dumps(brief)
