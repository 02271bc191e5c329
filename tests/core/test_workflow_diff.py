"""The parameter-level diff of two workflow versions (`core.n8n.diff`)."""

from __future__ import annotations

import copy
from typing import Any

from core.n8n.diff import diff_workflows, shorten


def _rss_to_slack() -> dict[str, Any]:
    return {
        "name": "News",
        "nodes": [
            {
                "id": "t",
                "name": "Trigger",
                "type": "n8n-nodes-base.rssFeedReadTrigger",
                "typeVersion": 1,
                "position": [0, 0],
                "parameters": {"feedUrl": "https://example.com/feed.xml"},
            },
            {
                "id": "s",
                "name": "Post to Slack",
                "type": "n8n-nodes-base.slack",
                "typeVersion": 2.3,
                "position": [220, 0],
                "parameters": {
                    "select": "channel",
                    "channelId": {"__rl": True, "mode": "name", "value": "#news"},
                    "text": "={{ $json.title }}",
                },
                "credentials": {"slackApi": {"id": "cred-123", "name": "SLACK_TOKEN"}},
            },
        ],
        "connections": {
            "Trigger": {"main": [[{"node": "Post to Slack", "type": "main", "index": 0}]]}
        },
        "settings": {"executionOrder": "v1"},
    }


def test_a_changed_channel_and_an_inserted_filter_read_as_a_user_would_say_them() -> None:
    old = _rss_to_slack()
    new = copy.deepcopy(old)
    slack = new["nodes"][1]
    slack["parameters"]["channelId"]["value"] = "#ops"
    slack["parameters"]["text"] = "={{ $json.title }} {{ $json.link }}"
    slack["position"] = [440, 0]  # moved on the canvas: not a change
    new["nodes"].append(
        {
            "id": "f",
            "name": "Filter",
            "type": "n8n-nodes-base.filter",
            "typeVersion": 2.2,
            "position": [220, 0],
            "parameters": {},
        }
    )
    new["connections"] = {
        "Trigger": {"main": [[{"node": "Filter", "type": "main", "index": 0}]]},
        "Filter": {"main": [[{"node": "Post to Slack", "type": "main", "index": 0}]]},
    }
    new["settings"]["timezone"] = "Europe/Paris"
    diff = diff_workflows(old, new)
    assert diff.lines() == [
        "Post to Slack: channelId: #news → #ops; "
        "text: {{ $json.title }} → {{ $json.title }} {{ $json.link }}",
        "+ node Filter",
        "Filter → Post to Slack connected",
        "Trigger → Filter connected",
        "Trigger → Post to Slack disconnected",
        "settings: + timezone = Europe/Paris",
    ]
    assert diff.changed == ["Post to Slack"] and diff.added == ["Filter"]
    assert diff.details(limit=2) == (
        "Post to Slack: channelId: #news → #ops; text: {{ $json.title }} → {{ $json.title }} "
        "{{ $json.link }}; + node Filter; … 4 more"
    )


def test_credentials_show_only_their_type_never_an_id_or_a_name() -> None:
    old = _rss_to_slack()
    new = copy.deepcopy(old)
    new["nodes"][1]["credentials"] = {"slackApi": {"id": "cred-999", "name": "OTHER_TOKEN"}}
    text = diff_workflows(old, new).details()
    assert text == "Post to Slack: credential slackApi replaced"
    dropped = copy.deepcopy(old)
    del dropped["nodes"][1]["credentials"]
    text += diff_workflows(old, dropped).details()
    assert "− credential slackApi" in text
    assert "cred-" not in text and "TOKEN" not in text


def test_a_rename_keeps_links_and_a_type_change_is_named() -> None:
    old = _rss_to_slack()
    new = copy.deepcopy(old)
    new["nodes"][1]["name"] = "Tell the team"
    new["nodes"][1]["type"] = "n8n-nodes-base.discord"
    new["connections"]["Trigger"]["main"][0][0]["node"] = "Tell the team"
    diff = diff_workflows(old, new)
    assert diff.renamed == [("Post to Slack", "Tell the team")]
    assert diff.added == [] and diff.removed == [] and not diff.links_added
    assert diff.lines() == [
        "Post to Slack renamed to Tell the team",
        "Tell the team: type n8n-nodes-base.slack → n8n-nodes-base.discord",
    ]


def test_values_are_shortened_and_unchanged_workflows_say_so() -> None:
    assert shorten("x" * 100).endswith("…") and len(shorten("x" * 100)) == 40
    assert shorten({"__rl": True, "value": "C123", "cachedResultName": "#news"}) == "#news"
    old = _rss_to_slack()
    assert diff_workflows(old, copy.deepcopy(old)).details() == "no changes"
    assert diff_workflows(old, old).empty
