"""Every button, select and menu of the bot, clicked with a forged value that names another
project's workflow, run, page or secret — by the same user id in another workspace and by a
member of the workspace who is not in that project: nothing changes, nothing of that project
reaches the attacker (no name, no request text, no secret name), and the click is answered.

(tests/e2e/test_cross_workspace.py holds the first four of these, with the exact refusal.)
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.blocks.connect import CONNECT_ACTION, DISCONNECT_ACTION, connect_value
from bot.blocks.credentials import (
    CHOOSE_ACTION,
    OPEN_ACTION,
    USE_BOT_ACTION,
    ask_value,
    choice_value,
)
from bot.blocks.home import page_value
from bot.blocks.insight import failure_value
from bot.blocks.insight import page_value as runs_page_value
from bot.blocks.reviews import APPROVE_ACTION, REJECT_ACTION, review_value
from bot.blocks.run_now import CONFIRM_ACTION as TEST_RUN_CONFIRM
from bot.blocks.thread_replies import CANCEL_ACTION, CONFIRM_ACTION, PendingEdit, pending_value
from bot.blocks.triggers import RUN_ACTION
from bot.blocks.versions import rollback_value
from core.deploy import create_workflow_record
from core.kernel.models import PipelineRun, Secret, VersionReview, Workflow, WorkflowVersion
from core.workspace.projects import create_project
from tests.bot.conftest import TEAM, SlackSender
from tests.doubles.slack_api import FakeSlack

OTHER_TEAM = "T0OTHER"
OWNER = "U2"
PROJECT, WORKFLOW = "payroll-private", "pay-run-private"
REQUEST, SECRET = "wire the bonus sheet to finance-private", "PAYROLL_PRIVATE_KEY"
LEAKS = (PROJECT, WORKFLOW, REQUEST, SECRET)


def _victim(factory: sessionmaker[Session]) -> dict[str, int]:
    """OWNER's project in TEAM: an active workflow (two versions), a run waiting for a
    credential, a secret."""
    with factory.begin() as s:
        pid = create_project(session=s, team_id=TEAM, name=PROJECT, creator_user_id=OWNER).id
        wf = create_workflow_record(session=s, project_id=pid, name=WORKFLOW, created_by=OWNER)
        for v in (1, 2):
            s.add(
                WorkflowVersion(
                    workflow_id=wf.id, version=v, json_payload={"nodes": []}, checksum=f"c{v}",
                    source="generate", status="deployed" if v == 2 else "superseded",
                    created_by=OWNER,
                )
            )  # fmt: skip
        wf.head_version, wf.status = 2, "active"
        run = PipelineRun(
            project_id=pid, team_id=TEAM, user_id=OWNER, kind="create", request=REQUEST,
            state="awaiting_credentials", workflow_id=wf.id,
        )  # fmt: skip
        s.add(run)
        s.add(Secret(project_id=pid, name=SECRET, ciphertext=b"x", created_by=OWNER))
        review = VersionReview(
            project_id=pid, team_id=TEAM, workflow_id=wf.id, version=2, checksum="c2",
            source="generate", base_version=2, requested_by=OWNER,
        )  # fmt: skip
        s.add(review)
        s.flush()
        return {"pid": pid, "wf": wf.id, "run": run.id, "review": review.id}


def _state(factory: sessionmaker[Session], ids: dict[str, int]) -> Any:
    with factory() as s:
        wf = s.get(Workflow, ids["wf"])
        run = s.get(PipelineRun, ids["run"])
        assert wf is not None and run is not None
        versions = s.execute(
            select(WorkflowVersion.version, WorkflowVersion.status)
            .where(WorkflowVersion.workflow_id == wf.id)
            .order_by(WorkflowVersion.version)
        ).all()
        runs = s.scalars(select(PipelineRun.id).order_by(PipelineRun.id)).all()
        secrets = s.scalars(select(Secret.name).order_by(Secret.id)).all()
        review = s.get(VersionReview, ids["review"])
        assert review is not None
        return (
            (review.state, review.decided_by),
            (wf.name, wf.status, wf.head_version, wf.project_id),
            [tuple(v) for v in versions],
            (run.state, run.workflow_id, dict(run.context or {})),
            list(runs),
            list(secrets),
        )


def _cursor(workflow_id: int) -> str:
    raw = json.dumps({"d": "next", "i": workflow_id + 1}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _pending(wf: int, user: str) -> str:
    value = pending_value(PendingEdit(wf, user, "C1", "1.000100", "1.000200", "rename it to x"))
    assert value is not None
    return value


# (action_id, kind, value built from the victim's ids and the attacker's user id)
CLICKS: list[tuple[str, str, Any]] = [
    ("workflow_versions", "button", lambda i, u: str(i["wf"])),
    ("workflow_rollback", "button", lambda i, u: str(i["wf"])),
    ("rollback_select", "static_select", lambda i, u: rollback_value(i["wf"], 1)),
    ("rollback_confirm", "button", lambda i, u: rollback_value(i["wf"], 1)),
    ("workflow_test_run", "button", lambda i, u: str(i["wf"])),
    (TEST_RUN_CONFIRM, "button", lambda i, u: str(i["wf"])),
    ("home_project_select", "static_select", lambda i, u: str(i["pid"])),
    ("home_page_next", "button", lambda i, u: page_value(i["pid"], _cursor(i["wf"]), "next")),
    ("home_page_prev", "button", lambda i, u: page_value(i["pid"], _cursor(0), "prev")),
    (CONFIRM_ACTION, "button", lambda i, u: _pending(i["wf"], u)),
    (CANCEL_ACTION, "button", lambda i, u: _pending(i["wf"], u)),
    (OPEN_ACTION, "button", lambda i, u: ask_value(i["run"], "Call", "httpHeaderAuth")),
    (CHOOSE_ACTION, "static_select", lambda i, u: choice_value(i["run"], "Call", SECRET)),
    (USE_BOT_ACTION, "button", lambda i, u: ask_value(i["run"], "Post", "slackApi")),
    (CONNECT_ACTION, "button", lambda i, u: connect_value("gmail", i["run"])),
    (DISCONNECT_ACTION, "button", lambda i, u: "gmail"),
    (RUN_ACTION, "button", lambda i, u: str(i["wf"])),
    ("workflow_pause", "button", lambda i, u: str(i["wf"])),
    ("workflow_resume", "button", lambda i, u: str(i["wf"])),
    ("workflow_rename", "button", lambda i, u: str(i["wf"])),
    ("workflow_delete", "button", lambda i, u: str(i["wf"])),
    ("workflow_runs", "button", lambda i, u: str(i["wf"])),
    ("workflow_runs_page", "button", lambda i, u: runs_page_value(i["wf"], "abc")),
    ("workflow_run_failure", "button", lambda i, u: failure_value(i["wf"], "41")),
    ("workflow_explain", "button", lambda i, u: str(i["wf"])),
    ("home_workflow_menu", "overflow", lambda i, u: f"delete:{i['wf']}"),
    ("home_workflow_menu", "overflow", lambda i, u: f"pause:{i['wf']}"),
    ("home_workflow_menu", "overflow", lambda i, u: f"runs:{i['wf']}"),
    (APPROVE_ACTION, "button", lambda i, u: review_value(i["review"], "c2")),
    (REJECT_ACTION, "button", lambda i, u: review_value(i["review"], "c2")),
]


@pytest.mark.parametrize(
    ("team", "user"),
    [(OTHER_TEAM, OWNER), (TEAM, "U3")],
    ids=["same-user-id-other-workspace", "workspace-member-outside-the-project"],
)
@pytest.mark.parametrize(
    ("action_id", "kind", "value"),
    CLICKS,
    ids=[f"{n:02d}-{a}" for n, (a, _, _) in enumerate(CLICKS)],
)
def test_a_forged_click_changes_nothing_and_shows_nothing_of_another_project(
    bot: SlackSender,
    slack: FakeSlack,
    session_factory: sessionmaker[Session],
    team: str,
    user: str,
    action_id: str,
    kind: str,
    value: Any,
) -> None:
    ids = _victim(session_factory)
    before = _state(session_factory, ids)
    forged = value(ids, user)
    action: dict[str, Any] = {"action_id": action_id, "type": kind}
    if kind in ("static_select", "overflow"):
        action["selected_option"] = {
            "value": forged,
            "text": {"type": "plain_text", "text": "x"},
        }
    else:
        action["value"] = forged
    container = {"type": "view", "view_id": "V1"} if action_id.startswith("home_") else None
    response = (
        bot.home_action(action, user=user, team=team)
        if container
        else bot.action(action, user=user, team=team)
    )
    assert response.status_code == 200
    bot.settle()
    seen = slack.all_text()
    for leaked in LEAKS:
        assert leaked not in seen, f"{action_id} showed {leaked!r} to {user} of {team}"
    assert _state(session_factory, ids) == before
    # Answered: an ephemeral reply, a modal, or App Home redrawn for the attacker's own data —
    # except a click in App Home from another workspace, which has nowhere to answer.
    if not (team == OTHER_TEAM and container):
        assert slack.calls, f"{action_id}: the click was not answered"
    if team == OTHER_TEAM and not container:
        assert "serves the Slack workspace it is installed in" in seen
