"""`clixen spec TYPE [--resource R --operation O] [--json]`: exactly what the model gets for one
node and operation (issue 19, item 5), and `clixen prompt --json`'s specs, candidates, tools."""

from __future__ import annotations

import json

import pytest

from tests.cli.common import run

B = "n8n-nodes-base."


def test_spec_json_for_an_exact_operation(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run(
        capsys,
        "spec",
        "googleSheets",
        "--resource",
        "sheet",
        "--operation",
        "appendOrUpdate",
        "--json",
    )
    assert code == 0
    doc = json.loads(stdout)
    assert doc["type"] == B + "googleSheets" and doc["typeVersion"] == 4.7
    assert (doc["resource"], doc["operation"]) == ("sheet", "appendOrUpdate")
    assert doc["parameters"]["columns"]["value"]["matchingColumns"]
    assert doc["credentials"] == ["googleSheetsOAuth2Api"]
    assert set(doc) >= {"hints", "example", "output_fields", "operations"}
    # Every example key is a parameter of this version and operation (or resource/operation).
    if doc["example"]:
        assert set(doc["example"]) <= {*doc["parameters"], "resource", "operation"}


def test_spec_of_an_operation_a_node_lacks_names_the_ones_it_has(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, stderr = run(capsys, "spec", "slack", "--operation", "publish")
    assert code == 1
    assert "sendAndWait" in stderr and "--operation" in stderr


def test_spec_refuses_a_hidden_type_and_an_unknown_one(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, stderr = run(capsys, "spec", "@n8n/n8n-nodes-langchain.toolHttpRequest")
    assert code == 1 and "hidden" in stderr
    code, _, stderr = run(capsys, "spec", "notARealNodeAtAll")
    assert code == 1 and "clixen catalog search" in stderr


def test_prompt_json_lists_specs_candidates_and_tools(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run(
        capsys, "prompt", "--json", "ai agent in slack that can read my gmail, with memory"
    )
    assert code == 0
    result = json.loads(stdout)
    assert {t["function"]["name"] for t in result["tools"]} == {"search_nodes", "get_node_spec"}
    assert result["specs"] and set(result["specs"]) <= set(result["node_types"])
    listed = {c["type"] for c in result["candidates"]}
    assert listed and listed <= set(result["node_types"]) and not listed & set(result["specs"])
    gmail_tool = next(c for c in result["candidates"] if c["type"] == B + "gmailTool")
    assert ["message", "getAll"] in gmail_tool["operations"]


def test_spec_text_shows_how_to_get_body_headers_query_and_generic_auth(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 29: the HTTP Request spec says which switch shows each parameter."""
    code, stdout, _ = run(capsys, "spec", B + "httpRequest")
    assert code == 0
    for line in (
        "when sendBody=true:",
        "when sendBody=true, specifyBody=json:",
        "when sendHeaders=true:",
        "when sendQuery=true:",
        "when authentication=genericCredentialType:",
    ):
        assert line in stdout
    assert "jsonBody:" in stdout and "headerParameters:" in stdout and "genericAuthType:" in stdout
    assert "--set NAME=VALUE" in stdout


def test_spec_lists_slacks_oauth2_credential_type(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run(capsys, "spec", B + "slack")
    assert code == 0
    assert "Credential types: slackApi" in stdout
    assert "when authentication=oAuth2: slackOAuth2Api" in stdout


def test_spec_set_renders_a_switch_setting(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run(
        capsys,
        "spec",
        "httpRequest",
        "--set",
        "sendBody=true",
        "--set",
        "specifyBody=json",
        "--json",
    )
    assert code == 0
    params = json.loads(stdout)["parameters"]
    assert params["sendBody"]["set"] is True and "jsonBody" in params
    code, _, stderr = run(capsys, "spec", "httpRequest", "--set", "sendBody")
    assert code == 1 and "SWITCH=VALUE" in stderr
    code, _, stderr = run(capsys, "spec", "httpRequest", "--set", "nope=1")
    assert code == 1 and "sendBody" in stderr


def test_spec_of_clixens_slack_trigger_and_n8ns_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, stdout, _ = run(capsys, "spec", "clixen.slackTrigger", "--json")
    assert code == 0
    spec = json.loads(stdout)
    assert spec["parameters"]["events"]["options"] == [
        "message",
        "reaction_added",
        "member_joined_channel",
        "manual",
    ]
    assert {"text", "permalink", "inputs", "message"} <= set(spec["output_fields"])
    code, _, stderr = run(capsys, "spec", "n8n-nodes-base.slackTrigger")
    assert code == 1 and "one request URL" in stderr and "clixen.slackTrigger" in stderr
