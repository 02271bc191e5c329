"""A deleted workflow in Slack, as on the command line: `/clixen versions` still reads it and
`/clixen restore` is for project owners (core.deploy.restore_workflow)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from core.deploy import create_workflow_record
from core.kernel.models import ProjectMember, User, WorkflowVersion
from core.workspace.projects import create_project
from tests.bot.conftest import TEAM, SlackSender
from tests.doubles.slack_api import FakeSlack


def _texts(call: Any) -> str:
    return json.dumps(call.args, ensure_ascii=False)


def test_a_deleted_workflow_reads_in_slack_and_only_an_owner_restores_it(
    bot: SlackSender, slack: FakeSlack, session_factory: sessionmaker[Session]
) -> None:
    with session_factory.begin() as session:
        pid = create_project(session=session, team_id=TEAM, name="shared", creator_user_id="U2").id
        session.add(ProjectMember(project_id=pid, user_id="U1", role="editor"))
        session.add(User(team_id=TEAM, user_id="U1", last_project_id=pid))
        wf = create_workflow_record(session=session, project_id=pid, name="digest", created_by="U2")
        session.add(
            WorkflowVersion(workflow_id=wf.id, version=1, json_payload={"nodes": []},
                            checksum="c1", source="generate", status="deployed", created_by="U2")
        )  # fmt: skip
        wf.head_version, wf.status = 1, "deleted"
    bot.command("versions digest")
    reply = slack.wait_for("respond")[0]
    assert "There is no workflow" not in _texts(reply) and "v1" in _texts(reply)
    bot.command("restore digest")
    refused = slack.wait_for("respond", 2)[1]
    assert "editor" in _texts(refused) and "owner" in _texts(refused)
