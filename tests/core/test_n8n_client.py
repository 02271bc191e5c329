"""The n8n client against the real n8n started by scripts/n8n_stack.sh."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from core.n8n import (
    N8nBadRequest,
    N8nClient,
    N8nConnectionError,
    N8nNotFound,
    N8nServerError,
    N8nTimeout,
    N8nUnanswered,
    N8nUnauthorized,
    error_for_status,
    execution_failure,
    strip_read_only,
)
from tests.conftest import N8nStack
from tests.waiting import wait_until
from tests.workflows import webhook_workflow


@pytest.fixture
def client(n8n: N8nStack) -> Iterator[N8nClient]:
    with N8nClient(n8n.url, n8n.api_key) as c:
        yield c


def failing_webhook_workflow(path: str) -> dict[str, Any]:
    """A POST webhook whose every call fails at "Refuse order" (a Stop and Error node)."""
    wf = webhook_workflow(
        path,
        {
            "name": "Refuse order",
            "type": "n8n-nodes-base.stopAndError",
            "typeVersion": 1,
            "parameters": {"errorMessage": "order total is negative"},
        },
        name=f"test failing webhook {path}",
    )
    # Read-only fields a caller may carry over from a GET: the client strips them.
    return {**wf, "active": True, "id": "should-not-be-sent", "tags": []}


def test_webhook_workflow_failure_is_read_back(client: N8nClient) -> None:
    path = f"clixen-test-{uuid.uuid4().hex[:8]}"
    created = client.create_workflow(failing_webhook_workflow(path))
    wid = created["id"]
    try:
        assert created["active"] is False
        client.activate(wid)
        assert client.get_workflow(wid)["active"] is True

        response = client.call_webhook(path, json={"total": -5})
        assert response.status_code == 200, response.text

        execution = client.wait_for_execution(wid, timeout_s=30)
        assert execution is not None
        assert execution["status"] == "error"
        failure = execution_failure(execution)
        assert failure is not None
        assert failure.node == "Refuse order"
        assert "order total is negative" in failure.message

        page = client.list_executions(workflow_id=wid, status="error", limit=1)
        assert [e["id"] for e in page.items] == [execution["id"]]
    finally:
        client.delete_workflow(wid)
    with pytest.raises(N8nNotFound):
        client.get_workflow(wid)


def test_update_keeps_the_same_id(client: N8nClient) -> None:
    wf = failing_webhook_workflow(f"clixen-upd-{uuid.uuid4().hex[:8]}")
    wid = client.create_workflow(wf)["id"]
    try:
        wf["name"] = "renamed by update"
        updated = client.update_workflow(wid, wf)
        assert updated["id"] == wid
        assert client.get_workflow(wid)["name"] == "renamed by update"
    finally:
        client.delete_workflow(wid)


def test_execution_cursor_paging(client: N8nClient) -> None:
    path = f"clixen-page-{uuid.uuid4().hex[:8]}"
    wid = client.create_workflow(failing_webhook_workflow(path))["id"]
    try:
        client.activate(wid)
        for _ in range(3):
            assert client.call_webhook(path, json={}).status_code == 200
        wait_until(
            lambda: len({e["id"] for e in client.iter_executions(workflow_id=wid, limit=1)}) == 3,
            20,
            "n8n did not list the three executions one page at a time",
        )
        first = client.list_executions(workflow_id=wid, limit=2)
        assert len(first.items) == 2 and first.next_cursor
    finally:
        client.delete_workflow(wid)


def test_unknown_node_type_fails_at_activation_with_n8n_message(client: N8nClient) -> None:
    wf = failing_webhook_workflow(f"clixen-bad-{uuid.uuid4().hex[:8]}")
    wf["nodes"][1]["type"] = "n8n-nodes-base.doesNotExist"
    wid = client.create_workflow(wf)["id"]
    try:
        with pytest.raises(N8nBadRequest) as err:
            client.activate(wid)
        assert "doesNotExist" in err.value.message or "Unrecognized" in err.value.message
    finally:
        client.delete_workflow(wid)


def test_wrong_key_is_unauthorized(n8n: N8nStack) -> None:
    with N8nClient(n8n.url, "not-a-key") as c, pytest.raises(N8nUnauthorized):
        c.list_workflows(limit=1)


def test_unreachable_n8n_is_a_connection_error() -> None:
    with (
        N8nClient("http://127.0.0.1:9", "k", max_retries=1) as c,
        pytest.raises(N8nConnectionError, match="cannot reach n8n"),
    ):
        c.get_workflow("1")


def test_retries_5xx_then_succeeds_and_maps_statuses() -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] < 3:
            return httpx.Response(503, json={"message": "busy"}, headers={"Retry-After": "0"})
        return httpx.Response(200, json={"id": "7"})

    with N8nClient("http://n8n.invalid", "k", transport=httpx.MockTransport(handler)) as c:
        assert c.get_workflow("7") == {"id": "7"}
    assert calls["n"] == 3

    def always_500(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"message": "boom"})

    with (
        N8nClient(
            "http://n8n.invalid", "k", transport=httpx.MockTransport(always_500), max_retries=1
        ) as c,
        pytest.raises(N8nServerError, match="boom"),
    ):
        c.get_workflow("7")
    assert error_for_status(404) is N8nNotFound
    assert error_for_status(400) is N8nBadRequest


def test_no_retry_on_4xx() -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        return httpx.Response(400, json={"message": "request/body/active is read-only"})

    with (
        N8nClient("http://n8n.invalid", "k", transport=httpx.MockTransport(handler)) as c,
        pytest.raises(N8nBadRequest, match="read-only"),
    ):
        c.create_workflow({"name": "x", "nodes": [], "connections": {}})
    assert calls["n"] == 1


def test_a_create_n8n_did_not_answer_is_never_sent_again_but_a_read_is_retried() -> None:
    calls: list[str] = []

    def frozen(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.ReadTimeout("n8n is frozen", request=request)

    with N8nClient("http://n8n.invalid", "k", transport=httpx.MockTransport(frozen)) as c:
        with pytest.raises(N8nUnanswered, match="may or may not have done it"):
            c.create_workflow({"name": "x", "nodes": [], "connections": {}})
        assert calls == ["POST"]
        calls.clear()
        with pytest.raises(N8nTimeout):
            c.get_workflow("1")
        assert calls == ["GET"] * 4


def test_a_create_that_never_reached_n8n_is_sent_again() -> None:
    calls: list[str] = []

    def refused_once(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={"id": "9"})

    with N8nClient("http://n8n.invalid", "k", transport=httpx.MockTransport(refused_once)) as c:
        assert c.create_workflow({"name": "x", "nodes": [], "connections": {}}) == {"id": "9"}
    assert calls == ["POST", "POST"]


def test_a_deadline_bounds_retries_and_refuses_calls_once_passed() -> None:
    calls: list[str] = []

    def busy(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(503, json={"message": "busy"}, headers={"Retry-After": "5"})

    with N8nClient("http://n8n.invalid", "k", transport=httpx.MockTransport(busy)) as c:
        with c.deadline(1.0):
            # The backoff n8n asks for (5 s) ends after the deadline: no retry.
            with pytest.raises(N8nServerError):
                c.get_workflow("1")
            assert calls == ["GET"]
        with c.deadline(0.0), pytest.raises(N8nTimeout, match="deadline passed"):
            c.get_workflow("1")
        assert calls == ["GET"]
        assert c.time_left() is None


def test_strip_read_only_keeps_only_accepted_fields() -> None:
    body = strip_read_only(
        {
            "name": "n",
            "nodes": [{"name": "A", "type": "t", "extra": 1}],
            "connections": {},
            "settings": {"executionOrder": "v1", "bogus": True},
            "active": True,
            "versionId": "v",
            "pinData": {},
        }
    )
    assert set(body) == {"name", "nodes", "connections", "settings"}
    assert body["nodes"] == [{"name": "A", "type": "t"}]
    assert body["settings"] == {"executionOrder": "v1"}
