"""Forged Slack buttons that name another workspace's workflow are refused with nothing changed.

The same user id in another workspace (Slack user ids are only unique per workspace) must not
pass as the owner. Same-workspace forgeries for a project the user is not in are covered by
tests/bot/test_server.py::test_forged_rollback_for_another_project_is_refused_and_changes_nothing;
cross-project API access by tests/api/test_api.py and tests/e2e/test_serve.py.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.deploy import create_workflow_record
from core.kernel.models import PipelineRun, Project, Workflow, WorkflowVersion
from core.workspace.projects import create_project
from tests.bot.conftest import TEAM, SlackSender
from tests.doubles.slack_api import FakeSlack

OTHER_TEAM = "T0OTHER"


def _owned_by_u2_in_team(factory: sessionmaker[Session]) -> int:
    with factory.begin() as session:
        pid = create_project(session=session, team_id=TEAM, name="payroll", creator_user_id="U2").id
        wf = create_workflow_record(session=session, project_id=pid, name="pay", created_by="U2")
        for v in (1, 2):
            session.add(
                WorkflowVersion(
                    workflow_id=wf.id,
                    version=v,
                    json_payload={"nodes": []},
                    checksum=f"c{v}",
                    source="generate",
                    status="deployed" if v == 2 else "superseded",
                    created_by="U2",
                )
            )
        wf.head_version = 2
        return wf.id


def _state(factory: sessionmaker[Session], wf_id: int) -> tuple[int, list[tuple[int, str]]]:
    with factory() as session:
        wf = session.get(Workflow, wf_id)
        assert wf is not None
        versions = session.execute(
            select(WorkflowVersion.version, WorkflowVersion.status)
            .where(WorkflowVersion.workflow_id == wf_id)
            .order_by(WorkflowVersion.version)
        ).all()
        return wf.head_version, [(v, s) for v, s in versions]


@pytest.mark.parametrize(
    ("action_id", "kind", "value"),
    [
        ("rollback_confirm", "button", "{wf}:1"),
        ("rollback_select", "static_select", "{wf}:1"),
        ("workflow_rollback", "button", "{wf}"),
        ("workflow_versions", "button", "{wf}"),
    ],
)
def test_another_workspace_cannot_reach_a_workflow_by_forged_value(
    bot: SlackSender,
    slack: FakeSlack,
    session_factory: sessionmaker[Session],
    action_id: str,
    kind: str,
    value: str,
) -> None:
    wf_id = _owned_by_u2_in_team(session_factory)
    before = _state(session_factory, wf_id)
    action: dict[str, object] = {"action_id": action_id, "type": kind}
    if kind == "static_select":
        action["selected_option"] = {
            "value": value.format(wf=wf_id),
            "text": {"type": "plain_text", "text": "v1"},
        }
    else:
        action["value"] = value.format(wf=wf_id)
    # U2 owns the project in TEAM; "U2" of another workspace is someone else.
    response = bot.action(action, user="U2", team=OTHER_TEAM)
    assert response.status_code == 200
    reply = json.dumps(slack.wait_for("respond")[0].args, ensure_ascii=False)
    assert "serves the Slack workspace it is installed in" in reply
    for leaked in ("payroll", "pay", "v1", "v2"):
        assert f'"{leaked}"' not in reply and f"*{leaked}*" not in reply
    assert _state(session_factory, wf_id) == before == (2, [(1, "superseded"), (2, "deployed")])


def test_a_command_from_a_workspace_clixen_is_not_installed_in_is_refused_and_stores_nothing(
    bot: SlackSender, slack: FakeSlack, session_factory: sessionmaker[Session]
) -> None:
    """A signed request whose team is not the installation's (a user of another organisation
    in a Slack Connect channel, another install sharing the signing secret) gets no project,
    no run and no quota of this Clixen."""
    assert bot.command("create every morning post the news", team=OTHER_TEAM).status_code == 200
    assert bot.command("projects", team=OTHER_TEAM).status_code == 200
    bot.settle()
    replies = [json.dumps(c.args) for c in slack.named("respond")]
    assert len(replies) == 2
    assert all("serves the Slack workspace it is installed in" in r for r in replies)
    with session_factory() as session:
        assert session.scalars(select(Project.team_id)).all() == []
        assert session.scalars(select(PipelineRun.id)).all() == []
