"""The LLM-output guards on the deploy path (`deploy_version`, which every path ends in: generate,
repair, edit, rollback, watch-repair, `clixen deploy`), against the real Postgres and n8n."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.deploy import ValidationFailed, create_workflow_record, deploy_version
from core.kernel.models import Workflow
from core.kernel.settings import get_settings
from core.n8n import N8nClient
from core.workspace.policy import set_project_policy
from core.workspace.projects import Actor
from tests.builders import delete_deployed, new_project, versions
from tests.conftest import N8nStack
from tests.workflows import labelled_schedule

OWNER = Actor("T-guards", "U-owner")


@pytest.fixture
def client(n8n: N8nStack, session_factory: sessionmaker[Session]) -> Iterator[N8nClient]:
    with N8nClient(n8n.url, n8n.api_key) as c:
        yield c
        delete_deployed(session_factory, c)


def new_workflow(factory: sessionmaker[Session], project_id: int, name: str) -> int:
    with factory.begin() as s:
        return create_workflow_record(
            session=s, project_id=project_id, name=name, created_by=OWNER.user_id
        ).id


def deploy(
    factory: sessionmaker[Session], n8n: N8nClient, workflow_id: int, payload: dict[str, Any]
) -> tuple[Any, list[str]]:
    said: list[str] = []
    version = deploy_version(
        session_factory=factory,
        n8n=n8n,
        workflow_id=workflow_id,
        json_payload=payload,
        source="generate",
        actor=OWNER,
        progress=said.append,
        settings=get_settings(),
    )
    return version, said


def n8n_id(factory: sessionmaker[Session], workflow_id: int) -> str | None:
    with factory() as s:
        wf = s.get(Workflow, workflow_id)
        assert wf is not None
        return wf.n8n_workflow_id


def with_node(wf: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`wf` with `extra` wired after its "Label" node."""
    wf["nodes"].append({"position": [440, 0], **extra})
    wf["connections"]["Label"] = {"main": [[{"node": extra["name"], "type": "main", "index": 0}]]}
    return wf


SHELL_INSIDE = {
    "nodes": [
        {
            "name": "Start",
            "type": "n8n-nodes-base.executeWorkflowTrigger",
            "typeVersion": 1.1,
            "position": [0, 0],
            "parameters": {"inputSource": "passthrough"},
        },
        {
            "name": "Shell",
            "type": "n8n-nodes-base.executeCommand",
            "typeVersion": 1,
            "position": [200, 0],
            "parameters": {"command": "cat /etc/passwd"},
        },
    ],
    "connections": {"Start": {"main": [[{"node": "Shell", "type": "main", "index": 0}]]}},
}


def test_an_inline_subworkflow_with_a_shell_node_never_reaches_n8n(
    session_factory: sessionmaker[Session], client: N8nClient
) -> None:
    pid = new_project(session_factory, team_id=OWNER.team_id, user_id=OWNER.user_id)
    wid = new_workflow(session_factory, pid, "sneaky helper")
    payload = with_node(
        labelled_schedule("x"),
        {
            "name": "Run helper",
            "type": "n8n-nodes-base.executeWorkflow",
            "typeVersion": 1.2,
            "parameters": {
                "source": "parameter",
                "workflowJson": json.dumps(SHELL_INSIDE),
                "options": {},
            },
        },
    )
    with pytest.raises(ValidationFailed) as err:
        deploy(session_factory, client, wid, payload)
    [issue] = err.value.report.errors
    assert (issue.code, issue.node) == ("node_denied", "Run helper")
    assert "Execute Command" in issue.message and "Shell" in issue.message
    assert versions(session_factory, wid) == [] and n8n_id(session_factory, wid) is None


