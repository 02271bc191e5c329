"""A connection into an input the target node does not have is refused (issue 20): n8n's canvas
drops it, so the flow never reaches the node, and the picture of input 100,000 was 2.6 million px
high. Merge takes 2 inputs (or `numberInputs`), most nodes 1; AI sub-node inputs count per
connection type; nodes whose inputs n8n computes (AI Agent) are not checked. The deploy gate every
path ends in applies it (against the real Postgres and n8n)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.catalog import default_catalog
from core.deploy import ValidationFailed, create_workflow_record, deploy_version
from core.kernel.settings import get_settings
from core.n8n import N8nClient
from core.validation import validate
from core.workspace.projects import Actor
from tests.builders import delete_deployed, new_project, versions
from tests.conftest import N8nStack
from tests.workflows import labelled_schedule

OWNER = Actor("T-inputs", "U-owner")


def into(wf: dict[str, Any], source: str, target: str, index: int, kind: str = "main") -> None:
    wf["connections"].setdefault(source, {}).setdefault(kind, [[]])[0].append(
        {"node": target, "type": kind, "index": index}
    )


def with_node(wf: dict[str, Any], name: str, type_: str, version: float, **params: Any) -> None:
    wf["nodes"].append(
        {
            "id": name,
            "name": name,
            "type": type_,
            "typeVersion": version,
            "position": [440, 0],
            "parameters": params,
        }
    )


def input_errors(wf: dict[str, Any]) -> list[str]:
    return [i.message for i in validate(wf).errors if i.code == "input_index_out_of_range"]


def test_the_catalog_knows_the_inputs_of_each_node_version() -> None:
    cat = default_catalog()
    assert cat.get("n8n-nodes-base.set").version_class(3.4).inputs == ("main",)  # type: ignore[union-attr]
    assert cat.get("n8n-nodes-base.merge").version_class(2.1).inputs == ("main", "main")  # type: ignore[union-attr]
    assert cat.get("n8n-nodes-base.merge").version_class(3.2).inputs is None  # type: ignore[union-attr]
    assert cat.get("n8n-nodes-base.scheduleTrigger").version_class(1.2).inputs == ()  # type: ignore[union-attr]


@pytest.mark.parametrize("index", [1, 7, 100_000])
def test_an_input_a_set_node_does_not_have_is_refused(index: int) -> None:
    wf = labelled_schedule("x")
    wf["connections"]["Every hour"]["main"][0][0]["index"] = index
    [message] = input_errors(wf)
    assert '"Label" (Edit Fields (Set)) has 1 main input' in message
    assert f"input {index}" in message
    report = validate(wf)
    assert not report.valid and 'inputs 0..0 of "Label"' in report.errors[0].hint


def test_merge_takes_two_inputs_or_its_number_inputs() -> None:
    wf = labelled_schedule("x")
    with_node(wf, "Join", "n8n-nodes-base.merge", 3.2)
    into(wf, "Every hour", "Join", 0)
    into(wf, "Label", "Join", 1)
    assert input_errors(wf) == []
    into(wf, "Label", "Join", 2)
    [message] = input_errors(wf)
    assert "has 2 main inputs" in message and "numberInputs" in validate(wf).errors[0].hint
    wf["nodes"][-1]["parameters"]["numberInputs"] = 3
    assert input_errors(wf) == []
    wf["nodes"][-1]["typeVersion"] = 2.1  # v2: always two
    assert len(input_errors(wf)) == 1


def test_ai_inputs_count_per_connection_type_and_computed_inputs_are_not_checked() -> None:
    wf = labelled_schedule("x")
    lc = "@n8n/n8n-nodes-langchain."
    with_node(wf, "Classify", lc + "textClassifier", 1.1)
    with_node(wf, "Model", lc + "lmChatOpenAi", 1.2)
    with_node(wf, "Agent", lc + "agent", 2.2)
    into(wf, "Label", "Classify", 0)
    into(wf, "Model", "Classify", 0, kind="ai_languageModel")
    into(wf, "Model", "Agent", 1, kind="ai_languageModel")  # a fallback model: n8n computes
    assert input_errors(wf) == []
    wf["connections"]["Model"]["ai_languageModel"][0][0]["index"] = 1
    [message] = input_errors(wf)
    assert "has 1 ai_languageModel input" in message


@pytest.fixture
def client(n8n: N8nStack, session_factory: sessionmaker[Session]) -> Any:
    with N8nClient(n8n.url, n8n.api_key) as c:
        yield c
        delete_deployed(session_factory, c)


def test_the_deploy_gate_refuses_input_100000_before_n8n(
    session_factory: sessionmaker[Session], client: N8nClient
) -> None:
    pid = new_project(session_factory, team_id=OWNER.team_id, user_id=OWNER.user_id)
    with session_factory.begin() as s:
        wid = create_workflow_record(
            session=s, project_id=pid, name="far input", created_by=OWNER.user_id
        ).id
    wf = labelled_schedule("x")
    wf["connections"]["Every hour"]["main"][0][0]["index"] = 100_000
    with pytest.raises(ValidationFailed) as err:
        deploy_version(
            session_factory=session_factory,
            n8n=client,
            workflow_id=wid,
            json_payload=wf,
            source="generate",
            actor=OWNER,
            settings=get_settings(),
        )
    assert [i.code for i in err.value.report.errors] == ["input_index_out_of_range"]
    assert versions(session_factory, wid) == []
