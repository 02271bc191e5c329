"""Run now, whatever the trigger: a test copy in the real n8n, per-node results, nothing left."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.models import RunNowCopyRecord
from core.kernel.settings import get_settings
from core.n8n import N8nClient
from core.run_now import (
    TEST_PREFIX,
    RunNowReport,
    build_test_copy,
    outside_effects,
    run_now,
    sweep_test_copies,
)
from core.scheduler.smoke import local_smoke_endpoints
from core.workspace.policy import set_project_policy
from tests.builders import new_project
from tests.doubles.http_sink import HttpSink
from tests.waiting import wait_until

OWNER = ("T-run-now", "U-owner")


def _node(name: str, kind: str, version: float, params: dict[str, Any], x: int) -> dict[str, Any]:
    return {
        "id": name.lower().replace(" ", "-"),
        "name": name,
        "type": f"n8n-nodes-base.{kind}",
        "typeVersion": version,
        "position": [x, 0],
        "parameters": params,
    }


def _chain(name: str, *nodes: dict[str, Any]) -> dict[str, Any]:
    """The nodes in a row, in a workflow named `name` plus a token unique to this call (the n8n
    is shared: other runs of these tests make copies of the same workflows meanwhile)."""
    connections = {
        a["name"]: {"main": [[{"node": b["name"], "type": "main", "index": 0}]]}
        for a, b in itertools.pairwise(nodes)
    }
    return {
        "name": f"{name} {uuid.uuid4().hex[:8]}",
        "nodes": list(nodes),
        "connections": connections,
        "settings": {"executionOrder": "v1"},
    }


def schedule_http_code(url: str, js: str) -> dict[str, Any]:
    """Every morning → HTTP GET `url` → Code `js` (which may read `$('Every morning')`)."""
    return _chain(
        "Morning check",
        _node(
            "Every morning",
            "scheduleTrigger",
            1.2,
            {"rule": {"interval": [{"field": "days", "triggerAtHour": 8}]}},
            0,
        ),
        _node("Fetch status", "httpRequest", 4.2, {"url": url}, 200),
        _node("Summarise", "code", 2, {"jsCode": js}, 400),
    )


def rss_code(feed_url: str, js: str) -> dict[str, Any]:
    return _chain(
        "News digest",
        _node("New article", "rssFeedReadTrigger", 1, {"feedUrl": feed_url, "pollTimes": {}}, 0),
        _node("Format", "code", 2, {"jsCode": js}, 200),
    )


@pytest.fixture
def project(session_factory: sessionmaker[Session]) -> int:
    """A project whose policy allows the loopback, where the tests serve their feeds and sinks."""
    pid = new_project(session_factory, team_id=OWNER[0], user_id=OWNER[1])
    with session_factory.begin() as s:
        set_project_policy(
            session=s, project_id=pid, actor_user_id=OWNER[1], allow_hosts=["127.0.0.1"]
        )
    return pid


@pytest.fixture
def run_in_project(
    session_factory: sessionmaker[Session], n8n_client: N8nClient, project: int
) -> Callable[..., RunNowReport]:
    """`run_now` in `project` against the real n8n and Postgres."""

    def run(workflow: dict[str, Any], **kwargs: Any) -> RunNowReport:
        return run_now(
            session_factory=session_factory,
            n8n=n8n_client,
            project_id=project,
            workflow=workflow,
            **{"settings": get_settings(), **kwargs},
        )

    return run


def _copies_left(client: N8nClient, workflow: dict[str, Any]) -> list[str]:
    """The names of test copies of `workflow` still in n8n."""
    names = [str(w.get("name")) for w in client.list_workflows(limit=250).get("data") or []]
    return [n for n in names if n == TEST_PREFIX + workflow["name"]]


def test_schedule_http_code_runs_now_and_reports_each_node(
    n8n_client: N8nClient, run_in_project: Callable[..., RunNowReport]
) -> None:
    js = (
        "const t = $('Every morning').first().json;\n"
        "return [{json: {day: t['Day of week'], ok: $json.ok}}];"
    )
    with HttpSink() as sink:
        wf = schedule_http_code(sink.url("/status"), js)
        report = run_in_project(wf)
        assert [r.path for r in sink.requests] == ["/status"]
    assert report.ok, report
    by_name = {r.name: r for r in report.nodes}
    assert list(by_name) == ["Every morning", "Fetch status", "Summarise"]
    assert by_name["Every morning"].sample == "the schedule's fields for now"
    assert '"Day of week"' in by_name["Every morning"].first_item
    assert by_name["Fetch status"].items == 1
    assert '"ok": true' in by_name["Summarise"].first_item
    assert '"day": "' in by_name["Summarise"].first_item
    assert _copies_left(n8n_client, wf) == []


def test_a_failing_node_is_named_with_n8ns_message(
    n8n_client: N8nClient, run_in_project: Callable[..., RunNowReport]
) -> None:
    with HttpSink() as sink:
        wf = schedule_http_code(sink.url("/"), "throw new Error('no status today');")
        report = run_in_project(wf)
    assert report.status == "error"
    assert report.node == "Summarise"
    assert "no status today" in report.message
    failed = [r for r in report.nodes if r.status == "failed"]
    assert [r.name for r in failed] == ["Summarise"]
    assert "no status today" in failed[0].message
    assert _copies_left(n8n_client, wf) == []


def test_rss_trigger_runs_on_the_newest_item_of_its_feed(
    n8n_client: N8nClient, run_in_project: Callable[..., RunNowReport]
) -> None:
    with local_smoke_endpoints(["Newest story", "Older story"]) as feed:
        wf = rss_code(feed.feed_url, "return [{json: {headline: $json.title}}];")
        report = run_in_project(wf)
    assert report.ok, report
    by_name = {r.name: r for r in report.nodes}
    assert list(by_name) == ["New article", "Format"]
    assert by_name["New article"].items == 1
    assert by_name["New article"].sample.startswith("the newest item of http://127.0.0.1")
    assert by_name["Format"].first_item == '{"headline": "Newest story"}'
    assert _copies_left(n8n_client, wf) == []


def test_outside_effects_name_http_and_code_but_not_logic() -> None:
    wf = schedule_http_code("https://example.com/x", "return $input.all();")
    wf["nodes"].append(_node("Keep", "set", 3.4, {"options": {}}, 600))
    assert outside_effects(wf) == [
        ("Fetch status", "HTTP Request GET https://example.com/x"),
        ("Summarise", "Code (its code can send requests)"),
    ]


def test_actions_that_can_wait_on_a_webhook_are_outside_effects_not_triggers() -> None:
    """Slack's node has a webhook (send-and-wait) but never starts a run: a test run posts for
    real, so it is listed and asked about, and the test copy keeps it."""
    wf = _chain(
        "Post",
        _node("Every hour", "scheduleTrigger", 1.2, {"rule": {"interval": [{}]}}, 0),
        _node("Post", "slack", 2.3, {"resource": "message", "operation": "post"}, 200),
    )
    assert outside_effects(wf) == [("Post", "Slack (message post)")]


def test_code_and_ai_transform_are_outside_effects() -> None:
    """The task runner gives code `helpers.httpRequest`: a test run asks before running it."""
    js = "await this.helpers.httpRequest({method: 'POST', url: 'http://169.254.169.254/'});"
    wf = _chain(
        "Peek",
        _node("Every hour", "scheduleTrigger", 1.2, {"rule": {"interval": [{}]}}, 0),
        _node("Peek", "code", 2, {"jsCode": js}, 200),
        _node("Shape", "aiTransform", 1, {"instructions": "x", "jsCode": js}, 400),
    )
    assert [name for name, _ in outside_effects(wf)] == ["Peek", "Shape"]


def test_app_trigger_sample_comes_from_the_user_or_n8ns_schema() -> None:
    wf = _chain(
        "Issues",
        _node("On issue", "githubTrigger", 1, {"events": ["issues"]}, 0),
        _node("Note", "code", 2, {"jsCode": "return $input.all();"}, 200),
    )
    mine = build_test_copy(wf, sample={"action": "opened"})
    emit = next(n for n in mine.workflow["nodes"] if n["name"] == "On issue")
    assert emit["type"] == "n8n-nodes-base.set"
    assert emit["parameters"]["jsonOutput"] == '{"action": "opened"}'
    assert mine.samples == {"On issue": "your sample"}
    assert mine.workflow["name"] == TEST_PREFIX + wf["name"]
    without = build_test_copy(wf)
    assert without.samples == {"On issue": "an empty item"}  # n8n has no schema for it
    mail = _chain(
        "Mail",
        _node("New mail", "gmailTrigger", 1.2, {"pollTimes": {}}, 0),
        _node("Note", "code", 2, {"jsCode": "return $input.all();"}, 200),
    )
    built = build_test_copy(mail)
    assert built.samples == {"New mail": "an item from n8n's output schema"}
    item = json.loads(
        next(n for n in built.workflow["nodes"] if n["name"] == "New mail")["parameters"][
            "jsonOutput"
        ]
    )
    assert "subject" in item and "from" in item


def test_the_sweep_deletes_recorded_copies_only(
    n8n_client: N8nClient, session_factory: sessionmaker[Session], project: int
) -> None:
    """A copy recorded by id, one a process recorded but was killed before noting its id (found
    by its unique webhook path), and a workflow someone merely named like a test copy."""
    from core.run_now.sweep import record_copy, record_created

    by_id, by_path, lookalike = (
        schedule_http_code("https://example.com", "return [];") for _ in range(3)
    )
    ids = []
    for wf in (by_id, by_path, lookalike):
        made = build_test_copy(wf)
        if wf is not lookalike:
            record = record_copy(session_factory, project_id=project, path=made.path)
        ids.append(str(n8n_client.create_workflow(made.workflow)["id"]))
        if wf is by_id:
            record_created(session_factory, record, ids[-1])
    n8n_client.activate(ids[0])  # killed right after activation
    try:
        assert sweep_test_copies(session_factory, n8n_client, older_than_minutes=60) == 0
        for wf in (by_id, by_path, lookalike):
            assert len(_copies_left(n8n_client, wf)) == 1
        assert sweep_test_copies(session_factory, n8n_client, older_than_minutes=0) == 2
        assert _copies_left(n8n_client, by_id) == _copies_left(n8n_client, by_path) == []
        assert _copies_left(n8n_client, lookalike) == [TEST_PREFIX + lookalike["name"]]
        with session_factory() as s:
            assert s.scalars(select(RunNowCopyRecord)).all() == []
        assert sweep_test_copies(session_factory, n8n_client, older_than_minutes=0) == 0
    finally:
        for copy_id in ids:
            n8n_client.delete_workflow(copy_id)


def test_a_copy_left_by_a_killed_process_is_swept(
    n8n_client: N8nClient, tmp_path: Path, database_url: str, session_factory: sessionmaker[Session]
) -> None:
    """`clixen test` killed (SIGKILL) while n8n runs the copy: no finally runs, the sweep does."""
    wf = _chain(
        "Slow report",
        _node("Every hour", "scheduleTrigger", 1.2, {"rule": {"interval": [{}]}}, 0),
        _node("Pause", "wait", 1.1, {"amount": 20}, 200),
    )
    path = tmp_path / "slow.json"
    path.write_text(json.dumps(wf))
    env = {
        **os.environ,
        "N8N_URL": n8n_client.base_url,
        "N8N_API_KEY": _api_key(n8n_client),
        "DATABASE_URL": database_url,
        "CLIXEN_CLI_USER": "killed",
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", "from cli import main; main()", "test", str(path), "--yes"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    copy = TEST_PREFIX + wf["name"]
    try:
        wait_until(lambda: _copies_left(n8n_client, wf), 60, "`clixen test` made no copy in n8n")
        assert _copies_left(n8n_client, wf) == [copy]
    finally:
        proc.kill()
        proc.wait()
    assert _copies_left(n8n_client, wf) == [copy]  # left behind
    assert sweep_test_copies(session_factory, n8n_client, older_than_minutes=0) == 1
    assert _copies_left(n8n_client, wf) == []


def _api_key(client: N8nClient) -> str:
    return str(client._http.headers["X-N8N-API-KEY"])


def test_a_webhook_workflow_gets_the_sample_call_on_its_copy(
    n8n_client: N8nClient, run_in_project: Callable[..., RunNowReport]
) -> None:
    from tests.workflows import ORDER_CHECK_NODE, WORKS, order_hook

    live_path = f"orders-{uuid.uuid4().hex[:8]}"
    wf = order_hook(live_path, WORKS)
    report = run_in_project(wf, sample={"total": 5})
    assert report.ok, report
    by_name = {r.name: r for r in report.nodes}
    assert by_name[ORDER_CHECK_NODE].items == 1
    assert '"total": 5' in by_name[ORDER_CHECK_NODE].first_item
    assert _copies_left(n8n_client, wf) == []


def test_the_copy_never_starts_the_live_error_workflow_or_reuses_its_webhooks() -> None:
    from tests.workflows import WORKS, order_hook

    wf = order_hook("live-orders", WORKS)
    wf["settings"] = {"executionOrder": "v1", "errorWorkflow": "12"}
    live_ids = {n.get("webhookId") for n in wf["nodes"]}
    copy = build_test_copy(wf)
    assert copy.workflow["settings"] == {"executionOrder": "v1"}
    hook = next(n for n in copy.workflow["nodes"] if n["type"] == "n8n-nodes-base.webhook")
    assert hook["parameters"]["path"] == copy.path != "live-orders"
    assert hook.get("webhookId") not in live_ids - {None}


def test_debug_helper_is_an_outside_effect_a_test_run_asks_about() -> None:
    wf = _chain(
        "Crash",
        _node("Every hour", "scheduleTrigger", 1.2, {"rule": {"interval": [{}]}}, 0),
        _node("Crash n8n", "debugHelper", 1, {"category": "oom"}, 200),
    )
    assert [name for name, _ in outside_effects(wf)] == ["Crash n8n"]