def test_a_call_to_the_metadata_service_deploys_only_once_the_owner_allows_the_host(
    session_factory: sessionmaker[Session], client: N8nClient
) -> None:
    pid = new_project(session_factory, team_id=OWNER.team_id, user_id=OWNER.user_id)
    wid = new_workflow(session_factory, pid, "peek")
    payload = with_node(
        labelled_schedule("x"),
        {
            "name": "Peek",
            "type": "n8n-nodes-base.httpRequest",
            "typeVersion": 4.2,
            "parameters": {"url": "http://169.254.169.254/latest/meta-data/", "options": {}},
        },
    )
    with pytest.raises(ValidationFailed) as err:
        deploy(session_factory, client, wid, payload)
    [issue] = err.value.report.errors
    assert (issue.code, issue.node) == ("internal_host", "Peek")
    assert "169.254.169.254" in issue.message
    assert versions(session_factory, wid) == []

    with session_factory.begin() as s:
        set_project_policy(
            session=s,
            project_id=pid,
            actor_user_id=OWNER.user_id,
            allow_hosts=["169.254.169.254"],
        )
    version, _ = deploy(session_factory, client, wid, payload)
    assert version.status == "deployed"


def test_settings_from_the_llm_are_cut_to_what_the_product_means_to_set(
    session_factory: sessionmaker[Session], client: N8nClient
) -> None:
    mine = new_project(session_factory, team_id=OWNER.team_id, user_id=OWNER.user_id)
    theirs = new_project(
        session_factory, team_id=OWNER.team_id, user_id="U-other", name="someone else's"
    )
    helper = new_workflow(session_factory, mine, "error handler")
    deploy(session_factory, client, helper, labelled_schedule("helper"))
    foreign = new_workflow(session_factory, theirs, "their workflow")
    with session_factory.begin() as s:
        row = s.get(Workflow, foreign)
        assert row is not None
        row.n8n_workflow_id = "their-n8n-id"
    helper_n8n = n8n_id(session_factory, helper)
    assert helper_n8n

    wid = new_workflow(session_factory, mine, "digest")
    payload = labelled_schedule("digest")
    payload["settings"] = {
        "executionOrder": "v1",
        "availableInMCP": True,
        "callerPolicy": "any",
        "errorWorkflow": "their-n8n-id",
        "callerIds": f"{helper_n8n}, their-n8n-id,made-up",
    }
    version, said = deploy(session_factory, client, wid, payload)

    expected = {
        "executionOrder": "v1",
        "callerPolicy": "workflowsFromSameOwner",
        "callerIds": helper_n8n,
    }
    assert version.json_payload["settings"] == expected  # what is stored is the filtered one
    n8n_settings = client.get_workflow(str(n8n_id(session_factory, wid)))["settings"]
    assert {k: n8n_settings.get(k) for k in (*expected, "errorWorkflow", "availableInMCP")} == {
        **expected,
        "errorWorkflow": None,
        "availableInMCP": None,
    }
    notice = " ".join(said)
    for dropped in ("availableInMCP", "errorWorkflow", "their-n8n-id", "made-up", '"any"'):
        assert dropped in notice, notice

    # An error workflow of the same project is kept; a workflow may name itself too.
    payload["settings"] = {"executionOrder": "v1", "errorWorkflow": helper_n8n}
    version, said = deploy(session_factory, client, wid, payload)
    assert version.json_payload["settings"] == payload["settings"]
    assert not any("settings" in line for line in said)


def run_workflow(workflow_id: object, name: str = "Run helper") -> dict[str, Any]:
    return {
        "name": name,
        "type": "n8n-nodes-base.executeWorkflow",
        "typeVersion": 1.2,
        "parameters": {"workflowId": workflow_id, "options": {}},
    }


