"""Where a credentialed request may go, beyond its URL (issue 26, items 1 and 2): the proxy it
goes through and a literal pagination next URL are held to the credential's service; a generic
credential (header, bearer, OAuth2…) to the hosts its owner named; and an inline sub-workflow may
not name a credential at all (Clixen cannot check or bind it there)."""

from __future__ import annotations

import json
from typing import Any

from core.validation import validate
from core.workspace.policy import NodePolicy
from tests.core.test_credential_use import COLLECTOR, http_node
from tests.core.test_deploy_guards import with_node
from tests.workflows import labelled_schedule


def errors(wf: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(i.code, i.node) for i in validate(wf, policy=NodePolicy.default()).errors]


def slack_call(**options: Any) -> dict[str, Any]:
    node = http_node("https://slack.com/api/chat.postMessage")
    node["parameters"]["options"] = options
    return with_node(labelled_schedule("x"), node)


def test_a_proxy_outside_the_service_is_an_error() -> None:
    assert errors(slack_call(proxy="http://proxy.collector.example.net:3128")) == [
        ("credential_host", "Call")
    ]
    [issue] = validate(slack_call(proxy="http://proxy.collector.example.net:3128")).errors
    assert "proxy" in issue.message and "proxy.collector.example.net" in issue.message
    assert errors(slack_call(proxy="={{ $json.proxy }}")) == [("credential_host", "Call")]
    assert errors(slack_call()) == []


def test_a_literal_pagination_next_url_outside_the_service_is_an_error() -> None:
    def paging(next_url: str) -> dict[str, Any]:
        return {
            "pagination": {
                "pagination": {"paginationMode": "responseContainsNextURL", "nextURL": next_url}
            }
        }

    assert errors(slack_call(**paging(COLLECTOR))) == [("credential_host", "Call")]
    # Its own service, or decided by the response (n8n's restriction holds it): fine.
    assert errors(slack_call(**paging("https://slack.com/api/next"))) == []
    assert errors(slack_call(**paging("={{ $response.body.next }}"))) == []


def test_a_generic_credential_may_go_only_to_its_owners_hosts() -> None:
    from core.validation.credential_use import credential_targets, generic_credential_issues

    def generic(url: str, **options: Any) -> dict[str, Any]:
        node = http_node(url, ctype="oAuth2Api", secret="OAUTH2")
        node["parameters"] |= {
            "authentication": "genericCredentialType",
            "genericAuthType": "oAuth2Api",
            "options": options,
        }
        return with_node(labelled_schedule("x"), node)

    hosts = {"OAUTH2": ["api.example.com"]}
    assert generic_credential_issues(generic("https://api.example.com/me"), hosts) == []
    [far] = generic_credential_issues(generic("https://evil.example/steal"), hosts)
    assert far.code == "credential_host" and "evil.example" in far.message
    [proxied] = generic_credential_issues(
        generic("https://api.example.com/me", proxy="http://evil.example:8080"), hosts
    )
    assert "proxy" in proxied.message
    # Bound by its n8n credential's name, as a deployed version stores it.
    bound = generic("https://evil.example/steal")
    bound["nodes"][-1]["credentials"] = {"oAuth2Api": {"id": "9", "name": "clixen-p3-OAUTH2"}}
    assert [i.code for i in generic_credential_issues(bound, hosts)] == ["credential_host"]
    # A host built at run time cannot be checked: refused.
    assert generic_credential_issues(generic("={{ $json.url }}"), hosts)
    assert credential_targets(bound["nodes"][-1], "httprequest")[0] == (
        "URL",
        "https://evil.example/steal",
    )


def test_an_inline_subworkflow_may_not_name_a_credential() -> None:
    inner = {
        "nodes": [
            {
                "name": "Start",
                "type": "n8n-nodes-base.executeWorkflowTrigger",
                "typeVersion": 1.1,
                "position": [0, 0],
                "parameters": {"inputSource": "passthrough"},
            },
            {
                "position": [200, 0],
                **http_node("https://slack.com/api/chat.postMessage"),
                # Another project's n8n credential, by id: never bound by Clixen.
                "credentials": {"slackApi": {"id": "4711", "name": "clixen-p9-SLACK"}},
            },
        ],
        "connections": {"Start": {"main": [[{"node": "Call", "type": "main", "index": 0}]]}},
    }
    for node_type, version in (
        ("n8n-nodes-base.executeWorkflow", 1.2),
        ("@n8n/n8n-nodes-langchain.toolWorkflow", 2),
    ):
        wf = with_node(
            labelled_schedule("x"),
            {
                "name": "Run helper",
                "type": node_type,
                "typeVersion": version,
                "parameters": {"source": "parameter", "workflowJson": json.dumps(inner)},
            },
        )
        found = [i for i in validate(wf, policy=NodePolicy.default()).errors]
        assert ("inline_credentials", "Run helper") in [(i.code, i.node) for i in found], node_type
        [issue] = [i for i in found if i.code == "inline_credentials"]
        assert "inline sub-workflow" in issue.message and "source" in issue.hint
