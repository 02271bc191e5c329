"""Edits as operations through the real pipeline: real Postgres, real n8n, the scripted LLM.

A change request is answered with operations on the current workflow; the nodes, links and
credentials it does not name are kept exactly, a removal the user did not ask for is refused,
and the LLM is called no more often than the repair caps allow.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core import deploy
from core.credentials import secrets as project_secrets
from core.generation.prompts import MAX_WORKFLOW_CHARS
from core.kernel.models import Secret, Workflow
from core.kernel.settings import Settings
from core.kernel.vocabulary import RunState, VersionSource
from core.n8n import N8nClient
from core.pipeline import (
    MAX_VALIDATION_REPAIRS,
    PipelineServices,
    RunOutcome,
    execute_run,
    start_run,
)
from core.workspace.projects import Actor
from tests.builders import delete_deployed, new_project, pipeline_services, versions
from tests.doubles.llm_server import ScriptedLLM
from tests.workflows import answer, labelled_schedule

TEAM, USER = "T1", "U1"
KEY = "k3y-for-edit-tests-7c1d2e"
SLACK_VALUE = "xoxb-edit-tests-0000"
# Each code step carries this much code, so 24 of them make a workflow past the old 40,000 clip.
STEP_CODE = "// keep every item as it is\n" + "// " + "x" * 1_700 + "\nreturn $input.all();"


@pytest.fixture
def services(
    session_factory: sessionmaker[Session], n8n_client: N8nClient, llm: ScriptedLLM
) -> Iterator[PipelineServices]:
    settings = Settings(CLIXEN_SECRET_KEY=KEY)
    yield pipeline_services(session_factory, n8n_client, llm.url, settings=settings)
    delete_deployed(session_factory, n8n_client)
    with session_factory() as session:
        ids = [c for (c,) in session.query(Secret.n8n_credential_id) if c]
    for cid in ids:
        n8n_client.delete_credential(cid)


@pytest.fixture
def project_id(session_factory: sessionmaker[Session]) -> int:
    return new_project(session_factory, team_id=TEAM, user_id=USER)


def big_workflow() -> dict[str, Any]:
    """30 nodes in a line: a schedule, 24 code steps, 5 Slack posts bound to SLACK_TOKEN."""
    nodes: list[dict[str, Any]] = [
        {
            "id": "trigger",
            "name": "Every hour",
            "type": "n8n-nodes-base.scheduleTrigger",
            "typeVersion": 1.2,
            "position": [0, 0],
            "parameters": {"rule": {"interval": [{"field": "hours"}]}},
        }
    ]
    for i in range(1, 25):
        nodes.append(
            {
                "id": f"step-{i}",
                "name": f"Step {i:02d}",
                "type": "n8n-nodes-base.code",
                "typeVersion": 2,
                "position": [220 * i, 0],
                "parameters": {"jsCode": STEP_CODE},
            }
        )
    for i in range(1, 6):
        nodes.append(
            {
                "id": f"post-{i}",
                "name": f"Post {i}",
                "type": "n8n-nodes-base.slack",
                "typeVersion": 2.3,
                "position": [220 * (24 + i), 0],
                "parameters": {
                    "select": "channel",
                    "channelId": {"__rl": True, "value": f"C0000000{i}", "mode": "id"},
                    "text": "={{ $json.title }}",
                },
                "credentials": {"slackApi": {"name": "SLACK_TOKEN"}},
            }
        )
    names = [n["name"] for n in nodes]
    connections = {
        a: {"main": [[{"node": b, "type": "main", "index": 0}]]}
        for a, b in itertools.pairwise(names)
    }
    return {
        "name": "Thirty nodes",
        "nodes": nodes,
        "connections": connections,
        "settings": {"executionOrder": "v1"},
    }


FILTER = {
    "name": "Filter",
    "type": "n8n-nodes-base.filter",
    "typeVersion": 2.2,
    "parameters": {
        "conditions": {
            "options": {"caseSensitive": True, "leftValue": "", "typeValidation": "strict"},
            "conditions": [
                {
                    "id": "c1",
                    "leftValue": "={{ $json.title }}",
                    "rightValue": "AI",
                    "operator": {"type": "string", "operation": "contains"},
                }
            ],
            "combinator": "and",
        },
        "options": {},
    },
}


def add_filter_ops() -> dict[str, Any]:
    return {
        "operations": [
            {"op": "disconnect", "from": "Step 24", "to": "Post 1"},
            {"op": "add_node", "node": FILTER},
            {"op": "connect", "from": "Step 24", "to": "Filter"},
            {"op": "connect", "from": "Filter", "to": "Post 1"},
        ],
        "summary": "Only items about AI are posted now.",
    }


def deploy_v1(
    services: PipelineServices, project_id: int, workflow: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    """`workflow` deployed as v1 of a new workflow record (no LLM); its id and stored JSON."""
    with services.session_factory.begin() as session:
        record = deploy.create_workflow_record(
            session=session, project_id=project_id, name=workflow["name"], created_by=USER
        )
        workflow_id = record.id
    v1 = deploy.deploy_version(
        session_factory=services.session_factory,
        n8n=services.n8n,
        workflow_id=workflow_id,
        json_payload=workflow,
        source=VersionSource.imported,
        actor=Actor(TEAM, USER),
        settings=services.settings,
        expected_head=0,
    )
    return workflow_id, dict(v1.json_payload)


def edit(services: PipelineServices, project_id: int, workflow_id: int, text: str) -> RunOutcome:
    created, _ = start_run(
        services,
        team_id=TEAM,
        user_id=USER,
        project_id=project_id,
        request=text,
        kind="edit",
        workflow_id=workflow_id,
    )
    return execute_run(services, created.id)


def _canonical(node: dict[str, Any]) -> str:
    return json.dumps(node, sort_keys=True)


def test_adding_a_filter_to_a_30_node_workflow_keeps_the_other_29_nodes_byte_for_byte(
    services: PipelineServices,
    project_id: int,
    llm: ScriptedLLM,
    n8n_client: N8nClient,
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        project_secrets.set_secret(
            session=session,
            project_id=project_id,
            name="SLACK_TOKEN",
            value=SLACK_VALUE,
            key=KEY,
            actor_user_id=USER,
            credential_type="slackApi",
        )
    workflow_id, v1 = deploy_v1(services, project_id, big_workflow())
    assert len(v1["nodes"]) == 30 and len(json.dumps(v1)) > MAX_WORKFLOW_CHARS
    bound = v1["nodes"][-1]["credentials"]["slackApi"]
    assert bound["id"]  # the stored version carries the bound n8n credential

    llm.script(add_filter_ops())
    outcome = edit(services, project_id, workflow_id, "add a filter before Post 1: only AI news")

    assert outcome.ok, outcome.message
    assert len(llm.requests) == 1  # no repair needed
    _, v2 = versions(session_factory, workflow_id)
    assert (v2.version, v2.source) == (2, "edit")
    new_nodes = {n["name"]: n for n in v2.json_payload["nodes"]}
    assert len(new_nodes) == 31
    for node in v1["nodes"]:  # every old node, credentials included, exactly as it was
        assert _canonical(new_nodes[node["name"]]) == _canonical(node)
    conns = v2.json_payload["connections"]
    assert conns["Step 24"]["main"] == [[{"node": "Filter", "type": "main", "index": 0}]]
    assert conns["Filter"]["main"] == [[{"node": "Post 1", "type": "main", "index": 0}]]
    assert conns["Step 23"] == v1["connections"]["Step 23"]
    # n8n runs it with the same credential on each Slack node.
    live = {n["name"]: n for n in n8n_client.get_workflow(outcome.n8n_workflow_id or "")["nodes"]}
    assert all(
        live[f"Post {i}"]["credentials"]["slackApi"]["id"] == bound["id"] for i in range(1, 6)
    )
    # The prompt: every node in the outline, the touched nodes whole, no credential id or value,
    # and smaller than half the whole workflow (which alone was past the old 40,000 clip).
    prompt = llm.requests[0].text
    assert all(f"- {name} |" in prompt for name in new_nodes if name != "Filter")
    assert '"name":"Step 24"' in prompt and '"name":"Post 1"' in prompt
    assert bound["id"] not in prompt and SLACK_VALUE not in prompt
    assert "credential slackApi (bound)" in prompt
    assert len(prompt) < len(json.dumps(v1)) // 2, len(prompt)
    # The summary says what changed, parameter by parameter.
    assert "Changed: + node Filter" in outcome.message
    assert "Step 24 → Filter connected" in outcome.message
    assert "Step 24 → Post 1 disconnected" in outcome.message


def test_a_reply_that_drops_nodes_the_user_did_not_mention_is_refused(
    services: PipelineServices,
    project_id: int,
    llm: ScriptedLLM,
    n8n_client: N8nClient,
    session_factory: sessionmaker[Session],
) -> None:
    workflow_id, v1 = deploy_v1(services, project_id, labelled_schedule("from v1"))
    drops = {
        "operations": [
            {"op": "remove_node", "node": "Label"},
            {"op": "update_parameters", "node": "Every hour", "parameters": {}},
        ],
        "summary": "Runs every hour.",
    }
    llm.default = drops
    outcome = edit(services, project_id, workflow_id, "run it every two hours")

    assert outcome.state == RunState.failed
    # One generation and the validation repairs the cap allows, no more.
    assert len(llm.requests) == 1 + MAX_VALIDATION_REPAIRS
    assert "would remove Label" in outcome.message
    assert "would remove Label" in llm.requests[1].text  # the repair was told why
    with session_factory() as session:
        wf = session.get(Workflow, workflow_id)
        assert wf is not None and wf.head_version == 1
    [only] = versions(session_factory, workflow_id)
    assert only.json_payload == v1


def test_a_whole_workflow_reply_is_turned_into_operations_and_a_named_removal_is_allowed(
    services: PipelineServices,
    project_id: int,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
) -> None:
    """Smaller models answer a change with the whole workflow: its diff is the edit (issue 19;
    before, the reply was refused and cost a repair)."""
    workflow_id, _ = deploy_v1(services, project_id, labelled_schedule("from v1"))
    whole = labelled_schedule("from v2")
    whole["nodes"].append(
        {
            "id": "spare",
            "name": "Spare",
            "type": "n8n-nodes-base.noOp",
            "typeVersion": 1,
            "position": [600, 0],
            "parameters": {},
        }
    )
    whole["connections"]["Label"] = {"main": [[{"node": "Spare", "type": "main", "index": 0}]]}
    llm.script(answer(whole, "Labels it v2."))
    outcome = edit(services, project_id, workflow_id, "label it from v2")
    assert outcome.ok, outcome.message
    assert len(llm.requests) == 1 and outcome.repairs == 0
    assert "Label: assignments.assignments[label].value: from v1 → from v2" in outcome.message
    assert "+ node Spare" in outcome.message

    # "remove the label node": the user named it, so the removal goes through.
    llm.script({"operations": [{"op": "remove_node", "node": "Label"}], "summary": "No label."})
    removed = edit(services, project_id, workflow_id, "remove the label node")
    assert removed.ok, removed.message
    v3 = versions(session_factory, workflow_id)[-1]
    assert {n["name"] for n in v3.json_payload["nodes"]} == {"Every hour", "Spare"}
    assert "Label" not in json.dumps(v3.json_payload["connections"])


def test_a_failed_validation_of_an_edit_is_repaired_with_operations_on_the_candidate(
    services: PipelineServices,
    project_id: int,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
) -> None:
    workflow_id, v1 = deploy_v1(services, project_id, labelled_schedule("from v1"))
    made_up = {"name": "Tidy", "type": "n8n-nodes-base.totallyMadeUpNode", "typeVersion": 1}
    llm.script(
        {
            "operations": [
                {"op": "add_node", "node": made_up},
                {"op": "connect", "from": "Label", "to": "Tidy"},
            ],
            "summary": "Tidies the items.",
        },
        # The repair works on the candidate: the node this run added may go (never asked for).
        {
            "operations": [
                {"op": "remove_node", "node": "Tidy"},
                {"op": "add_node", "node": {"name": "Tidy up", "type": "n8n-nodes-base.noOp"}},
                {"op": "connect", "from": "Label", "to": "Tidy up"},
            ],
            "summary": "Passes the items on.",
        },
    )
    outcome = edit(services, project_id, workflow_id, "pass the labelled items on to a new step")

    assert outcome.ok, outcome.message
    assert len(llm.requests) == 2 and outcome.repairs == 1
    repair_prompt = llm.requests[1].text
    assert "- Tidy | n8n-nodes-base.totallyMadeUpNode" in repair_prompt
    assert "<<<VALIDATION_PROBLEMS_" in repair_prompt
    v2 = versions(session_factory, workflow_id)[-1].json_payload
    assert [n["name"] for n in v2["nodes"]] == ["Every hour", "Label", "Tidy up"]
    assert v2["nodes"][:2] == v1["nodes"]


def test_a_whole_workflow_reply_passes_the_same_guards_and_keeps_credentials(
    services: PipelineServices,
    project_id: int,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
) -> None:
    """The diff of a whole-workflow reply is checked like operations: a node the user did not
    mention may not go, and the bound credentials (which the model never sees) stay."""
    with session_factory.begin() as session:
        project_secrets.set_secret(
            session=session,
            project_id=project_id,
            name="SLACK_TOKEN",
            value=SLACK_VALUE,
            key=KEY,
            actor_user_id=USER,
            credential_type="slackApi",
        )

    def thirty_short_nodes() -> dict[str, Any]:
        wf = big_workflow()
        for node in wf["nodes"]:
            if "jsCode" in node["parameters"]:
                node["parameters"]["jsCode"] = "return $input.all();"
        return wf

    workflow_id, v1 = deploy_v1(services, project_id, thirty_short_nodes())
    bound = v1["nodes"][-1]["credentials"]["slackApi"]

    def as_the_model_sees_it(drop: str | None) -> dict[str, Any]:
        wf = thirty_short_nodes()
        for node in wf["nodes"]:
            node.pop("credentials", None)
            if node["name"] == "Post 1":
                node["parameters"]["text"] = "=News: {{ $json.title }}"
        if drop is not None:
            wf["nodes"] = [n for n in wf["nodes"] if n["name"] != drop]
            wf["connections"].pop(drop, None)
        return wf

    llm.script(answer(as_the_model_sees_it("Post 5")))
    llm.default = answer(as_the_model_sees_it("Post 5"))
    refused = edit(services, project_id, workflow_id, "prefix the first post with News:")
    assert refused.state == RunState.failed and "would remove Post 5" in refused.message

    llm.default = None
    llm.script(answer(as_the_model_sees_it(None)))
    outcome = edit(services, project_id, workflow_id, "prefix the first post with News:")
    assert outcome.ok, outcome.message
    latest = versions(session_factory, workflow_id)[-1].json_payload
    posts = {n["name"]: n for n in latest["nodes"] if n["name"].startswith("Post")}
    assert posts["Post 1"]["parameters"]["text"] == "=News: {{ $json.title }}"
    assert all(p["credentials"]["slackApi"]["id"] == bound["id"] for p in posts.values())
