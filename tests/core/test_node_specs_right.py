"""Specs right for their exact version and operation, and a shortlist that generalizes
(issue 19, item 1): operations chosen by the main verb with n8n's implicit defaults counted,
every operation listed, send-and-wait offered, actions that wait on a webhook not taken for
triggers, lowercase app names, full fixedCollections, credentials of that version only, filter
and resource-mapper shapes, hidden types never offered, agent tools offered, n8n's builder
hints, and examples of the same version class and operation."""

from __future__ import annotations

import json

import pytest

from core.catalog import default_catalog
from core.generation.node_hints import named_apps
from core.generation.node_lookup.examples import _scrub
from core.generation.node_lookup.shapes import hint_text
from core.generation.retrieval import first_message, retrieve
from core.generation.specs import Operation, mined_configuration, node_spec, node_spec_for
from core.generation.templates import TemplateLibrary

B, L = "n8n-nodes-base.", "@n8n/n8n-nodes-langchain."


@pytest.fixture(scope="module")
def library(template_library: TemplateLibrary) -> TemplateLibrary:
    return template_library


def _spec(node_type: str, request: str, library: TemplateLibrary | None = None) -> dict:
    return node_spec(default_catalog().nodes[node_type], request=request, library=library)


def test_the_main_verb_and_n8ns_implicit_defaults_choose_the_operation(
    library: TemplateLibrary,
) -> None:
    """ "send" and "create" were stopwords, and templates that leave Slack's defaults implicit
    did not count as posting: Slack was spec'd as "get all channels"."""
    slack = _spec(B + "slack", "send a slack message to the team", library)
    assert (slack["resource"], slack["operation"]) == ("message", "post")
    jira = _spec(B + "jira", "create a jira ticket in project ENG", library)
    assert (jira["resource"], jira["operation"]) == ("issue", "create")


def test_an_approval_is_offered_send_and_wait(library: TemplateLibrary) -> None:
    spec = _spec(B + "slack", "ask me in slack to approve it before posting", library)
    assert spec["operation"] == "sendAndWait"
    gmail = _spec(B + "gmail", "manager approval by email with approve buttons", library)
    assert gmail["operation"] == "sendAndWait"


def test_a_destructive_operation_is_never_guessed(library: TemplateLibrary) -> None:
    for node_type, request in ((B + "slack", "leave a note for the team"), (B + "airtable", "x")):
        spec = _spec(node_type, request, library)
        assert not str(spec.get("operation", "")).startswith(("delete", "leave", "remove"))


def test_actions_that_wait_on_a_webhook_are_not_triggers() -> None:
    """Slack, Gmail, Wait and Send Email have a webhook for send-and-wait: they never start a
    run, so a request naming them still gets a real trigger."""
    catalog = default_catalog()
    for t in ("slack", "gmail", "wait", "emailSend", "telegram"):
        assert not catalog.nodes[B + t].is_trigger, t
        assert "trigger" not in _spec(B + t, "post it")
    found = retrieve(text="post the weather to slack and gmail", catalog=catalog, templates=None)
    assert found.node_types[0] == B + "scheduleTrigger"


def test_lowercase_names_and_abbreviations_are_apps() -> None:
    catalog = default_catalog()
    apps = named_apps("openai summary into clickup, youtube stats to gsheets, gh PRs", catalog)
    assert apps == [L + "openAi", B + "clickUp", B + "youTube", B + "googleSheets", B + "github"]


def test_fixed_collections_show_every_field() -> None:
    interval = _spec(B + "scheduleTrigger", "every day at 8:30")["parameters"]["rule"]["value"][
        "interval"
    ][0]
    assert {"triggerAtHour", "triggerAtMinute", "expression"} <= set(interval)


def test_credentials_are_those_of_the_version_and_its_settings() -> None:
    agent = _spec(L + "agent", "an agent")
    assert not {"mySql", "postgres"} & set(agent.get("credentials", []))
    airtable = _spec(B + "airtable", "create a record")
    assert airtable["credentials"] == ["airtableTokenApi"]
    assert "airtableApi" not in airtable["credentials"]


def test_filters_carry_operators_and_the_versions_options_version() -> None:
    conditions = _spec(B + "if", "if the total is over 500")["parameters"]["conditions"]
    assert conditions["value"]["options"]["version"] == 3  # IF 2.3
    assert "singleValue" in conditions["notes"] and "gte" in conditions["notes"]
    full = node_spec_for(default_catalog().nodes[B + "if"])["parameters"]["conditions"]
    assert "singleValue" in json.dumps(full["value"])  # get_node_spec shows a unary one too
    switch = _spec(B + "switch", "route by type")
    rules = switch["parameters"]["rules"]["value"]["values"][0]["conditions"]["value"]
    assert rules["options"]["version"] == 3  # Switch 3.4
    assert any('fallbackOutput: "extra"' in h for h in switch["hints"])


