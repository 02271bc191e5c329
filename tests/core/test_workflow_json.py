"""The workflow model: canonical form, checksum, API payload and diffs."""

from __future__ import annotations

import copy
from typing import Any

from core.n8n.workflow_json import (
    N8nWorkflow,
    canonical_json,
    checksum,
    diff_workflows,
    to_n8n_payload,
)


def rss_to_slack() -> dict[str, Any]:
    return {
        "id": "abc123",
        "name": "RSS to Slack",
        "active": True,
        "versionId": "v-1",
        "updatedAt": "2026-01-01T00:00:00Z",
        "meta": {"instanceId": "x"},
        "pinData": {},
        "tags": [{"id": "1", "name": "news"}],
        "nodes": [
            {
                "id": "n1",
                "name": "Every morning",
                "type": "n8n-nodes-base.scheduleTrigger",
                "typeVersion": 1.2,
                "position": [0, 0],
                "parameters": {"rule": {"interval": [{"triggerAtHour": 8}]}},
                "uiOnlyKey": "dropped by the API payload",
            },
            {
                "id": "n2",
                "name": "Read feed",
                "type": "n8n-nodes-base.rssFeedRead",
                "typeVersion": 1.2,
                "position": [200, 0],
                "parameters": {"url": "https://example.com/feed.xml"},
            },
        ],
        "connections": {
            "Every morning": {"main": [[{"node": "Read feed", "type": "main", "index": 0}]]}
        },
        "settings": {"executionOrder": "v1", "timezone": "UTC", "unknownSetting": 1},
        "staticData": {"lastId": 3},
    }


def test_canonical_json_ignores_node_order_and_volatile_fields() -> None:
    a = rss_to_slack()
    b = copy.deepcopy(a)
    b["nodes"].reverse()
    b.update(id="other", versionId="v-2", updatedAt="2027-01-01", meta={}, active=False)
    assert canonical_json(a) == canonical_json(b)
    assert checksum(a) == checksum(b)
    assert len(checksum(a)) == 64
    assert '"versionId"' not in canonical_json(a)


def test_checksum_changes_when_a_parameter_changes() -> None:
    a = rss_to_slack()
    b = copy.deepcopy(a)
    b["nodes"][1]["parameters"]["url"] = "https://example.org/other.xml"
    assert checksum(a) != checksum(b)


def test_payload_has_only_fields_the_public_api_accepts() -> None:
    payload = to_n8n_payload(rss_to_slack())
    assert set(payload) == {"name", "nodes", "connections", "settings", "staticData"}
    assert payload["settings"] == {"executionOrder": "v1", "timezone": "UTC"}
    assert all("uiOnlyKey" not in n for n in payload["nodes"])
    assert payload["nodes"][0]["typeVersion"] == 1.2


def test_model_is_tolerant_to_extra_keys_and_round_trips() -> None:
    wf = N8nWorkflow.model_validate(rss_to_slack())
    assert wf.node("Read feed") is not None
    assert wf.nodes[0].type_version == 1.2
    again = wf.to_dict()
    assert again["nodes"][0]["uiOnlyKey"] == "dropped by the API payload"
    assert checksum(again) == checksum(rss_to_slack())


def test_diff_names_added_removed_and_changed_nodes() -> None:
    old = rss_to_slack()
    new = copy.deepcopy(old)
    new["nodes"][1]["parameters"]["url"] = "https://example.org/x.xml"
    new["nodes"][0]["position"] = [50, 50]  # moving a node is not a change
    new["nodes"].append(
        {
            "name": "Post to Slack",
            "type": "n8n-nodes-base.slack",
            "typeVersion": 2.3,
            "position": [400, 0],
            "parameters": {},
        }
    )
    new["connections"]["Read feed"] = {
        "main": [[{"node": "Post to Slack", "type": "main", "index": 0}]]
    }
    d = diff_workflows(old, new)
    assert d.added == ["Post to Slack"]
    assert d.removed == []
    assert d.changed == ["Read feed"]
    assert d.connections_changed
    assert d.summary() == "+1 node (Post to Slack), ~1 changed (Read feed), connections changed"
    back = diff_workflows(new, old)
    assert back.removed == ["Post to Slack"]
    assert "−1 (Post to Slack)" in back.summary()
    assert diff_workflows(old, old).summary() == "no changes"
