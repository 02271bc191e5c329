"""Deploy, versions and rollback against the real Postgres and the real n8n."""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.deploy import (
    DeployFailed,
    ValidationFailed,
    create_workflow_record,
    deactivate_workflow,
    delete_workflow,
    deploy_version,
    rollback_to,
)
from core.deploy.workflows import list_versions
from core.kernel.errors import InvalidInput, PermissionDenied
from core.kernel.models import Project, QuotaUsage, TelemetryEvent, Workflow, WorkflowVersion
from core.kernel.settings import get_settings
from core.kernel.vocabulary import Role
from core.n8n import N8nClient, N8nNotFound
from core.workspace.projects import Actor, add_member, create_project
from core.workspace.quotas import QuotaExceeded
from tests.builders import delete_deployed
from tests.conftest import N8nStack
from tests.doubles.slack_api import FakeSlack
from tests.workflows import label_of, labelled_schedule, webhook_workflow

OWNER = Actor("T1", "U-owner")


def deploy(
    factory: sessionmaker[Session],
    n8n: N8nClient,
    workflow_id: int,
    payload: dict[str, Any],
    source: str,
    **kwargs: Any,
) -> WorkflowVersion:
    """`deploy_version` of `payload`, as OWNER unless `actor=` names someone else."""
    return deploy_version(
        session_factory=factory,
        n8n=n8n,
        workflow_id=workflow_id,
        json_payload=payload,
        source=source,
        **{"actor": OWNER, "settings": get_settings(), **kwargs},
    )


def get_hook(path: str) -> dict[str, Any]:
    """A GET webhook at `path` → an empty Set node."""
    return webhook_workflow(
        path,
        {"name": "Set", "type": "n8n-nodes-base.set", "typeVersion": 3.4, "parameters": {}},
        method="GET",
    )


@pytest.fixture
def client(n8n: N8nStack, session_factory: sessionmaker[Session]) -> Iterator[N8nClient]:
    """The real n8n; every n8n workflow the test's records point at is deleted afterwards."""
    with N8nClient(n8n.url, n8n.api_key) as c:
        yield c
        delete_deployed(session_factory, c)


def new_workflow(factory: sessionmaker[Session], name: str = "news digest") -> int:
    with factory.begin() as s:
        project = s.scalar(select(Project).where(Project.team_id == OWNER.team_id))
        if project is None:
            project = create_project(
                session=s, team_id=OWNER.team_id, name="main", creator_user_id=OWNER.user_id
            )
        return create_workflow_record(
            session=s, project_id=project.id, name=name, created_by=OWNER.user_id
        ).id


def deploys_used(factory: sessionmaker[Session], actor: Actor = OWNER) -> int:
    with factory() as s:
        used = s.scalar(
            select(func.sum(QuotaUsage.deploys_used)).where(
                QuotaUsage.team_id == actor.team_id, QuotaUsage.user_id == actor.user_id
            )
        )
        return int(used or 0)


def events(factory: sessionmaker[Session], type_: str) -> int:
    with factory() as s:
        n = s.scalar(select(func.count()).where(TelemetryEvent.type == type_))
        return int(n or 0)


def test_deploy_update_and_rollback_keep_one_n8n_workflow_and_linear_history(
    session_factory: sessionmaker[Session], client: N8nClient
) -> None:
    wid = new_workflow(session_factory)
    v1 = deploy(session_factory, client, wid, labelled_schedule("first"), "generate", prompt="p1")
    with session_factory() as s:
        wf = s.get(Workflow, wid)
        assert wf is not None and wf.n8n_workflow_id and wf.status == "active"
        n8n_id = wf.n8n_workflow_id
    assert v1.version == 1 and v1.status == "deployed" and v1.deployed_at is not None
    assert client.get_workflow(n8n_id)["active"] is True
    assert label_of(client.get_workflow(n8n_id)) == "first"

    v2 = deploy(session_factory, client, wid, labelled_schedule("second"), "edit")
    assert v2.version == 2
    with session_factory() as s:
        wf = s.get(Workflow, wid)
        assert wf is not None and wf.n8n_workflow_id == n8n_id and wf.head_version == 2
    assert label_of(client.get_workflow(n8n_id)) == "second"

    v3 = rollback_to(
        session_factory=session_factory,
        n8n=client,
        workflow_id=wid,
        version=1,
        actor=OWNER,
        settings=get_settings(),
    )
    assert (v3.version, v3.source, v3.rolled_back_from) == (3, "rollback", 1)
    assert v3.checksum == v1.checksum and v3.json_payload == v1.json_payload
    back = client.get_workflow(n8n_id)
    assert back["active"] is True and label_of(client.get_workflow(n8n_id)) == "first"
    with session_factory() as s:
        history = [
            (v.version, v.status, v.source) for v in list_versions(session=s, workflow_id=wid)
        ]
    assert history == [
        (1, "superseded", "generate"),
        (2, "superseded", "edit"),
        (3, "deployed", "rollback"),
    ]
    # Rollbacks are recovery: they do not use the daily deploy quota.
    assert deploys_used(session_factory) == 2
    assert events(session_factory, "workflow_created") == 1
    assert events(session_factory, "deployed") == 2
    assert events(session_factory, "rolled_back") == 1

    with pytest.raises(InvalidInput, match="already the running version"):
        rollback_to(
            session_factory=session_factory,
            n8n=client,
            workflow_id=wid,
            version=3,
            actor=OWNER,
            settings=get_settings(),
        )