def test_a_workflow_may_call_only_workflows_of_its_own_project(
    session_factory: sessionmaker[Session], client: N8nClient
) -> None:
    mine = new_project(session_factory, team_id=OWNER.team_id, user_id=OWNER.user_id)
    theirs = new_project(
        session_factory, team_id=OWNER.team_id, user_id="U-other", name="someone else's"
    )
    helper = new_workflow(session_factory, mine, "helper")
    deploy(session_factory, client, helper, labelled_schedule("helper"))
    foreign = new_workflow(session_factory, theirs, "their payroll")
    deploy_version(
        session_factory=session_factory,
        n8n=client,
        workflow_id=foreign,
        json_payload=labelled_schedule("theirs"),
        source="generate",
        actor=Actor(OWNER.team_id, "U-other"),
        settings=get_settings(),
    )
    helper_n8n, foreign_n8n = n8n_id(session_factory, helper), n8n_id(session_factory, foreign)
    assert helper_n8n and foreign_n8n

    wid = new_workflow(session_factory, mine, "caller")
    for sneaky in (
        foreign_n8n,
        {"__rl": True, "mode": "id", "value": foreign_n8n},
        {"__rl": True, "mode": "url", "value": f"{client.base_url}/workflow/{foreign_n8n}"},
        {"__rl": True, "mode": "id", "value": "={{ $json.target }}"},
    ):
        with pytest.raises(ValidationFailed) as err:
            deploy(
                session_factory,
                client,
                wid,
                with_node(labelled_schedule("x"), run_workflow(sneaky)),
            )
        [issue] = [i for i in err.value.report.errors if i.node == "Run helper"]
        assert issue.code == "foreign_workflow", issue
        assert f'"helper" ({helper_n8n})' in issue.hint  # what it may call instead
        assert versions(session_factory, wid) == [] and n8n_id(session_factory, wid) is None

    ok = {"__rl": True, "mode": "list", "value": helper_n8n, "cachedResultName": "helper"}
    version, _ = deploy(
        session_factory, client, wid, with_node(labelled_schedule("x"), run_workflow(ok))
    )
    assert version.status == "deployed"

    # Its own workflow by URL: the id is read out of it, but n8n needs the id itself.
    by_url = {"__rl": True, "mode": "url", "value": f"{client.base_url}/workflow/{helper_n8n}"}
    with pytest.raises(ValidationFailed) as err:
        deploy(
            session_factory, client, wid, with_node(labelled_schedule("x"), run_workflow(by_url))
        )
    [issue] = [i for i in err.value.report.errors if i.node == "Run helper"]
    assert issue.code == "invalid_parameter_value" and helper_n8n in issue.hint

    # A deleted workflow of the project may no longer be called.
    with session_factory.begin() as s:
        row = s.get(Workflow, helper)
        assert row is not None
        row.status = "deleted"
    with pytest.raises(ValidationFailed):
        deploy(
            session_factory,
            client,
            wid,
            with_node(labelled_schedule("y"), run_workflow(helper_n8n)),
        )


@pytest.mark.parametrize(
    ("type_", "version", "params"),
    [
        ("n8n-nodes-base.rssFeedRead", 1.2, {"url": "http://169.254.169.254/latest/"}),
        ("n8n-nodes-base.graphql", 1.1, {"endpoint": "http://127.0.0.1:5678/", "query": "{ a }"}),
        (
            "n8n-nodes-base.httpRequest",
            4.2,
            {
                "url": "https://example.com/items",
                "options": {
                    "pagination": {
                        "pagination": {
                            "paginationMode": "responseContainsNextURL",
                            "nextURL": "http://10.0.0.8/next",
                        }
                    }
                },
            },
        ),
        (
            "n8n-nodes-base.httpRequest",
            4.2,
            {"url": "https://example.com/", "options": {"proxy": "http://localhost:3128"}},
        ),
    ],
    ids=["rss", "graphql", "http-next-url", "http-proxy"],
)
def test_a_feed_or_endpoint_on_an_internal_host_never_reaches_n8n(
    session_factory: sessionmaker[Session],
    client: N8nClient,
    type_: str,
    version: float,
    params: dict[str, Any],
) -> None:
    pid = new_project(session_factory, team_id=OWNER.team_id, user_id=OWNER.user_id)
    wid = new_workflow(session_factory, pid, "peek elsewhere")
    payload = with_node(
        labelled_schedule("x"),
        {"name": "Peek", "type": type_, "typeVersion": version, "parameters": params},
    )
    with pytest.raises(ValidationFailed) as err:
        deploy(session_factory, client, wid, payload)
    assert ("internal_host", "Peek") in [(i.code, i.node) for i in err.value.report.errors]
    assert versions(session_factory, wid) == [] and n8n_id(session_factory, wid) is None


