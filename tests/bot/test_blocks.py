"""Block Kit builders: data in, blocks out (no Slack, no mocks)."""

from __future__ import annotations

import datetime as dt
import json

from bot.blocks.home import ProjectChoice, home_view, parse_page_value
from bot.blocks.messages import QuotaView, WorkflowRow, error_blocks, help_blocks
from bot.blocks.modals import SECRET_CALLBACK, secret_modal
from bot.blocks.run_message import progress_blocks, summary_blocks
from bot.blocks.versions import (
    VersionRow,
    diff_lines,
    parse_rollback_value,
    rollback_blocks,
    version_label,
)
from core.n8n.workflow_json import WorkflowDiff


def _text(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def _elements(blocks: list[dict]) -> list[dict]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def _versions() -> list[VersionRow]:
    t = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
    return [
        VersionRow(1, t, "generate", "U1", "superseded"),
        VersionRow(2, t + dt.timedelta(hours=1), "edit", "U2", "superseded"),
        VersionRow(3, t + dt.timedelta(hours=2), "repair", "U1", "deployed"),
    ]


def test_help_lists_every_subcommand() -> None:
    text = _text(help_blocks())
    for sub in ("create", "list", "versions", "rollback", "project", "quota", "secret", "help"):
        assert sub in text


def test_progress_marks_current_step_and_repair_count() -> None:
    blocks = progress_blocks(
        request="post RSS to #news", step="repairing", repair_number=2, repair_cap=3
    )
    text = _text(blocks)
    assert ":hourglass_flowing_sand: Repairing (2 of 3)" in text
    assert ":white_check_mark: Validating" in text
    assert "▫️ Deploying to n8n" in text


def test_progress_hides_repair_step_when_no_repair_happened() -> None:
    text = _text(progress_blocks(request="x", step="deploying"))
    assert "Repairing" not in text
    assert ":hourglass_flowing_sand: Deploying to n8n" in text


def test_user_text_is_escaped_so_it_cannot_ping_or_link() -> None:
    text = _text(progress_blocks(request="<!channel> hi @here <https://evil|x>", step="generating"))
    assert "<!channel>" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt;" in text


def test_summary_has_buttons_and_test_run_for_every_workflow() -> None:
    blocks = summary_blocks(
        workflow_id=7,
        name="RSS to Slack",
        version=3,
        description="Posts new items.",
        outline=["Schedule → RSS → Slack"],
        n8n_url="http://n8n.local/workflow/abc",
    )
    ids = [e["action_id"] for e in _elements(blocks)]
    assert ids == [
        "workflow_versions",
        "workflow_rollback",
        "workflow_test_run",  # any trigger can be test-run now
        "workflow_open_n8n",
    ]
    assert _elements(blocks)[3]["url"] == "http://n8n.local/workflow/abc"
    assert "Schedule → RSS → Slack" in _text(blocks)
    with_hook = summary_blocks(
        workflow_id=7,
        name="Hook",
        version=1,
        description=None,
        outline=[],
        n8n_url=None,
    )
    assert [e["action_id"] for e in _elements(with_hook)] == [
        "workflow_versions",
        "workflow_rollback",
        "workflow_test_run",
    ]


def test_rollback_picker_excludes_current_version_then_shows_diff_and_confirm() -> None:
    blocks = rollback_blocks(workflow_id=5, name="Flow", head_version=3, versions=_versions())
    select = _elements(blocks)[0]
    assert select["type"] == "static_select"
    assert [o["value"] for o in select["options"]] == ["5:2", "5:1"]
    assert select["options"][0]["text"]["text"] == "v2 · 2026-11-20 10:30 · edit · U2"
    assert not any(e["action_id"] == "rollback_confirm" for e in _elements(blocks))

    diff = WorkflowDiff(
        added=["Filter"],
        removed=["Set"],
        changed=["HTTP"],
        node_changes={"HTTP": ["url: https://a.example → https://b.example"]},
    )
    picked = rollback_blocks(
        workflow_id=5,
        name="Flow",
        head_version=3,
        versions=_versions(),
        selected=1,
        diff=diff_lines(diff),
    )
    confirm = next(e for e in _elements(picked) if e["action_id"] == "rollback_confirm")
    assert confirm["value"] == "5:1"
    assert confirm["confirm"]["confirm"]["text"] == "Roll back"
    text = _text(picked)
    assert "+ node Filter" in text and "− node Set" in text
    assert "HTTP: url: https://a.example → https://b.example" in text
    assert _elements(picked)[0]["initial_option"]["value"] == "5:1"


def test_version_label_and_value_round_trip() -> None:
    v = _versions()[0]
    assert version_label(v) == "v1 · 2026-11-20 09:30 · generate · U1"
    assert parse_rollback_value("12:4") == (12, 4)


def test_rollback_without_earlier_versions_says_so() -> None:
    only = _versions()[:1]
    blocks = rollback_blocks(workflow_id=5, name="Flow", head_version=1, versions=only)
    assert "no earlier version" in _text(blocks)


def test_home_view_has_switcher_rows_pagination_and_quota() -> None:
    projects = [ProjectChoice(1, "default", "owner"), ProjectChoice(2, "ops", "viewer")]
    rows = [
        WorkflowRow(i, f"wf {i}", "active", 1, "success", "2026-11-20 10:00") for i in range(10)
    ]
    view = home_view(
        projects=projects,
        current=projects[1],
        workflows=rows,
        next_cursor="abc",
        prev_cursor=None,
        quota=QuotaView(1200, 200000, 2, 20),
    )
    assert view["type"] == "home"
    switcher = view["blocks"][1]["accessory"]
    assert switcher["initial_option"]["value"] == "2"
    text = _text(view["blocks"])
    assert "wf 9" in text and "last run success" in text
    assert "1,200" in text and "2* of 20 deployments" in text
    nav = _elements(view["blocks"])
    assert [e["action_id"] for e in nav] == ["home_page_next"]
    assert parse_page_value(nav[0]["value"]) == (2, "abc", "next")


def test_secret_modal_carries_project_and_never_a_value() -> None:
    view = secret_modal(project_id=42, project_name="ops")
    assert view["callback_id"] == SECRET_CALLBACK
    assert view["private_metadata"] == "42"
    assert {b.get("block_id") for b in view["blocks"]} >= {"name", "value", "credential_type"}


def test_error_blocks_show_error_id() -> None:
    text = _text(error_blocks("Something broke", "ab12cd34"))
    assert "ab12cd34" in text and "Something broke" in text


def test_a_generic_credential_form_asks_where_the_credential_may_be_sent() -> None:
    from bot.blocks.credentials import HOSTS_BLOCK, credential_modal, submitted_hosts
    from core.credentials.needs import CredentialField

    fields = [CredentialField("value", "Value", True, True)]
    generic = credential_modal(
        run_id=1, node="Call", credential_type="httpHeaderAuth", project_name="p", fields=fields
    )
    [hosts] = [b for b in generic["blocks"] if b.get("block_id") == HOSTS_BLOCK]
    assert hosts["optional"] is False and "api.example.com" in hosts["hint"]["text"]
    slack = credential_modal(
        run_id=1, node="Post", credential_type="slackApi", project_name="p", fields=fields
    )
    assert HOSTS_BLOCK not in json.dumps(slack)  # its service's domains, nothing to ask
    view = {"state": {"values": {HOSTS_BLOCK: {"value": {"value": " a.example.com, b.io "}}}}}
    assert submitted_hosts(view) == ["a.example.com", "b.io"]
    assert HOSTS_BLOCK in json.dumps(secret_modal(project_id=1, project_name="p"))
