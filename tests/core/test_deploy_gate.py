"""The deploy gate validates a workflow once on its way to n8n: a clean `inspect` of the very
same bytes under the very same policy is not repeated; any change of either is validated again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.catalog import default_catalog
from core.deploy import ValidationFailed, deploy_version, gate
from core.kernel.models import Workflow
from core.kernel.settings import get_settings
from core.kernel.vocabulary import VersionSource
from core.n8n import N8nClient
from core.workspace.policy import set_project_policy
from tests.builders import delete_deployed
from tests.conftest import N8nStack
from tests.core.test_deploy import OWNER, new_workflow
from tests.workflows import labelled_schedule


@pytest.fixture
def client(n8n: N8nStack, session_factory: sessionmaker[Session]) -> Iterator[N8nClient]:
    with N8nClient(n8n.url, n8n.api_key) as c:
        yield c
        delete_deployed(session_factory, c)


def _inspect(
    factory: sessionmaker[Session], project_id: int, wf: dict[str, Any]
) -> gate.Inspection:
    _, payload = gate.parse(wf)
    with factory() as session:
        return gate.inspect(
            session=session,
            project_id=project_id,
            payload=payload,
            say=lambda _: None,
            catalog=default_catalog(),
        )


def _project_of(factory: sessionmaker[Session], workflow_id: int) -> int:
    with factory() as session:
        wf = session.get(Workflow, workflow_id)
        assert wf is not None
        return wf.project_id


def test_a_checked_workflow_is_not_validated_again(
    session_factory: sessionmaker[Session], client: N8nClient
) -> None:
    workflow_id = new_workflow(session_factory)
    wf = labelled_schedule("checked once")
    inspection = _inspect(session_factory, _project_of(session_factory, workflow_id), wf)
    assert inspection.report.valid
    lines: list[str] = []
    version = deploy_version(
        session_factory=session_factory,
        n8n=client,
        workflow_id=workflow_id,
        json_payload=wf,
        source=VersionSource.imported,
        actor=OWNER,
        progress=lines.append,
        checked=inspection.digest,
        settings=get_settings(),
    )
    assert version.version == 1
    assert "validating" not in lines, lines
    # Without the digest, the same deploy path validates.
    again: list[str] = []
    deploy_version(
        session_factory=session_factory,
        n8n=client,
        workflow_id=workflow_id,
        json_payload=wf,
        source=VersionSource.imported,
        actor=OWNER,
        progress=again.append,
        settings=get_settings(),
    )
    assert "validating" in again


def test_a_policy_changed_since_the_check_is_applied(
    session_factory: sessionmaker[Session], client: N8nClient
) -> None:
    workflow_id = new_workflow(session_factory)
    project_id = _project_of(session_factory, workflow_id)
    wf = labelled_schedule("policy moved")
    inspection = _inspect(session_factory, project_id, wf)
    assert inspection.report.valid
    with session_factory.begin() as session:  # an owner denies a node the workflow uses
        set_project_policy(
            session=session,
            project_id=project_id,
            actor_user_id=OWNER.user_id,
            deny=["n8n-nodes-base.scheduleTrigger"],
        )
    with pytest.raises(ValidationFailed):
        deploy_version(
            session_factory=session_factory,
            n8n=client,
            workflow_id=workflow_id,
            json_payload=wf,
            source=VersionSource.imported,
            actor=OWNER,
            checked=inspection.digest,
            settings=get_settings(),
        )


def test_a_digest_of_other_bytes_does_not_let_a_workflow_through(
    session_factory: sessionmaker[Session], client: N8nClient
) -> None:
    workflow_id = new_workflow(session_factory)
    project_id = _project_of(session_factory, workflow_id)
    good = _inspect(session_factory, project_id, labelled_schedule("good"))
    bad = labelled_schedule("bad")
    bad["nodes"][0]["type"] = "n8n-nodes-base.executeCommand"  # denied by default
    with pytest.raises(ValidationFailed):
        deploy_version(
            session_factory=session_factory,
            n8n=client,
            workflow_id=workflow_id,
            json_payload=bad,
            source=VersionSource.imported,
            actor=OWNER,
            checked=good.digest,
            settings=get_settings(),
        )
