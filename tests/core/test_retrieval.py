"""What a generation prompt carries for a request: the trigger it names, the apps and building
blocks it needs, AI companions, operation-level specs, and examples that fit (issue 11)."""

from __future__ import annotations

import json

import pytest

from core.catalog import default_catalog
from core.generation.node_hints import named_apps, trigger_types
from core.generation.retrieval import retrieve
from core.generation.specs import Operation, mined_configuration, node_spec
from core.generation.templates import Template, TemplateLibrary
from core.generation.templates import _template as make_template

B, L = "n8n-nodes-base.", "@n8n/n8n-nodes-langchain."


@pytest.fixture(scope="module")
def library(template_library: TemplateLibrary) -> TemplateLibrary:
    return template_library


def _types(text: str, library: TemplateLibrary | None) -> tuple[str, ...]:
    return retrieve(text=text, catalog=default_catalog(), templates=library).node_types


def test_when_x_happens_brings_xs_trigger() -> None:
    catalog = default_catalog()
    assert trigger_types("When a GitHub issue gets the label bug, open a Jira ticket", catalog) == [
        B + "githubTrigger"
    ]
    # n8n's Slack Trigger never fires with Clixen's app: Clixen's own Slack trigger stands in.
    assert trigger_types("Store each new Slack message in a Redis list", catalog) == [
        "clixen.slackTrigger"
    ]
    assert trigger_types("read new emails over IMAP", catalog) == [B + "emailReadImap"]
    # "new items of https://…" names no app and no thing that starts a run.
    assert trigger_types("post new items of https://blog.example.com/feed.xml", catalog) == []


def test_named_apps_take_the_longest_name_and_skip_everyday_words() -> None:
    catalog = default_catalog()
    assert named_apps("add a row to the Google Sheet Leads, then post to Discord", catalog) == [
        B + "googleSheets",
        B + "discord",
    ]
    assert named_apps("put it in a box on the first line", catalog) == []


def test_an_openai_agent_brings_its_chat_model_and_memory(library: TemplateLibrary) -> None:
    types = _types(
        "Build a Slack chatbot that answers with an OpenAI agent that remembers the conversation",
        library,
    )
    for needed in (L + "agent", L + "lmChatOpenAi", L + "memoryBufferWindow", B + "slack"):
        assert needed in types
    claude = _types("Use Claude from Anthropic to draft a reply to every new Zendesk ticket", None)
    assert L + "lmChatAnthropic" in claude and B + "zendeskTrigger" in claude


def test_rss_to_slack_gets_few_relevant_specs_and_examples(library: TemplateLibrary) -> None:
    found = retrieve(
        text="every morning post new items of https://blog.example.com/feed.xml to #news",
        catalog=default_catalog(),
        templates=library,
    )
    assert found.node_types[:4] == (
        B + "scheduleTrigger",
        B + "rssFeedRead",
        B + "slack",
        B + "removeDuplicates",
    )
    assert len(found.node_types) <= 8
    assert not any(t.startswith(L) for t in found.node_types)  # no AI noise
    for example in found.examples:
        assert example.node_types & set(found.node_types)


def test_examples_cover_the_chosen_types_and_avoid_unrelated_ones() -> None:
    def tpl(tid: int, types: list[str]) -> Template:
        nodes = [{"name": f"n{i}", "type": t, "parameters": {"x": 1}} for i, t in enumerate(types)]
        return make_template(tid, f"template {tid}", "", {"nodes": nodes, "connections": {}})

    wanted = [B + "rssFeedRead", B + "slack", B + "scheduleTrigger"]
    lib = TemplateLibrary(
        [
            tpl(1, [B + "rssFeedRead", B + "slack", L + "agent", L + "lmChatOpenAi", B + "gmail"]),
            tpl(2, [B + "rssFeedRead", B + "slack", B + "scheduleTrigger"]),
            tpl(3, [B + "scheduleTrigger", B + "set"]),
            tpl(4, [B + "hubspot"]),
        ]
    )
    picked = [t.id for t in lib.covering("rss to slack", wanted, 2)]
    assert picked[0] == 2  # covers all three, nothing unrelated
    assert 4 not in picked  # covers nothing wanted


def test_slack_spec_is_the_post_operation_with_the_locator_shape(library: TemplateLibrary) -> None:
    spec = node_spec(
        default_catalog().nodes[B + "slack"], request="post new items to #news", library=library
    )
    assert (spec["resource"], spec["operation"]) == ("message", "post")
    params = spec["parameters"]
    assert params["channelId"]["value"]["__rl"] is True and params["channelId"]["required"]
    assert params["select"]["options"] == ["channel", "user"]
    assert "text" in params
    # Parameters of other operations (archive a channel, add a reaction) are not listed.
    assert "emoji" not in params and "timestamp" not in params
    assert "trigger" not in spec and "slackApi" in spec["credentials"]


