"""Print (or write to docs/blockkit/) the Block Kit the bot sends for three surfaces, built by
the bot's own pure builders from sample data: the run summary with its buttons, the runs list,
and a review request (review before live). Paste any file into Slack's Block Kit Builder
(https://app.slack.com/block-kit-builder) to see it.

    .venv/bin/python scripts/blockkit_examples.py            # print all three
    .venv/bin/python scripts/blockkit_examples.py --write    # (re)write docs/blockkit/*.json

Nothing here talks to Slack, n8n or a database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.blocks.insight import runs_blocks  # noqa: E402 (after the path is set)
from bot.blocks.reviews import review_request_blocks  # noqa: E402
from bot.blocks.run_message import summary_blocks  # noqa: E402
from core.graph import layout_workflow  # noqa: E402
from core.n8n.diff import diff_workflows  # noqa: E402
from core.scheduler.reviews import (  # noqa: E402
    ReviewRequest,
    ReviewTestRun,
    reached_hosts,
    used_accounts,
)
from core.usecases.runs import RunRow, RunsPage  # noqa: E402

N8N = "https://n8n.example.com"
WHEN = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


def _news(channel: str) -> dict[str, Any]:
    """RSS → Slack: the canonical workflow, posting to `channel`."""
    return {
        "name": "Morning news",
        "nodes": [
            {
                "name": "Every morning",
                "type": "n8n-nodes-base.scheduleTrigger",
                "typeVersion": 1.2,
                "position": [0, 0],
                "parameters": {"rule": {"interval": [{"triggerAtHour": 8}]}},
            },
            {
                "name": "Read feed",
                "type": "n8n-nodes-base.rssFeedRead",
                "typeVersion": 1.1,
                "position": [220, 0],
                "parameters": {"url": "https://example.com/feed.xml"},
            },
            {
                "name": "Post to Slack",
                "type": "n8n-nodes-base.slack",
                "typeVersion": 2.3,
                "position": [440, 0],
                "parameters": {"channelId": channel, "text": "={{ $json.title }}"},
                "credentials": {"slackApi": {"id": "7", "name": "clixen-p1-CLIXEN_BOT"}},
            },
        ],
        "connections": {
            "Every morning": {"main": [[{"node": "Read feed", "type": "main", "index": 0}]]},
            "Read feed": {"main": [[{"node": "Post to Slack", "type": "main", "index": 0}]]},
        },
    }


def run_summary() -> list[dict[str, Any]]:
    return summary_blocks(
        workflow_id=12,
        name="Morning news",
        version=3,
        description="Every morning at 8 it posts the feed's new items to #news.",
        outline=["Every morning → Read feed → Post to Slack"],
        n8n_url=f"{N8N}/workflow/aB3dE5",
        status="active",
    )


def runs_list() -> list[dict[str, Any]]:
    runs = [
        RunRow(
            "4812",
            "success",
            "trigger",
            WHEN,
            1.4,
            None,
            None,
            f"{N8N}/workflow/aB3dE5/executions/4812",
        ),
        RunRow(
            "4790",
            "error",
            "trigger",
            WHEN - dt.timedelta(days=1),
            0.8,
            "Read feed",
            "The feed's address answered 404 (not found).",
            f"{N8N}/workflow/aB3dE5/executions/4790",
        ),
        RunRow("4777", "success", "trigger", WHEN - dt.timedelta(days=2), 1.2, None, None, None),
    ]
    return runs_blocks(RunsPage(12, "Morning news", runs, next_cursor="c2", deployed=True))


def review_request() -> list[dict[str, Any]]:
    live, asked = _news("#news"), _news("#ops")
    return review_request_blocks(
        ReviewRequest(
            review_id=41,
            project="marketing",
            workflow_id=12,
            name="Morning news",
            version=4,
            live_version=3,
            source="edit",
            requested_by="U0BOB",
            requested_at=WHEN,
            digest="9f2c41d07a5e",
            diff=diff_workflows(live, asked),
            node_count=3,
            picture=layout_workflow(asked, title="Morning news · v4"),
            test_run=ReviewTestRun(
                "not_run",
                "not test-run: a test run would really reach outside n8n through Read feed "
                "(RSS Read), Post to Slack (Slack (message post)). Run it on a test copy after "
                "approving (Test run), or ask the requester for a sample.",
            ),
            accounts=tuple(used_accounts(asked)),
            hosts=tuple(reached_hosts(asked)),
            owners=("U0ADA",),
            channel="C0NEWS",
            thread_ts="1700000000.000100",
        )
    )


SURFACES = {
    "run_summary": run_summary,
    "runs_list": runs_list,
    "review_request": review_request,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write docs/blockkit/<surface>.json")
    args = parser.parse_args()
    out = REPO / "docs" / "blockkit"
    for name, build in SURFACES.items():
        text = json.dumps({"blocks": build()}, indent=2, ensure_ascii=False) + "\n"
        if args.write:
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{name}.json").write_text(text)
            print(f"wrote {(out / f'{name}.json').relative_to(REPO)}")
        else:
            print(f"--- {name}\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
