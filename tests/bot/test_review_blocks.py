"""The review request and its lines as Slack shows them (pure builders), and the Block Kit
examples in docs/blockkit/ kept equal to what the builders make."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from pathlib import Path

import pytest

from bot.blocks.reviews import (
    decision_text,
    parse_review_value,
    review_line,
    review_request_blocks,
)
from core.graph import layout_workflow
from core.kernel.vocabulary import ReviewState
from core.scheduler.reviews import ReviewRequest, ReviewTestRun, reached_hosts, used_accounts
from core.usecases.reviews import ReviewDecision, ReviewRow
from tests.workflows import THROWS, order_hook, schedule_workflow

REPO = Path(__file__).resolve().parents[2]
WHEN = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


def _request(name: str = "News") -> ReviewRequest:
    wf = schedule_workflow(name)
    return ReviewRequest(
        review_id=7,
        project="ops",
        workflow_id=3,
        name=name,
        version=2,
        live_version=1,
        source="edit",
        requested_by="U2",
        requested_at=WHEN,
        digest="abcdef012345",
        diff=None,
        node_count=2,
        picture=layout_workflow(wf),
        test_run=ReviewTestRun("error", "boom <!channel>", "Shape item"),
        accounts=(),
        hosts=("api.example.com",),
        owners=("U1",),
        channel="C1",
        thread_ts="1.2",
    )


def test_a_request_carries_only_its_id_and_digest_and_escapes_what_it_echoes() -> None:
    blocks = review_request_blocks(_request("Evil <!channel> @here"))
    buttons = {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}
    assert buttons["review_approve"]["value"] == "7:abcdef012345"
    assert buttons["review_reject"]["value"] == "7:abcdef012345"
    assert buttons["review_approve"]["confirm"]["confirm"]["text"] == "Approve"
    # What Slack reads as mrkdwn is escaped (the header is plain text: never a mention).
    mrkdwn = json.dumps([b for b in blocks if b["type"] != "header"])
    assert "<!channel>" not in mrkdwn and "@here" not in mrkdwn
    text = json.dumps(blocks)
    assert "at *Shape item*" in text and "api.example.com" in text


@pytest.mark.parametrize("value", ["", "x", "7x:abc", ":abc"])
def test_a_value_that_is_not_ours_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        parse_review_value(value)


def test_decisions_and_trail_lines_say_who_when_and_why() -> None:
    decision = ReviewDecision(7, 3, "News", 2, ReviewState.rejected, "U1", "U2", "no", 1, "C1", "1")
    assert decision_text(decision) == (
        ":no_entry: <@U2>: <@U1> rejected *News* v2 (review #7). v1 stays live; nothing "
        "changed in n8n. Reason: no"
    )
    row = ReviewRow(7, 3, "News", 2, "rollback", ReviewState.approved, "cli:bob", WHEN, "U1",
                    WHEN, None, 1)  # fmt: skip
    assert review_line(row) == (
        ":white_check_mark: review #7: v2 (a rollback) asked by cli:bob · 2026-12-07 09:00 · "
        "approved by <@U1> · 2026-12-07 09:00"
    )


def test_hosts_and_accounts_are_read_off_the_workflow() -> None:
    assert reached_hosts(order_hook("p", THROWS)) == ["any host its code calls (Check order)"]
    wf = schedule_workflow()
    wf["nodes"][1]["credentials"] = {"httpHeaderAuth": {"id": "4", "name": "clixen-p1-API_KEY"}}
    wf["nodes"].append(
        {
            "name": "Call",
            "type": "n8n-nodes-base.httpRequest",
            "parameters": {"url": "https://api.example.com/x"},
            "credentials": {"slackApi": {"id": "5", "name": "clixen-p1-CLIXEN_BOT"}},
        }
    )
    assert used_accounts(wf) == ["API_KEY (httpHeaderAuth)", "the Clixen bot (slackApi)"]
    assert reached_hosts(wf) == ["api.example.com", "slack.com", "*.slack.com"]


def test_the_block_kit_examples_in_docs_are_what_the_builders_make() -> None:
    spec = importlib.util.spec_from_file_location(
        "blockkit_examples", REPO / "scripts" / "blockkit_examples.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, build in module.SURFACES.items():
        stored = json.loads((REPO / "docs" / "blockkit" / f"{name}.json").read_text())
        assert stored == {"blocks": build()}, f"run scripts/blockkit_examples.py --write ({name})"
