"""The n8n that scripts/n8n_stack.sh starts runs hardened (README "Hardening your n8n"): it does
not load the product's default-denied node types at all (NODES_EXCLUDE), and its own SSRF
protection refuses internal addresses other than the loopback the tests serve on."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from core.n8n import N8nBadRequest, N8nClient, execution_failure
from core.workspace.policy import DEFAULT_DENYLIST
from tests.conftest import N8nStack
from tests.doubles.http_sink import HttpSink
from tests.workflows import webhook_workflow

# NODES_EXCLUDE replaces n8n 2.x's own default exclusions: the stack lists them too.
N8N_DEFAULT_EXCLUDED = {"n8n-nodes-base.executeCommand", "n8n-nodes-base.localFileTrigger"}


@pytest.fixture
def client(n8n: N8nStack) -> Iterator[N8nClient]:
    with N8nClient(n8n.url, n8n.api_key) as c:
        yield c


@pytest.mark.parametrize("node_type", sorted(set(DEFAULT_DENYLIST) | N8N_DEFAULT_EXCLUDED))
def test_n8n_does_not_load_default_denied_node_types(client: N8nClient, node_type: str) -> None:
    path = f"clixen-excluded-{uuid.uuid4().hex[:8]}"
    wf = webhook_workflow(
        path,
        {"name": "Denied node", "type": node_type, "typeVersion": 1, "parameters": {}},
        name=f"test excluded {node_type}",
    )
    wid = client.create_workflow(wf)["id"]
    try:
        with pytest.raises(N8nBadRequest) as err:
            client.activate(wid)
        assert "Unrecognized node type" in err.value.message, err.value.message
    finally:
        client.delete_workflow(wid)


def _http_request_hook(path: str, url: str) -> dict[str, object]:
    return webhook_workflow(
        path,
        {
            "name": "Call",
            "type": "n8n-nodes-base.httpRequest",
            "typeVersion": 4.2,
            # A short timeout: without SSRF protection a private address just hangs.
            "parameters": {"method": "GET", "url": url, "options": {"timeout": 3000}},
        },
        method="GET",
        name=f"test ssrf {path}",
    )


def test_n8n_refuses_internal_addresses_but_the_allowed_loopback(client: N8nClient) -> None:
    with HttpSink() as sink:
        allowed, blocked = (f"clixen-ssrf-{uuid.uuid4().hex[:8]}" for _ in range(2))
        ids = [
            client.create_workflow(_http_request_hook(allowed, sink.url("/allowed")))["id"],
            # The cloud metadata address: link-local, in n8n's default blocked ranges.
            client.create_workflow(
                _http_request_hook(blocked, "http://169.254.169.254/latest/meta-data/")
            )["id"],
        ]
        try:
            for wid in ids:
                client.activate(wid)
            assert client.call_webhook(allowed, method="GET").status_code == 200
            assert [r.path for r in sink.wait_for(1)] == ["/allowed"]
            assert client.call_webhook(blocked, method="GET").status_code == 200
            execution = client.wait_for_execution(ids[1], timeout_s=30)
            assert execution is not None and execution["status"] == "error"
            failure = execution_failure(execution)
            assert failure is not None and failure.node == "Call"
            assert "restricted IP address" in failure.message, failure.message
        finally:
            for wid in ids:
                client.delete_workflow(wid)