def test_a_resource_mapper_shows_matching_columns_and_schema(library: TemplateLibrary) -> None:
    sheets = _spec(B + "googleSheets", "update the row if the email already exists", library)
    assert sheets["operation"] == "appendOrUpdate"
    columns = sheets["parameters"]["columns"]["value"]
    assert columns["matchingColumns"] and columns["schema"][0]["canBeUsedToMatch"] is True


def test_hidden_types_are_never_offered_and_agents_get_tool_variants(
    library: TemplateLibrary,
) -> None:
    fm = first_message(
        text="ai agent that can read my gmail and call our api as a tool, in chat",
        catalog=default_catalog(),
        templates=library,
    )
    catalog = default_catalog()
    for t in fm.node_types:
        spec = catalog.nodes[t]
        assert not spec.hidden or t.endswith("Tool"), t
    assert L + "toolHttpRequest" not in fm.node_types
    assert B + "gmailTool" in fm.node_types and B + "httpRequestTool" in fm.node_types
    assert "$fromAI(" in json.dumps(fm.specs)


def test_n8ns_builder_hints_reach_the_spec_in_our_terms() -> None:
    code = _spec(B + "code", "custom code")
    assert "network" in json.dumps(code).lower()
    assert hint_text("Use `operation: 'get'` with `returnAll: true`.") == (
        'Use `"operation": "get"` with `"returnAll": true`.'
    )
    assert hint_text("Wire outputs with `.onCase(index, target)`.") is None


def test_examples_match_the_version_class_and_operation(library: TemplateLibrary) -> None:
    catalog = default_catalog()
    spec = catalog.nodes[L + "openAi"]
    cls = spec.version_class(spec.latest_version)
    example = mined_configuration(library, L + "openAi", Operation("text", "response"), cls=cls)
    assert example is None or "messages" not in example  # v1's parameter, not 2.x's
    invite = _spec(B + "slack", "invite the user to the channel", library)
    assert invite["operation"] == "invite"
    assert "text" not in invite.get("example_parameters", {})


def test_scrubbing_keeps_option_values_and_field_names() -> None:
    clean = _scrub(
        {
            "authentication": "predefinedCredentialType",
            "headerName": "X-Customer-Reference-Id",
            "channelId": {"__rl": True, "mode": "id", "value": "C0123456789ABCDEFGHIJK"},
            "apiKey": "sk-live-1234567890abcdefghij",
        }
    )
    assert clean["authentication"] == "predefinedCredentialType"
    assert clean["headerName"] == "X-Customer-Reference-Id"
    assert clean["channelId"]["value"] == "<id>" and clean["apiKey"] == "<secret>"


def test_an_agent_gets_its_chat_model_and_memory_specd_and_openai_means_the_model() -> None:
    found = retrieve(
        text="when someone mentions @helper in slack, an ai agent with an openai model and "
        "memory answers using our notion docs and our api, and replies in the thread",
        catalog=default_catalog(),
        templates=None,
    )
    assert found.node_types[:4] == (
        "clixen.slackTrigger",  # n8n's Slack Trigger never fires with Clixen's app (issue 25)
        L + "agent",
        L + "memoryBufferWindow",
        L + "lmChatOpenAi",
    )
    assert L + "openAi" not in found.offered_types


def test_everything_else_is_no_schedule() -> None:
    found = retrieve(
        text="webhook gets events; route by type, everything else emails me",
        catalog=default_catalog(),
        templates=None,
    )
    assert B + "scheduleTrigger" not in found.node_types and B + "webhook" in found.node_types


def test_what_templates_nearly_always_do_outweighs_a_weak_word_match(
    library: TemplateLibrary,
) -> None:
    """ "new stuff" is not "create a channel", "#news" asks for no channel operation: without a
    verb naming one, Slack posts a message (what nearly every template does); "export … to a
    sheet" appends."""
    slack = _spec(B + "slack", "every 30 minutes the new headlines go to #news", library)
    assert (slack["resource"], slack["operation"]) == ("message", "post")
    sheets = _spec(B + "googleSheets", "export all the deals to a google sheet", library)
    assert sheets["operation"] in ("append", "appendOrUpdate")
