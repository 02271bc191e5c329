"""Review before live in core, on the real database and the real n8n (the LLM scripted): with a
project's setting on, a new workflow, an automatic repair seen by the watch and a rollback each
wait for an owner, nothing reaching n8n; the request shows what decides it; an owner's approval
deploys exactly the version asked about; an editor, another workspace, a decided request and
a wrong digest are refused; a request whose base moved on is closed, never deployed over it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core import pipeline
from core.deploy import ReviewPending, deploy_new_workflow, deploy_version
from core.generation.templates import default_library
from core.kernel.errors import InvalidInput, NotFound, PermissionDenied
from core.kernel.models import TelemetryEvent, VersionReview, Workflow
from core.kernel.settings import get_settings
from core.kernel.vocabulary import ReviewState, Role, VersionSource
from core.n8n import N8nClient, execution_failure
from core.pipeline import PipelineServices, execute_run, start_run
from core.scheduler.reviews import ReviewRequest, announce_reviews
from core.usecases import Actor
from core.usecases.reviews import approve, list_reviews, reject, set_review, show_review
from core.usecases.versions import RollbackWaits, roll_back
from core.workspace.projects import add_member
from tests.builders import delete_deployed, new_project, pipeline_services, versions
from tests.doubles.llm_server import ScriptedLLM
from tests.workflows import THROWS, WORKS, answer, order_hook, schedule_workflow

TEAM, OWNER, EDITOR = "T1", "U1", "U2EDIT"
OWNER_ACTOR, EDITOR_ACTOR = Actor(TEAM, OWNER), Actor(TEAM, EDITOR)


@pytest.fixture
def services(
    session_factory: sessionmaker[Session], n8n_client: N8nClient, llm: ScriptedLLM
) -> Iterator[PipelineServices]:
    yield pipeline_services(session_factory, n8n_client, llm.url, templates=default_library())
    delete_deployed(session_factory, n8n_client)


@pytest.fixture
def project_id(session_factory: sessionmaker[Session]) -> int:
    pid = new_project(session_factory, team_id=TEAM, user_id=OWNER)
    with session_factory.begin() as session:
        add_member(
            session=session, project_id=pid, actor_user_id=OWNER, user_id=EDITOR, role=Role.editor
        )
    return pid


def _review_on(session_factory: sessionmaker[Session], project_id: int) -> None:
    with pytest.raises(PermissionDenied, match="owner rights"):
        set_review(session_factory, actor=EDITOR_ACTOR, project=project_id, on=True)
    assert set_review(session_factory, actor=OWNER_ACTOR, project=project_id, on=True).on


def _shown(services: PipelineServices) -> list[ReviewRequest]:
    shown: list[ReviewRequest] = []
    announce_reviews(
        services.session_factory,
        n8n=services.n8n,
        settings=services.settings,
        show=shown.append,
    )
    return shown


def test_a_new_workflow_waits_and_the_owner_approval_deploys_exactly_it(
    services: PipelineServices,
    project_id: int,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
) -> None:
    _review_on(session_factory, project_id)
    llm.script(answer(schedule_workflow("Morning news")))
    created, _ = start_run(
        services, team_id=TEAM, user_id=EDITOR, project_id=project_id, request="every morning"
    )
    outcome = execute_run(services, created.id)
    assert outcome.review_id is not None and outcome.review_version == 1
    assert "waits for a project owner's approval" in outcome.message
    assert outcome.n8n_workflow_id is None  # nothing reached n8n
    [v1] = versions(session_factory, outcome.workflow_id or 0)
    assert v1.status == "awaiting_review"

    # The owners are shown it once: a new workflow, its test run on a test copy (it only
    # computes), no account, no outside host.
    [request] = _shown(services)
    assert _shown(services) == []
    assert (request.review_id, request.version, request.live_version) == (
        outcome.review_id,
        1,
        0,
    )
    assert request.owners == (OWNER,) and request.requested_by == EDITOR
    assert request.diff is None and request.node_count == 2
    assert request.test_run.status == "success", request.test_run
    assert request.hosts == () and request.accounts == ()

    # The editor cannot approve; another workspace's user naming it learns nothing; a wrong
    # digest deploys nothing.
    with pytest.raises(PermissionDenied, match="owner rights"):
        approve(
            session_factory,
            n8n=n8n_client,
            settings=services.settings,
            actor=EDITOR_ACTOR,
            review_id=request.review_id,
        )
    new_project(session_factory, team_id="T0OTHER", user_id="UEVIL")
    with pytest.raises(NotFound, match="no review"):
        approve(
            session_factory,
            n8n=n8n_client,
            settings=services.settings,
            actor=Actor("T0OTHER", "UEVIL"),
            review_id=request.review_id,
        )
    with pytest.raises(InvalidInput, match="does not show version digest"):
        approve(
            session_factory,
            n8n=n8n_client,
            settings=services.settings,
            actor=OWNER_ACTOR,
            review_id=request.review_id,
            digest="0123456789ab",
        )
    done = approve(
        session_factory,
        n8n=n8n_client,
        settings=services.settings,
        actor=OWNER_ACTOR,
        review_id=request.review_id,
        digest=request.digest,
        reason="looks right",
    )
    assert done.state == ReviewState.approved and done.live_version == 1
    with session_factory() as session:
        wf = session.get(Workflow, outcome.workflow_id)
        assert wf is not None and wf.n8n_workflow_id and wf.head_version == 1
        n8n_id = wf.n8n_workflow_id
        kinds = set(session.scalars(select(TelemetryEvent.type)))
    live = n8n_client.get_workflow(n8n_id)
    assert live["active"] is True
    assert {n["name"] for n in live["nodes"]} == {"Every morning", "Shape item"}
    assert {"review_requested", "review_approved"} <= kinds
    # Decided once: a second click is refused, saying by whom.
    with pytest.raises(InvalidInput, match=f"already approved by {OWNER}"):
        approve(
            session_factory,
            n8n=n8n_client,
            settings=services.settings,
            actor=OWNER_ACTOR,
            review_id=request.review_id,
        )
    [row] = list_reviews(session_factory, actor=EDITOR_ACTOR, project=project_id)
    assert (row.requested_by, row.decided_by, row.reason) == (EDITOR, OWNER, "looks right")

    # A new workflow rejected never reaches n8n; it leaves the lists, its trail is kept.
    with pytest.raises(ReviewPending) as waiting:
        deploy_new_workflow(
            session_factory=session_factory,
            n8n=n8n_client,
            project_id=project_id,
            name="Evening news",
            json_payload=schedule_workflow("Evening news"),
            source=VersionSource.imported,
            actor=EDITOR_ACTOR,
            settings=services.settings,
        )
    no = reject(session_factory, actor=OWNER_ACTOR, review_id=waiting.value.review_id)
    assert no.state == ReviewState.rejected and no.live_version == 0
    with session_factory() as session:
        evening = session.get(Workflow, waiting.value.workflow_id)
        assert evening is not None
        assert (evening.status, evening.n8n_workflow_id) == ("deleted", None)
    assert [
        r.state for r in list_reviews(session_factory, actor=OWNER_ACTOR, project=project_id)
    ] == [
        ReviewState.rejected,
        ReviewState.approved,
    ]


def test_a_scheduled_repair_waits_and_a_rollback_waits_then_is_rejected(
    services: PipelineServices,
    project_id: int,
    llm: ScriptedLLM,
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
) -> None:
    path = f"orders-{uuid.uuid4().hex[:8]}"
    llm.script(answer(order_hook(path, THROWS)))
    created, _ = start_run(
        services, team_id=TEAM, user_id=OWNER, project_id=project_id, request="check orders"
    )
    first = execute_run(services, created.id)
    assert first.ok and first.n8n_workflow_id and first.version == 1
    workflow_id = first.workflow_id or 0
    _review_on(session_factory, project_id)

    n8n_client.call_webhook(path, method="POST", json={"total": -1})
    execution = n8n_client.wait_for_execution(first.n8n_workflow_id, timeout_s=15)
    assert execution is not None
    failure = execution_failure(execution)
    assert failure is not None
    llm.script(answer(order_hook(path, WORKS)))
    running = n8n_client.get_workflow(first.n8n_workflow_id)["nodes"]
    line = pipeline.repair_after_runtime_error(services, workflow_id=workflow_id, failure=failure)
    assert line is not None and "waits for a project owner's approval" in line
    # Live is untouched: n8n still runs v1, and the same failure starts no second fix.
    assert n8n_client.get_workflow(first.n8n_workflow_id)["nodes"] == running
    assert [(v.version, v.source, v.status) for v in versions(session_factory, workflow_id)] == [
        (1, "generate", "deployed"),
        (2, "repair", "awaiting_review"),
    ]
    # The next failure of v1 starts no second fix while the first waits (said once).
    n8n_client.call_webhook(path, method="POST", json={"total": -2})
    later = n8n_client.wait_for_execution(
        first.n8n_workflow_id, after_id=failure.execution_id, timeout_s=15
    )
    assert later is not None
    next_failure = execution_failure(later)
    assert next_failure is not None
    asked_llm = len(llm.requests)
    assert (
        pipeline.repair_after_runtime_error(services, workflow_id=workflow_id, failure=next_failure)
        is None
    )
    assert len(llm.requests) == asked_llm
    [request] = _shown(services)
    assert request.source == "repair" and request.live_version == 1
    assert request.diff is not None and not request.diff.empty
    # Its Code node can send requests: not test-run (the request says why), and its hosts say
    # the code may call any.
    assert request.test_run.status == "not_run" and "reach outside n8n" in request.test_run.message
    assert any(h.startswith("any host its code calls") for h in request.hosts)

    # The owner approves the fix; an editor's rollback to v1 then waits too, and is rejected.
    approved = approve(
        session_factory,
        n8n=n8n_client,
        settings=services.settings,
        actor=OWNER_ACTOR,
        review_id=request.review_id,
    )
    assert approved.state == ReviewState.approved and approved.live_version == 2
    live_before = n8n_client.get_workflow(first.n8n_workflow_id)
    waits = roll_back(
        session_factory,
        n8n=n8n_client,
        settings=services.settings,
        actor=EDITOR_ACTOR,
        workflow_id=workflow_id,
        version=1,
        idempotency_prefix="test",
    )
    assert isinstance(waits, RollbackWaits) and waits.new_version == 3
    rejected = reject(
        session_factory, actor=OWNER_ACTOR, review_id=waits.review_id, reason="v2 fixed it"
    )
    assert rejected.state == ReviewState.rejected and rejected.live_version == 2
    live_after = n8n_client.get_workflow(first.n8n_workflow_id)
    assert live_after["nodes"] == live_before["nodes"] and live_after["active"] is True
    assert [v.status for v in versions(session_factory, workflow_id)] == [
        "superseded",
        "deployed",
        "rejected",
    ]


def test_an_approval_never_deploys_over_a_version_that_went_live_after_the_request(
    services: PipelineServices,
    project_id: int,
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
) -> None:
    v1 = deploy_new_workflow(
        session_factory=session_factory,
        n8n=n8n_client,
        project_id=project_id,
        name="Ticker",
        json_payload=schedule_workflow("Ticker"),
        source=VersionSource.imported,
        actor=OWNER_ACTOR,
        settings=services.settings,
    )
    _review_on(session_factory, project_id)
    asked = []
    for hours in (6, 12):
        wf = schedule_workflow("Ticker")
        wf["nodes"][0]["parameters"]["rule"]["interval"][0]["hoursInterval"] = hours
        with pytest.raises(ReviewPending) as waiting:
            deploy_version(
                session_factory=session_factory,
                n8n=n8n_client,
                workflow_id=v1.workflow_id,
                json_payload=wf,
                source=VersionSource.edit,
                actor=EDITOR_ACTOR,
                settings=services.settings,
                expected_head=1,
            )
        asked.append(waiting.value)
    # The same payload asked again is the same request.
    with pytest.raises(ReviewPending) as again:
        deploy_version(
            session_factory=session_factory,
            n8n=n8n_client,
            workflow_id=v1.workflow_id,
            json_payload=wf,
            source=VersionSource.edit,
            actor=EDITOR_ACTOR,
            settings=services.settings,
        )
    assert again.value.review_id == asked[1].review_id
    # The first (v2, every 6 hours) is approved: exactly it goes live, not the later v3.
    approve(
        session_factory,
        n8n=n8n_client,
        settings=services.settings,
        actor=OWNER_ACTOR,
        review_id=asked[0].review_id,
    )
    with session_factory() as session:
        wf_row = session.get(Workflow, v1.workflow_id)
        assert wf_row is not None and wf_row.n8n_workflow_id
        n8n_id = wf_row.n8n_workflow_id
    live = n8n_client.get_workflow(n8n_id)
    trigger = next(n for n in live["nodes"] if n["name"] == "Every morning")
    assert trigger["parameters"]["rule"]["interval"][0]["hoursInterval"] == 6
    # v3 was asked of v1; v2 is live now: approving it would undo v2, so it is closed.
    late = approve(
        session_factory,
        n8n=n8n_client,
        settings=services.settings,
        actor=OWNER_ACTOR,
        review_id=asked[1].review_id,
    )
    assert late.state == ReviewState.outdated and "went live after" in late.note
    assert n8n_client.get_workflow(n8n_id)["nodes"] == live["nodes"]
    with session_factory() as session:
        states = list(session.scalars(select(VersionReview.state).order_by(VersionReview.id)))
    assert states == ["approved", "outdated"]


@pytest.mark.parametrize("review_id", [0, -1, 2**63, 10**25])
def test_a_review_id_no_review_can_have_is_not_found_without_a_database_error(
    session_factory: sessionmaker[Session], n8n_client: N8nClient, review_id: int
) -> None:
    # A forged button value or `clixen approve 10000000000000000000000000`: a short NotFound,
    # never Postgres' "bigint out of range" nor the number echoed whole.
    for decide_it in (
        lambda: approve(
            session_factory,
            n8n=n8n_client,
            settings=get_settings(),
            actor=OWNER_ACTOR,
            review_id=review_id,
        ),
        lambda: reject(session_factory, actor=OWNER_ACTOR, review_id=review_id),
        lambda: show_review(
            session_factory,
            n8n=n8n_client,
            settings=get_settings(),
            actor=OWNER_ACTOR,
            review_id=review_id,
        ),
    ):
        with pytest.raises(NotFound) as caught:
            decide_it()
        assert len(str(caught.value)) < 80


def test_a_huge_digest_is_refused_without_being_echoed_and_nothing_deploys(
    services: PipelineServices,
    project_id: int,
    session_factory: sessionmaker[Session],
    n8n_client: N8nClient,
) -> None:
    v1 = deploy_new_workflow(
        session_factory=session_factory,
        n8n=n8n_client,
        project_id=project_id,
        name="Digest check",
        json_payload=schedule_workflow("Digest check"),
        source=VersionSource.imported,
        actor=OWNER_ACTOR,
        settings=services.settings,
    )
    _review_on(session_factory, project_id)
    wf = schedule_workflow("Digest check")
    wf["nodes"][0]["parameters"]["rule"]["interval"][0]["hoursInterval"] = 6
    with pytest.raises(ReviewPending) as waiting:
        deploy_version(
            session_factory=session_factory,
            n8n=n8n_client,
            workflow_id=v1.workflow_id,
            json_payload=wf,
            source=VersionSource.edit,
            actor=EDITOR_ACTOR,
            settings=services.settings,
        )
    with pytest.raises(InvalidInput) as refused:
        approve(
            session_factory,
            n8n=n8n_client,
            settings=services.settings,
            actor=OWNER_ACTOR,
            review_id=waiting.value.review_id,
            digest="f" * 20_000,
        )
    assert len(str(refused.value)) < 300
    with session_factory() as session:
        review = session.get(VersionReview, waiting.value.review_id)
        assert review is not None and review.state == ReviewState.pending