SHARED_BY_EVERY_PROJECT = [
    {
        "name": "Every table",
        "type": "n8n-nodes-base.dataTable",
        "typeVersion": 1.1,
        "parameters": {"operation": "get", "dataTableId": {"mode": "id", "value": "other-team"}},
    },
    {
        "name": "Shared vectors",
        "type": "@n8n/n8n-nodes-langchain.vectorStoreInMemory",
        "typeVersion": 1.3,
        "parameters": {
            "mode": "load",
            "prompt": "salaries",
            "memoryKey": {"mode": "list", "value": "vector_store_key"},
        },
    },
    {
        "name": "Crash n8n",
        "type": "n8n-nodes-base.debugHelper",
        "typeVersion": 1,
        "parameters": {"category": "oom", "memorySizeValue": 100000},
    },
]


@pytest.mark.parametrize("node", SHARED_BY_EVERY_PROJECT, ids=lambda n: str(n["type"]))
def test_nodes_reaching_what_every_project_shares_deploy_only_once_an_owner_allows_them(
    session_factory: sessionmaker[Session], client: N8nClient, node: dict[str, Any]
) -> None:
    from core.validation import validate
    from core.workspace.policy import policy_for_project

    pid = new_project(session_factory, team_id=OWNER.team_id, user_id=OWNER.user_id)
    wid = new_workflow(session_factory, pid, "shared")
    payload = with_node(labelled_schedule("x"), dict(node))
    with pytest.raises(ValidationFailed) as err:
        deploy(session_factory, client, wid, payload)
    denied = [i for i in err.value.report.errors if i.code == "node_denied"]
    assert [i.node for i in denied] == [node["name"]]
    assert "every project" in denied[0].message
    assert versions(session_factory, wid) == [] and n8n_id(session_factory, wid) is None

    with session_factory.begin() as s:
        set_project_policy(
            session=s, project_id=pid, actor_user_id=OWNER.user_id, allow=[node["type"]]
        )
        policy = policy_for_project(session=s, project_id=pid)
    report = validate(payload, policy=policy)
    assert not [i for i in report.errors if i.code == "node_denied"]


def test_the_tool_variant_of_the_data_table_node_is_denied_too() -> None:
    from core.workspace.policy import NodePolicy

    policy = NodePolicy.default()
    assert policy.denied_as("n8n-nodes-base.dataTableTool") == "n8n-nodes-base.dataTable"
    assert policy.is_denied("dataTable") and policy.is_denied("DEBUGHELPER")


def test_the_test_copy_prefix_is_reserved_at_the_deploy_gate(
    session_factory: sessionmaker[Session], client: N8nClient
) -> None:
    """Only test copies carry "[clixen test] " in n8n: a workflow the LLM or a user names so is
    renamed, and one stored with it before (the gate names it in n8n) is deployed without it."""
    pid = new_project(session_factory, team_id=OWNER.team_id, user_id=OWNER.user_id)
    wid = new_workflow(session_factory, pid, "  [Clixen Test]  [clixen test] Payroll sync")
    legacy = new_workflow(session_factory, pid, "placeholder")
    with session_factory.begin() as s:
        assert s.get(Workflow, wid).name == "Payroll sync"  # type: ignore[union-attr]
        s.get(Workflow, legacy).name = "[clixen test] Old report"  # type: ignore[union-attr]
    payload = labelled_schedule("x", name="[clixen test] LLM's own name")
    deploy(session_factory, client, wid, payload)
    version, _ = deploy(session_factory, client, legacy, payload)
    assert version.json_payload["name"] == "Old report"
    for workflow_id, name in ((wid, "Payroll sync"), (legacy, "Old report")):
        n8n_wf = client.get_workflow(str(n8n_id(session_factory, workflow_id)))
        assert n8n_wf["name"] == name
