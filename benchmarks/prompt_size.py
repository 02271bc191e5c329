"""Tokens per generation prompt for typical requests (target ≤ 6,000), so cost stays predictable.

    .venv/bin/python benchmarks/prompt_size.py

Builds the exact messages the pipeline sends (system rules, retrieved node specs, 1–3 compacted
real templates from n8n-mcp's library, fenced request) for ten typical requests, and the repair
prompt for each (the generated JSON is approximated by the best example template). Counts tokens
with tiktoken's o200k_base when it is installed and its encoding is available offline; otherwise
with characters / 4, and says which.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.catalog import default_catalog
from core.generation.prompts import Message, generation_messages, repair_messages
from core.generation.replies import retrieve_context
from core.generation.retrieval import repair_context
from core.generation.templates import default_library
from core.validation import Issue

REQUESTS = [
    "Every morning at 8 post new items of https://example.com/feed.xml to #news",
    "When someone submits our webhook form, add a row to the Google Sheet 'Leads' and DM me",
    "Every hour check https://api.example.com/status and alert #ops in Slack if it is down",
    "Each Monday email the team a summary of last week's closed GitHub issues",
    "When a new Stripe payment arrives, post the amount and customer to #sales",
    "Every day at 18:00 fetch the weather for Paris and send it to my Telegram",
    "Copy new Typeform responses into Airtable and notify #marketing",
    "When a file is added to the Google Drive folder 'Invoices', email it to accounting",
    "Every 15 minutes poll the RSS feed https://blog.example.com/rss and tweet new posts",
    "When a Jira ticket is marked urgent, page the on-call person via Slack DM",
]
TARGET = 6_000


def counter() -> tuple[str, Callable[[str], int]]:
    try:
        import tiktoken

        enc = tiktoken.get_encoding("o200k_base")
        return "tiktoken o200k_base", lambda text: len(enc.encode(text))
    except Exception:  # not installed, or its encoding file cannot be downloaded here
        return "characters / 4 (tiktoken unavailable offline)", lambda text: len(text) // 4


def size(messages: list[Message], count: Callable[[str], int]) -> int:
    return sum(count(m["content"]) for m in messages) + 4 * len(messages)


def main() -> None:
    how, count = counter()
    catalog, library = default_catalog(), default_library()
    gen_sizes: list[int] = []
    rep_sizes: list[int] = []
    print(f"token count: {how}")
    print(f"{'generate':>8} {'repair':>7}  request")
    for request in REQUESTS:
        ctx = retrieve_context(text=request, catalog=catalog, templates=library)
        gen = size(generation_messages(request=request, ctx=ctx), count)
        # A repair carries the candidate JSON; a similar real template stands in for it.
        similar = library.similar(request, 1, max_nodes=12)
        candidate = similar[0].workflow if similar else {"nodes": [], "connections": {}}
        problems = [
            Issue("missing_required", "required parameter 'url' is empty", "Fetch", hint="set url"),
            Issue("bad_connection", "connection to unknown node 'Notify'", "If"),
        ]
        # A repair carries the specs of the candidate's own node types (core.generation.retrieval).
        repair_ctx = repair_context(
            text=request, workflow=candidate, catalog=catalog, templates=library
        )
        rep = size(
            repair_messages(
                request=request,
                workflow=candidate,
                problems=problems,
                kind="validation",
                ctx=repair_ctx,
            ),
            count,
        )
        gen_sizes.append(gen)
        rep_sizes.append(rep)
        print(f"{gen:>8} {rep:>7}  {request[:70]}")
    print(
        f"generation prompt: median {statistics.median(gen_sizes):.0f}, max {max(gen_sizes)} "
        f"tokens (target <= {TARGET}: {'met' if max(gen_sizes) <= TARGET else 'NOT met'})"
    )
    print(f"repair prompt:     median {statistics.median(rep_sizes):.0f}, max {max(rep_sizes)}")


if __name__ == "__main__":
    main()
