"""Credentials have one home (issue 27, item 1): `core.credentials.resolve` is the one decision
of which secret a node gets, the gate binds before it takes the validation digest (so a workflow
the pipeline bound is validated once on its way to n8n), and only `core.credentials` writes
`Secret` rows."""

from __future__ import annotations

import ast
import copy
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.catalog import default_catalog
from core.credentials import secrets as project_secrets
from core.deploy import gate
from core.kernel.errors import InvalidInput
from tests.builders import new_project
from tests.core.test_credentials import rss_to_slack

REPO = Path(__file__).resolve().parents[2]
TEAM, USER = "T1", "U1"
KEY = "k3y-for-resolve-tests-1234"


def test_resolve_binds_the_only_secret_the_chosen_one_and_says_what_is_missing() -> None:
    from core.credentials.resolve import resolve

    wf = rss_to_slack()  # its Slack node names no credential
    catalog = default_catalog()
    only = resolve(wf, {"SLACK_TOKEN": "slackApi", "OTHER": "githubApi"}, catalog)
    assert only.bound == {"Post to Slack": "SLACK_TOKEN"} and only.missing == []
    [node] = [n for n in only.workflow["nodes"] if n["name"] == "Post to Slack"]
    assert node["credentials"] == {"slackApi": {"name": "SLACK_TOKEN"}}
    assert "credentials" not in next(n for n in wf["nodes"] if n["name"] == "Post to Slack")
    two = {"SLACK_A": "slackApi", "SLACK_B": "slackApi"}
    several = resolve(wf, two, catalog)
    assert several.bound == {} and [m.node for m in several.missing] == ["Post to Slack"]
    chosen = resolve(wf, two, catalog, chosen={"Post to Slack": "SLACK_B"})
    assert chosen.bound == {"Post to Slack": "SLACK_B"}
    asked = resolve(wf, {"SLACK_TOKEN": "slackApi"}, catalog, ask=["Post to Slack"])
    assert asked.bound == {} and asked.missing
    # The bot's token is never "the only secret"; chosen, it is for Slack nodes only.
    assert resolve(wf, {"CLIXEN_BOT": "slackApi"}, catalog).missing
    with pytest.raises(InvalidInput, match="not a slackApi"):
        resolve(wf, {"GH": "githubApi"}, catalog, chosen={"Post to Slack": "GH"})


def test_a_workflow_bound_by_the_pipeline_is_not_validated_again_at_deploy(
    session_factory: sessionmaker[Session],
) -> None:
    project_id = new_project(session_factory, team_id=TEAM, user_id=USER)
    with session_factory.begin() as s:
        project_secrets.set_secret(
            session=s, project_id=project_id, name="SLACK_TOKEN", value="xoxb-1",
            actor_user_id=USER, key=KEY, credential_type="slackApi",
        )  # fmt: skip
    _, payload = gate.parse(rss_to_slack())
    with session_factory() as s:
        inspection = gate.inspect(session=s, project_id=project_id, payload=payload, say=print)
    assert inspection.report.valid
    # The pipeline binds the candidate (the project's only slackApi secret), then deploys it.
    bound = copy.deepcopy(payload)
    [slack] = [n for n in bound["nodes"] if n["name"] == "Post to Slack"]
    slack["credentials"] = {"slackApi": {"name": "SLACK_TOKEN"}}
    said: list[str] = []
    with session_factory() as s:
        checked, _ = gate.check(
            session=s, project_id=project_id, payload=bound, say=said.append,
            checked=inspection.digest,
        )  # fmt: skip
    assert "validating" not in said
    [node] = [n for n in checked["nodes"] if n["name"] == "Post to Slack"]
    assert node["credentials"] == {"slackApi": {"name": "SLACK_TOKEN"}}


# Modules that may name the Secret model outside core/credentials: the model itself, the OAuth
# app's decrypt carrier (never stored), and the connected accounts' listings (reads).
SECRET_READERS = {"core/kernel/models.py", "core/connect/apps.py", "core/connect/accounts.py"}


def test_only_core_credentials_writes_secret_rows() -> None:
    offenders = []
    for path in sorted((REPO / "core").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        if rel.startswith("core/credentials/") or rel in SECRET_READERS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module == "core.kernel.models"
                and any(a.name == "Secret" for a in node.names)
            ):
                offenders.append(rel)
    assert offenders == []
    # The readers only read: no Secret(...) row is added, no update/delete of the table.
    for rel in SECRET_READERS - {"core/kernel/models.py"}:
        text = (REPO / rel).read_text()
        assert "update(Secret)" not in text and "delete(Secret)" not in text, rel
        assert "session.add(secret" not in text.lower(), rel
