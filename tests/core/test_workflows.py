"""Workflow listing (cursor pagination), lookups with authorization, versions and diffs."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.deploy import create_workflow_record
from core.deploy.workflows import (
    find_workflow,
    get_project_workflow,
    get_workflow,
    list_versions,
    list_workflows,
    resolve_workflow,
    version_diff,
)
from core.kernel.errors import InvalidInput, NotFound, PermissionDenied
from core.kernel.models import WorkflowVersion
from core.kernel.vocabulary import Role
from core.workspace.projects import add_member, create_project

T = "T1"


def _project_with(factory: sessionmaker[Session], n: int, name: str = "p") -> tuple[int, list[int]]:
    with factory.begin() as s:
        p = create_project(session=s, team_id=T, name=name, creator_user_id="U1")
        ids = [
            create_workflow_record(session=s, project_id=p.id, name=f"wf {i}", created_by="U1").id
            for i in range(n)
        ]
        return p.id, ids


def test_pages_are_newest_first_and_walk_both_ways(session_factory: sessionmaker[Session]) -> None:
    project_id, ids = _project_with(session_factory, 25)
    newest_first = list(reversed(ids))
    with session_factory() as s:
        p1 = list_workflows(session=s, project_id=project_id, limit=10)
        assert [w.id for w in p1.items] == newest_first[:10]
        assert p1.prev_cursor is None and p1.next_cursor
        p2 = list_workflows(session=s, project_id=project_id, limit=10, cursor=p1.next_cursor)
        assert [w.id for w in p2.items] == newest_first[10:20]
        p3 = list_workflows(session=s, project_id=project_id, limit=10, cursor=p2.next_cursor)
        assert [w.id for w in p3.items] == newest_first[20:]
        assert p3.next_cursor is None and p3.prev_cursor
        back = list_workflows(session=s, project_id=project_id, limit=10, cursor=p3.prev_cursor)
        assert [w.id for w in back.items] == newest_first[10:20]
        first = list_workflows(session=s, project_id=project_id, limit=10, cursor=back.prev_cursor)
        assert [w.id for w in first.items] == newest_first[:10]
        assert first.prev_cursor is None


def test_a_new_workflow_does_not_shift_page_two(session_factory: sessionmaker[Session]) -> None:
    project_id, ids = _project_with(session_factory, 15)
    with session_factory() as s:
        p1 = list_workflows(session=s, project_id=project_id, limit=10)
    with session_factory.begin() as s:
        new = create_workflow_record(session=s, project_id=project_id, name="new", created_by="U1")
    with session_factory() as s:
        p2 = list_workflows(session=s, project_id=project_id, limit=10, cursor=p1.next_cursor)
        assert [w.id for w in p2.items] == list(reversed(ids))[10:]
        # Going back from page 2 shows the newcomer is there now ("newer" link still works).
        back = list_workflows(session=s, project_id=project_id, limit=10, cursor=p2.prev_cursor)
        assert [w.id for w in back.items] == list(reversed(ids))[:10]
        assert back.prev_cursor is not None
        top = list_workflows(session=s, project_id=project_id, limit=10, cursor=back.prev_cursor)
        assert [w.id for w in top.items] == [new.id]


def test_pages_never_mix_projects_and_bad_cursors_are_refused(
    session_factory: sessionmaker[Session],
) -> None:
    a, _ = _project_with(session_factory, 3, "a")
    b, b_ids = _project_with(session_factory, 2, "b")
    with session_factory() as s:
        assert [w.id for w in list_workflows(session=s, project_id=b).items] == b_ids[::-1]
        with pytest.raises(InvalidInput):
            list_workflows(session=s, project_id=a, cursor="not-a-cursor")
        with pytest.raises(InvalidInput):
            list_workflows(session=s, project_id=a, limit=0)


def test_get_workflow_checks_role_and_workspace(session_factory: sessionmaker[Session]) -> None:
    project_id, ids = _project_with(session_factory, 1)
    with session_factory.begin() as s:
        add_member(
            session=s, project_id=project_id, actor_user_id="U1", user_id="V", role=Role.viewer
        )
    with session_factory() as s:
        assert get_workflow(session=s, workflow_id=ids[0], team_id=T, user_id="V").id == ids[0]
        with pytest.raises(PermissionDenied):
            get_workflow(
                session=s, workflow_id=ids[0], team_id=T, user_id="V", at_least=Role.editor
            )
        with pytest.raises(PermissionDenied):
            get_workflow(session=s, workflow_id=ids[0], team_id="OTHER", user_id="U1")
        with pytest.raises(NotFound):
            get_workflow(session=s, workflow_id=999_999, team_id=T, user_id="U1")


def test_project_workflow_hides_other_projects_and_deleted_ones(
    session_factory: sessionmaker[Session],
) -> None:
    a, a_ids = _project_with(session_factory, 2, "a")
    b, _ = _project_with(session_factory, 1, "b")
    with session_factory.begin() as s:
        found = find_workflow(session=s, workflow_id=a_ids[1])
        assert found is not None
        found.status = "deleted"
    with session_factory() as s:
        assert get_project_workflow(session=s, project_id=a, workflow_id=a_ids[0]).id == a_ids[0]
        assert find_workflow(session=s, workflow_id=999_999) is None
        # Another project's, a deleted and a missing workflow all read the same.
        for project_id, workflow_id in ((b, a_ids[0]), (a, a_ids[1]), (a, 999_999)):
            with pytest.raises(NotFound, match=f"no workflow #{workflow_id}"):
                get_project_workflow(session=s, project_id=project_id, workflow_id=workflow_id)


def test_resolve_by_id_or_name(session_factory: sessionmaker[Session]) -> None:
    project_id, ids = _project_with(session_factory, 2)
    with session_factory.begin() as s:
        twin = create_workflow_record(session=s, project_id=project_id, name="WF 0", created_by="U")
    with session_factory() as s:
        assert resolve_workflow(session=s, project_id=project_id, ref=f"#{ids[1]}").id == ids[1]
        assert resolve_workflow(session=s, project_id=project_id, ref="wf 1").id == ids[1]
        with pytest.raises(InvalidInput, match=f"#{twin.id}"):
            resolve_workflow(session=s, project_id=project_id, ref="wf 0")
        with pytest.raises(NotFound):
            resolve_workflow(session=s, project_id=project_id, ref="missing")
        # Hostile references: an id past BIGINT (Postgres would refuse the query), one past
        # Python's int-parsing limit, a 20,000-character name. A plain NotFound, nothing echoed.
        for ref in ("#" + "9" * 25, "1" * 20_000, "x" * 20_000):
            with pytest.raises(NotFound) as refused:
                resolve_workflow(session=s, project_id=project_id, ref=ref)
            assert len(str(refused.value)) < 300


def test_versions_in_order_and_diff(session_factory: sessionmaker[Session]) -> None:
    _, ids = _project_with(session_factory, 1)
    node = {"name": "A", "type": "n8n-nodes-base.set", "typeVersion": 3.4, "parameters": {}}
    v1 = {"name": "x", "nodes": [node], "connections": {}}
    v2 = {
        "name": "x",
        "nodes": [{**node, "parameters": {"mode": "raw"}}, {**node, "name": "B"}],
        "connections": {"A": {"main": [[{"node": "B", "type": "main", "index": 0}]]}},
    }
    with session_factory.begin() as s:
        for n, payload in ((2, v2), (1, v1)):
            s.add(
                WorkflowVersion(
                    workflow_id=ids[0],
                    version=n,
                    json_payload=payload,
                    checksum="c",
                    source="import",
                    status="deployed",
                    created_by="U1",
                )
            )
    with session_factory() as s:
        assert [v.version for v in list_versions(session=s, workflow_id=ids[0])] == [1, 2]
        diff = version_diff(session=s, workflow_id=ids[0], from_version=1, to_version=2)
        assert diff.added == ["B"] and diff.changed == ["A"] and diff.connections_changed
        with pytest.raises(NotFound):
            version_diff(session=s, workflow_id=ids[0], from_version=1, to_version=9)