def test_repeated_rollback_click_creates_one_version(
    session_factory: sessionmaker[Session], client: N8nClient
) -> None:
    wid = new_workflow(session_factory)
    for label in ("one", "two"):
        deploy(session_factory, client, wid, labelled_schedule(label), "generate")
    key = f"slack-action-{uuid.uuid4()}"
    results = []
    threads = [
        threading.Thread(
            target=lambda: results.append(
                rollback_to(
                    session_factory=session_factory,
                    n8n=client,
                    workflow_id=wid,
                    version=1,
                    actor=OWNER,
                    idempotency_key=key,
                    settings=get_settings(),
                ).version
            )
        )
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [3, 3, 3]
    with session_factory() as s:
        assert [v.version for v in list_versions(session=s, workflow_id=wid)] == [1, 2, 3]


def test_unreachable_n8n_keeps_the_failed_version_and_refunds_quota(
    session_factory: sessionmaker[Session], client: N8nClient, n8n: N8nStack
) -> None:
    wid = new_workflow(session_factory)
    down = N8nClient("http://127.0.0.1:9", n8n.api_key, max_retries=0)
    with down, pytest.raises(DeployFailed) as err:
        deploy(session_factory, down, wid, labelled_schedule("lost?"), "generate")
    assert err.value.version == 1 and "cannot reach n8n" in err.value.n8n_message
    with session_factory() as s:
        (v1,) = list_versions(session=s, workflow_id=wid)
        assert v1.status == "failed" and v1.error and "cannot reach n8n" in v1.error
        assert v1.json_payload["nodes"][1]["name"] == "Label"  # nothing lost
        wf = s.get(Workflow, wid)
        assert wf is not None and wf.status == "failed" and wf.head_version == 0
    assert deploys_used(session_factory) == 0
    assert events(session_factory, "error") == 1

    # Once n8n is back the next attempt deploys as v2.
    v2 = deploy(session_factory, client, wid, labelled_schedule("back"), "repair")
    assert v2.version == 2 and v2.status == "deployed"
    assert deploys_used(session_factory) == 1


def test_n8n_rejection_is_reported_and_the_running_version_survives(
    session_factory: sessionmaker[Session], client: N8nClient
) -> None:
    path = f"clixen-test-{uuid.uuid4().hex[:8]}"
    holder = new_workflow(session_factory, "holds the path")
    deploy(session_factory, client, holder, get_hook(path), "import")
    # n8n 2.x registers a published webhook asynchronously; the clash is only certain once the
    # first workflow's webhook answers.
    assert client.call_webhook(path, method="GET", wait_registered_s=20).status_code == 200
    # Passes our validation; n8n refuses to activate a second webhook on the same path.
    wid = new_workflow(session_factory, "clashes")
    with pytest.raises(DeployFailed) as err:
        deploy(session_factory, client, wid, get_hook(path), "generate")
    assert "conflict" in err.value.n8n_message.lower()
    used_after_first_failure = deploys_used(session_factory)

    good = deploy(session_factory, client, wid, get_hook(path + "-own"), "repair")
    assert good.version == 2
    with pytest.raises(DeployFailed):
        deploy(session_factory, client, wid, get_hook(path), "edit")
    with session_factory() as s:
        statuses = [(v.version, v.status) for v in list_versions(session=s, workflow_id=wid)]
        wf = s.get(Workflow, wid)
        assert wf is not None and wf.head_version == 2 and wf.status == "active"
        n8n_id = str(wf.n8n_workflow_id)
    assert statuses == [(1, "failed"), (2, "deployed"), (3, "failed")]
    live = client.get_workflow(n8n_id)
    assert live["active"] is True
    assert live["nodes"][0]["parameters"]["path"] == path + "-own"
    assert deploys_used(session_factory) == used_after_first_failure + 1


def test_concurrent_deploys_get_distinct_versions(
    session_factory: sessionmaker[Session], client: N8nClient
) -> None:
    name = f"concurrent {uuid.uuid4().hex[:8]}"
    wid = new_workflow(session_factory, name)
    versions: list[int] = []
    errors: list[BaseException] = []

    def deploy_labelled(label: str) -> None:
        try:
            v = deploy(session_factory, client, wid, labelled_schedule(label), "edit")
            versions.append(v.version)
        except BaseException as e:  # surfaced by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=deploy_labelled, args=(f"c{i}",)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(versions) == [1, 2, 3, 4, 5]
    with session_factory() as s:
        wf = s.get(Workflow, wid)
        assert wf is not None and wf.head_version == 5
        head = s.scalar(
            select(WorkflowVersion).where(
                WorkflowVersion.workflow_id == wid, WorkflowVersion.version == 5
            )
        )
        assert head is not None
        head_label = label_of(head.json_payload)
        n8n_ids = s.scalars(select(Workflow.n8n_workflow_id)).all()
    # One n8n workflow, holding the head version's JSON.
    assert len(n8n_ids) == 1
    in_n8n, cursor = [], None
    while True:
        page = client.list_workflows(limit=250, cursor=cursor)
        in_n8n += [w["id"] for w in page["data"] if w["name"] == name]
        cursor = page.get("nextCursor")
        if not cursor:
            break
    assert in_n8n == [n8n_ids[0]]
    assert label_of(client.get_workflow(str(wf.n8n_workflow_id))) == head_label


def test_viewers_and_other_workspaces_cannot_deploy_or_roll_back(
    session_factory: sessionmaker[Session], client: N8nClient
) -> None:
    wid = new_workflow(session_factory)
    deploy(session_factory, client, wid, labelled_schedule("v1"), "generate")
    deploy(session_factory, client, wid, labelled_schedule("v2"), "edit")
    with session_factory.begin() as s:
        wf = s.get(Workflow, wid)
        assert wf is not None
        add_member(
            session=s,
            project_id=wf.project_id,
            actor_user_id=OWNER.user_id,
            user_id="U-viewer",
            role=Role.viewer,
        )
    for actor in (Actor("T1", "U-viewer"), Actor("T-other", OWNER.user_id)):
        with pytest.raises(PermissionDenied):
            deploy(session_factory, client, wid, labelled_schedule("sneaky"), "edit", actor=actor)
        with pytest.raises(PermissionDenied):
            rollback_to(
                session_factory=session_factory,
                n8n=client,
                workflow_id=wid,
                version=1,
                actor=actor,
                settings=get_settings(),
            )
        with pytest.raises(PermissionDenied):
            delete_workflow(
                session_factory=session_factory, n8n=client, workflow_id=wid, actor=actor
            )
    with session_factory() as s:
        assert len(list_versions(session=s, workflow_id=wid)) == 2


def test_validation_gate_and_quota_stop_a_deploy_before_anything_is_stored(
    session_factory: sessionmaker[Session], client: N8nClient
) -> None:
    wid = new_workflow(session_factory)
    broken = labelled_schedule("x")
    broken["nodes"][1]["type"] = "n8n-nodes-base.doesNotExist"
    denied = copy.deepcopy(labelled_schedule("x"))
    denied["nodes"][1] = {
        "name": "Label",
        "type": "n8n-nodes-base.executeCommand",
        "typeVersion": 1,
        "position": [220, 0],
        "parameters": {"command": "id"},
    }
    for payload in (broken, denied):
        with pytest.raises(ValidationFailed) as err:
            deploy(session_factory, client, wid, payload, "generate")
        assert err.value.report.errors
    with session_factory.begin() as s:
        wf = s.get(Workflow, wid)
        assert wf is not None
        project = s.get(Project, wf.project_id)
        assert project is not None
        project.daily_deploy_limit = 1
    deploy(session_factory, client, wid, labelled_schedule("ok"), "generate")
    with pytest.raises(QuotaExceeded):
        deploy(session_factory, client, wid, labelled_schedule("over"), "edit")
    with session_factory() as s:
        assert [v.version for v in list_versions(session=s, workflow_id=wid)] == [1]


def test_deactivate_then_delete_removes_it_from_n8n(
    session_factory: sessionmaker[Session], client: N8nClient
) -> None:
    wid = new_workflow(session_factory)
    deploy(session_factory, client, wid, labelled_schedule("bye"), "generate")
    with session_factory() as s:
        wf = s.get(Workflow, wid)
        assert wf is not None
        n8n_id = str(wf.n8n_workflow_id)
    assert (
        deactivate_workflow(
            session_factory=session_factory, n8n=client, workflow_id=wid, actor=OWNER
        ).status
        == "inactive"
    )
    assert client.get_workflow(n8n_id)["active"] is False
    assert (
        delete_workflow(
            session_factory=session_factory, n8n=client, workflow_id=wid, actor=OWNER
        ).status
        == "deleted"
    )
    with pytest.raises(N8nNotFound):
        client.get_workflow(n8n_id)
    with session_factory() as s:
        assert len(list_versions(session=s, workflow_id=wid)) == 1  # history kept


def test_a_version_left_pending_by_a_crash_is_closed_by_the_next_deploy(
    session_factory: sessionmaker[Session], client: N8nClient
) -> None:
    wid = new_workflow(session_factory)
    with session_factory.begin() as s:
        # What a process killed between storing v1 and hearing back from n8n leaves behind.
        s.add(
            WorkflowVersion(
                workflow_id=wid,
                version=1,
                json_payload=labelled_schedule("crashed"),
                checksum="x",
                source="generate",
                status="pending",
                created_by=OWNER.user_id,
            )
        )
    v2 = deploy(session_factory, client, wid, labelled_schedule("after"), "generate")
    assert v2.version == 2
    with session_factory() as s:
        v1 = list_versions(session=s, workflow_id=wid)[0]
    assert v1.status == "failed" and v1.error and "Interrupted" in v1.error


def test_a_server_answering_nonsense_fails_the_deploy_cleanly(
    session_factory: sessionmaker[Session], slack: FakeSlack, n8n: N8nStack
) -> None:
    wid = new_workflow(session_factory)
    # Something that is not n8n answers 200 with unrelated JSON (a wrong N8N_URL).
    wrong = N8nClient(slack.url, n8n.api_key, max_retries=0)
    with wrong, pytest.raises(DeployFailed, match="without a workflow id"):
        deploy(session_factory, wrong, wid, labelled_schedule("x"), "generate")
    with session_factory() as s:
        assert [v.status for v in list_versions(session=s, workflow_id=wid)] == ["failed"]
    assert deploys_used(session_factory) == 0


def test_a_deploy_built_from_an_older_head_is_refused_as_a_conflict(
    session_factory: sessionmaker[Session], client: N8nClient
) -> None:
    """`expected_head`: a candidate built from v2 must not silently undo the rollback (v3) that
    happened while it was made; nothing is stored, sent or charged."""
    from core.deploy import HeadMoved

    wid = new_workflow(session_factory)
    deploy(session_factory, client, wid, labelled_schedule("first"), "generate")
    deploy(session_factory, client, wid, labelled_schedule("second"), "edit")
    rollback_to(
        session_factory=session_factory,
        n8n=client,
        workflow_id=wid,
        version=1,
        actor=OWNER,
        settings=get_settings(),
    )
    used = deploys_used(session_factory)

    with pytest.raises(HeadMoved) as err:
        deploy(session_factory, client, wid, labelled_schedule("fix"), "repair", expected_head=2)

    assert (err.value.expected, err.value.head, err.value.rolled_back_from) == (2, 3, 1)
    assert err.value.head_source == "rollback"
    assert "v3 (a rollback to v1)" in str(err.value)
    with session_factory() as s:
        assert [v.version for v in list_versions(session=s, workflow_id=wid)] == [1, 2, 3]
        wf = s.get(Workflow, wid)
        assert wf is not None and wf.n8n_workflow_id
    assert label_of(client.get_workflow(wf.n8n_workflow_id)) == "first"
    assert deploys_used(session_factory) == used
    # Built from the head it is, it deploys.
    v4 = deploy(session_factory, client, wid, labelled_schedule("fix"), "repair", expected_head=3)
    assert v4.version == 4


def test_oversized_workflows_are_refused_at_the_gate_every_path_shares(
    session_factory: sessionmaker[Session], client: N8nClient
) -> None:
    """The size guards hold for any deploy (generated, edited, imported): too many nodes or an
    over-long string never reach the database or n8n, and pinned data is never stored."""
    wid = new_workflow(session_factory)
    many = labelled_schedule("many")
    many["nodes"] += [
        {**copy.deepcopy(many["nodes"][1]), "id": f"x{i}", "name": f"Extra {i}"} for i in range(101)
    ]
    long_string = labelled_schedule("long")
    long_string["nodes"][1]["notes"] = "x" * 60_000
    for payload, words in ((many, "nodes; the cap is 100"), (long_string, "characters")):
        with pytest.raises(InvalidInput, match=words):
            deploy(session_factory, client, wid, payload, "import")
    with session_factory() as s:
        assert list_versions(session=s, workflow_id=wid) == []
    pinned = labelled_schedule("pinned")
    pinned["pinData"] = {"Label": [{"json": {"secret": "pinned"}}]}
    version = deploy(session_factory, client, wid, pinned, "import")
    assert "pinData" not in version.json_payload