def test_structured_parameters_show_their_shape() -> None:
    catalog = default_catalog()
    if_spec = node_spec(catalog.nodes[B + "if"], request="only if the price is high")
    conditions = if_spec["parameters"]["conditions"]["value"]
    assert conditions["combinator"] == "and" and conditions["conditions"][0]["operator"]
    schedule = node_spec(catalog.nodes[B + "scheduleTrigger"], request="every morning at 8")
    interval = schedule["parameters"]["rule"]["value"]["interval"][0]
    assert "hours" in interval["field"]["options"] and "triggerAtHour" in interval
    switch = node_spec(catalog.nodes[B + "switch"], request="route by type")
    assert "conditions" in switch["parameters"]["rules"]["value"]["values"][0]
    set_spec = node_spec(catalog.nodes[B + "set"], request="set the fields")
    assert set_spec["parameters"]["assignments"]["value"]["assignments"][0]["name"]


def test_a_mined_configuration_has_no_ids_or_secrets() -> None:
    params = {
        "resource": "message",
        "operation": "post",
        "channelId": {"__rl": True, "mode": "id", "value": "C0123ABCDEF", "cachedResultName": "x"},
        "text": "={{ $json.title }}",
        "otherOptions": {"apiKey": "sk-live-123"},
        "documentId": "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    }
    nodes = [{"name": "Slack", "type": B + "slack", "parameters": params}]
    lib = TemplateLibrary([make_template(7, "t", "", {"nodes": nodes, "connections": {}})])
    mined = mined_configuration(lib, B + "slack", Operation("message", "post"))
    text = json.dumps(mined)
    assert "C0123ABCDEF" not in text and "sk-live" not in text and "cachedResult" not in text
    assert "1AbCdEf" not in text and mined["text"] == "={{ $json.title }}"


def test_a_mined_configuration_is_the_same_each_time_and_the_callers_own() -> None:
    """Each library keeps its types' scrubbed configurations, so the next prompt need not scrub
    them again; what one caller gets, it may change without touching the next one's."""
    params = {"resource": "message", "operation": "post", "text": "={{ $json.title }}"}
    nodes = [{"name": "Slack", "type": B + "slack", "typeVersion": 2, "parameters": params}]
    lib = TemplateLibrary([make_template(7, "t", "", {"nodes": nodes, "connections": {}})])
    first = mined_configuration(lib, B + "slack", Operation("message", "post"))
    first["text"] = "changed by the first caller"
    again = mined_configuration(lib, B + "slack", Operation("message", "post"))
    assert again == params
    assert mined_configuration(lib, B + "slack", Operation("message", "update")) is None


def test_specs_name_the_fields_a_node_outputs() -> None:
    """The model reads real field names (`$json.title`, not `$json.Title`) from the spec."""
    catalog = default_catalog()
    rss = node_spec(catalog.get("n8n-nodes-base.rssFeedRead"), request="new posts of a feed")
    assert rss["output_fields"][:3] == ["title", "link", "pubDate"]
    issue = node_spec(catalog.get("n8n-nodes-base.github"), request="get the issue")
    assert issue.get("resource") == "issue" and "title" in issue["output_fields"]
    # No schema known → no guess.
    noop = node_spec(catalog.get("n8n-nodes-base.noOp"), request="do nothing")
    assert "output_fields" not in noop


def test_a_mined_configuration_never_names_a_node_of_its_own_template(
    library: TemplateLibrary,
) -> None:
    """`$('Configure Workflow Args')…` only makes sense in the template it came from."""
    seen = 0
    for node_type in ("n8n-nodes-base.splitInBatches", "n8n-nodes-base.slack", B + "set"):
        example = mined_configuration(library, node_type, Operation(None, None))
        if example is not None:
            seen += 1
            text = json.dumps(example)
            assert "$(" not in text and "$node[" not in text
    assert seen >= 2


def test_every_spec_lists_all_operations_guessed_or_named(
    library: TemplateLibrary,
) -> None:
    """ "When an issue gets a label" names no GitHub operation and "post to #news" names
    Slack's: either way the spec lists every resource's operations, so a guess (or a word that
    happens to match) never hides the one the request needs (issue 19)."""
    catalog = default_catalog()
    guessed = node_spec(
        catalog.get(B + "github"), request="when an issue gets the label bug", library=library
    )
    assert guessed["resource"] == "issue" and "get" in guessed["operations"]["issue"]
    assert "getPullRequests" in guessed["operations"]["repository"]
    named = node_spec(catalog.get(B + "slack"), request="post it to #news", library=library)
    assert named["operation"] == "post"
    assert "sendAndWait" in named["operations"]["message"]
    assert "getAll" in named["operations"]["channel"]
