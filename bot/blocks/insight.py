"""A workflow's runs and its explanation in Slack (pure: a use case's result in, blocks out).
Everything that came from n8n or a user (node names, messages, URLs' text) is escaped."""

from __future__ import annotations

import json
from typing import Any

from bot.blocks.common import Block, actions, button, context, escape, header, plain, section
from core.usecases.explain import Explanation
from core.usecases.runs import FailedRun, RunRow, RunsPage

RUN_EMOJI = {
    "success": ":large_green_circle:",
    "error": ":red_circle:",
    "crashed": ":red_circle:",
    "running": ":hourglass_flowing_sand:",
    "waiting": ":hourglass_flowing_sand:",
    "canceled": ":white_circle:",
}


def page_value(workflow_id: int, cursor: str) -> str:
    return json.dumps({"w": workflow_id, "c": cursor}, separators=(",", ":"))[:2000]


def parse_page_value(value: str) -> tuple[int, str]:
    """(workflow id, cursor) from an "Older runs" button (untrusted: ValueError if malformed)."""
    data = json.loads(value)
    if not isinstance(data, dict):
        raise ValueError(value)
    return int(data["w"]), str(data["c"])[:1000]


def failure_value(workflow_id: int, execution_id: str) -> str:
    return f"{workflow_id}:{execution_id}"


def parse_failure_value(value: str) -> tuple[int, str]:
    wid, _, execution = value.partition(":")
    return int(wid), execution


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "still running"
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"


def run_line(run: RunRow) -> str:
    """ "🔴 error · 2026-12-07 10:00 UTC · 1.2 s · trigger · <link|execution 42>", then for a
    failed one the node and what went wrong."""
    emoji = RUN_EMOJI.get(run.status, ":white_circle:")
    started = f"{run.started_at:%Y-%m-%d %H:%M} UTC" if run.started_at else "not started"
    link = (
        f"<{run.url}|execution {run.execution_id}>" if run.url else f"execution {run.execution_id}"
    )
    parts = [f"{emoji} *{escape(run.status)}*", started, _duration(run.duration_s)]
    if run.mode:
        parts.append(escape(run.mode))
    parts.append(link)
    line = " · ".join(parts)
    if run.failed:
        where = f"failed at *{escape(run.failed_node)}*" if run.failed_node else "failed"
        line += f"\n{where}: {escape(run.error or 'n8n gave no reason')}"
    return line


def runs_blocks(page: RunsPage, *, older: bool = False) -> list[Block]:
    """The page of runs, a "Show failure" button beside each failed one, "Older runs" when there
    are more."""
    title = f"*Runs of {escape(page.name)}*" + (" (older)" if older else "")
    if not page.deployed:
        return [section(f"{title}\nIt is not in n8n (never deployed, or deleted): no runs.")]
    if not page.runs:
        return [section(f"{title}\nNo runs yet (older ones may have been pruned by n8n).")]
    blocks: list[Block] = [section(title)]
    for run in page.runs:
        accessory = (
            button(
                "Show failure",
                "workflow_run_failure",
                failure_value(page.workflow_id, run.execution_id),
            )
            if run.failed
            else None
        )
        blocks.append(section(run_line(run), accessory=accessory))
    if page.next_cursor:
        blocks.append(
            actions(
                button(
                    "Older runs →",
                    "workflow_runs_page",
                    page_value(page.workflow_id, page.next_cursor),
                ),
                block_id=f"runs_pages:{page.workflow_id}",
            )
        )
    return blocks


def failed_run_blocks(run: FailedRun) -> list[Block]:
    where = f" at *{escape(run.node)}*" if run.node else ""
    link = f" · <{run.url}|open in n8n>" if run.url else ""
    return [
        section(f":x: *{escape(run.name)}* · execution {escape(run.execution_id)} failed{where}"),
        section(escape(run.plain)),
        context(f"n8n said: {escape(run.message[:1000])}{link}"),
        context("The picture (failed node marked) is in the workflow's thread."),
    ]


def explain_blocks(expl: Explanation) -> list[Block]:
    """The AI summary (when there is one) on top, the sentences, each step, the outline."""
    blocks: list[Block] = [section(f"*What {escape(expl.name)} does* (version {expl.version})")]
    if expl.summary:
        blocks.append(section(f":sparkles: {escape(expl.summary)}"))
        blocks.append(context("Summary written by the AI from the steps below."))
    elif expl.summary_note:
        blocks.append(context(escape(expl.summary_note)))
    blocks.append(section(escape(" ".join(expl.sentences))))
    steps = "\n".join(
        f"{i}. *{escape(s.node)}*: {escape(s.words)}" for i, s in enumerate(expl.steps, 1)
    )
    if steps:
        blocks.append(section(f"*Steps*\n{steps}"))
    if expl.outline:
        blocks.append(section("*Flow*\n```" + escape("\n".join(expl.outline)) + "```"))
    return blocks


def insight_modal(title: str, blocks: list[Block]) -> dict[str, Any]:
    """Runs or Explain opened from App Home (a home tab has no message to answer in)."""
    return {
        "type": "modal",
        "title": plain(title, 24),
        "close": plain("Close", 24),
        "blocks": blocks[:100],
    }


def loading_blocks(what: str) -> list[Block]:
    return [header(what), context("Reading it from n8n…")]
