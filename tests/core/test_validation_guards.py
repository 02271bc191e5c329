"""The validator's guards against what an LLM could slip past the node policy: inline
sub-workflows, AI-tool variants and odd spellings of denied types, and HTTP requests to internal
hosts (SSRF). Every case here deploys and activates on n8n 2.40.7 unless we refuse it."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from core.policy import NodePolicy
from core.validation import validate

DEFAULT = NodePolicy.default()


def node(
    name: str, type_: str, version: float, params: dict[str, Any], x: int = 0
) -> dict[str, Any]:
    return {
        "id": f"id-{name}",
        "name": name,
        "type": type_,
        "typeVersion": version,
        "position": [x, 0],
        "parameters": params,
    }


def hourly(*more: dict[str, Any]) -> dict[str, Any]:
    """Every hour → each node of `more`, in a chain."""
    nodes = [
        node(
            "Every hour",
            "n8n-nodes-base.scheduleTrigger",
            1.2,
            {"rule": {"interval": [{"field": "hours"}]}},
        ),
        *more,
    ]
    names = [n["name"] for n in nodes]
    return {
        "name": "guards",
        "nodes": nodes,
        "connections": {
            a: {"main": [[{"node": b, "type": "main", "index": 0}]]}
            for a, b in itertools.pairwise(names)
        },
        "settings": {"executionOrder": "v1"},
    }


def shell_subworkflow(command: str = "id") -> dict[str, Any]:
    """A sub-workflow whose one job is to run `command` on the n8n host."""
    return {
        "nodes": [
            node(
                "Start",
                "n8n-nodes-base.executeWorkflowTrigger",
                1.1,
                {"inputSource": "passthrough"},
            ),
            node("Shell", "n8n-nodes-base.executeCommand", 1, {"command": command}, 200),
        ],
        "connections": {"Start": {"main": [[{"node": "Shell", "type": "main", "index": 0}]]}},
    }


def harmless_subworkflow() -> dict[str, Any]:
    return {
        "nodes": [
            node(
                "Start",
                "n8n-nodes-base.executeWorkflowTrigger",
                1.1,
                {"inputSource": "passthrough"},
            ),
            node("Nothing", "n8n-nodes-base.noOp", 1, {}, 200),
        ],
        "connections": {"Start": {"main": [[{"node": "Nothing", "type": "main", "index": 0}]]}},
    }


def run_inline(sub: object, version: float = 1.2) -> dict[str, Any]:
    return node(
        "Run helper",
        "n8n-nodes-base.executeWorkflow",
        version,
        {"source": "parameter", "workflowJson": sub, "options": {}},
        200,
    )


def errors(wf: dict[str, Any], policy: NodePolicy | None = DEFAULT) -> list[tuple[str, str | None]]:
    return [(i.code, i.node) for i in validate(wf, policy=policy).errors]


# -- inline sub-workflows -----------------------------------------------------------------------


@pytest.mark.parametrize("as_text", [True, False], ids=["json-string", "object"])
@pytest.mark.parametrize("version", [1, 1.1, 1.2, 1.3])
def test_denied_node_inside_an_inline_subworkflow_is_denied_on_the_outer_node(
    as_text: bool, version: float
) -> None:
    sub = shell_subworkflow("cat /home/node/.n8n/config")
    wf = hourly(run_inline(json.dumps(sub) if as_text else sub, version))
    report = validate(wf, policy=DEFAULT)
    denied = [i for i in report.errors if i.code == "node_denied"]
    assert [i.node for i in denied] == ["Run helper"]
    assert "Shell" in denied[0].message and "Execute Command" in denied[0].message
    assert "shell commands" in denied[0].message  # the policy's reason reaches the user


def test_an_inline_subworkflow_of_allowed_nodes_passes() -> None:
    wf = hourly(run_inline(json.dumps(harmless_subworkflow())))
    assert errors(wf) == []


def test_the_ai_tool_form_of_an_inline_subworkflow_is_checked_too() -> None:
    sub = {
        "nodes": [node("Hop", "n8n-nodes-base.ssh", 1, {"command": "id"})],
        "connections": {},
    }
    tool = node(
        "Helper tool",
        "@n8n/n8n-nodes-langchain.toolWorkflow",
        2.2,
        {"description": "helps", "source": "parameter", "workflowJson": json.dumps(sub)},
        200,
    )
    report = validate(hourly(tool), policy=DEFAULT)
    denied = [i for i in report.errors if i.code == "node_denied"]
    assert [i.node for i in denied] == ["Helper tool"] and "Hop" in denied[0].message


def test_nested_inline_subworkflows_are_checked_down_to_a_depth_cap() -> None:
    inner = run_inline(json.dumps(shell_subworkflow()))
    middle = {"nodes": [inner], "connections": {}}
    wf = hourly(run_inline(json.dumps(middle)))
    assert ("node_denied", "Run helper") in errors(wf)

    # Nesting deeper than the cap is refused rather than left unchecked.
    sub: dict[str, Any] = harmless_subworkflow()
    for _ in range(10):
        sub = {"nodes": [run_inline(json.dumps(sub))], "connections": {}}
    report = validate(hourly(run_inline(sub)), policy=DEFAULT)
    assert [(i.code, i.node) for i in report.errors] == [
        ("subworkflow_source_denied", "Run helper")
    ]
    assert "deep" in report.errors[0].message


@pytest.mark.parametrize(
    ("source", "extra"),
    [
        ("url", {"workflowUrl": "https://example.com/wf.json"}),
        ("localFile", {"workflowPath": "/home/node/wf.json"}),
    ],
)
def test_subworkflow_from_a_url_or_a_file_is_refused(source: str, extra: dict[str, str]) -> None:
    wf = hourly(
        node("Run helper", "n8n-nodes-base.executeWorkflow", 1, {"source": source, **extra})
    )
    report = validate(wf, policy=DEFAULT)
    assert [(i.code, i.node) for i in report.errors] == [
        ("subworkflow_source_denied", "Run helper")
    ]
    assert "database" in report.errors[0].hint and "same project" in report.errors[0].hint
    assert errors(wf, policy=None) == []  # a policy check: `clixen validate --no-policy` skips it


@pytest.mark.parametrize(
    "params",
    [
        {"source": "parameter", "workflowJson": "={{ $json.body.workflow }}"},
        {"source": "={{ $json.source }}", "workflowJson": "{}"},
        {"source": "parameter", "workflowJson": "{nodes: [ /* not JSON */ ]}"},
    ],
    ids=["json-from-expression", "source-from-expression", "not-json"],
)
def test_an_inline_subworkflow_that_cannot_be_read_is_refused(params: dict[str, Any]) -> None:
    wf = hourly(node("Run helper", "n8n-nodes-base.executeWorkflow", 1.2, params))
    # (A source chosen at run time also shows every source's required parameters as missing.)
    assert ("subworkflow_source_denied", "Run helper") in errors(wf)
    assert errors(wf, policy=None) == errors(wf)[1:]


def test_a_subworkflow_from_the_database_is_fine() -> None:
    params = {"source": "database", "workflowId": {"__rl": True, "mode": "id", "value": "abc123"}}
    wf = hourly(node("Run helper", "n8n-nodes-base.executeWorkflow", 1.2, params))
    assert errors(wf) == []


# -- tool variants and spellings of denied types ------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "why"),
    [
        ("n8n-nodes-base.gitTool", "Git"),
        ("n8n-nodes-base.executeCommandTool", "shell commands"),
        ("n8n-nodes-base.readWriteFileTool", "files"),
        ("n8n-nodes-base.sshTool", "SSH"),
        ("n8n-nodes-base.n8nTool", "n8n instance"),
        ("@n8n/n8n-nodes-langchain.code", "JavaScript"),
        ("N8N-NODES-BASE.ExecuteCommand", "shell commands"),
        ("n8n-nodes-base.SSH", "SSH"),
        ("n8n-nodes-base.gittool", "Git"),
        ("sshTool", "SSH"),
        ("readWriteFileTool", "files"),
        ("GIT", "Git"),
    ],
)
def test_tool_variants_and_odd_spellings_of_denied_types_are_denied(type_: str, why: str) -> None:
    wf = hourly(node("Sneaky", type_, 1, {"command": "id"}, 200))
    report = validate(wf, policy=DEFAULT)
    assert [(i.code, i.node) for i in report.errors] == [("node_denied", "Sneaky")]
    assert why in report.errors[0].message


def test_policy_matches_variants_and_spellings() -> None:
    assert DEFAULT.is_denied("n8n-nodes-base.gitTool")
    assert DEFAULT.why("n8n-nodes-base.gitTool") == DEFAULT.why("n8n-nodes-base.git")
    assert DEFAULT.is_denied("@n8n/n8n-nodes-langchain.code")
    assert not DEFAULT.is_denied("n8n-nodes-base.code")
    assert not DEFAULT.is_denied("n8n-nodes-base.slackTool")
    own = NodePolicy.from_json({"deny": ["n8n-nodes-base.slack"], "allow": ["n8n-nodes-base.git"]})
    # A project's own deny entries cover the tool variant the same way.
    assert own.is_denied("n8n-nodes-base.slackTool") and own.is_denied("N8N-NODES-BASE.SLACK")
    assert "owner" in own.why("n8n-nodes-base.slackTool")
    # Allowing a type allows its tool variant; allowing only the variant keeps the type denied.
    assert not own.is_denied("n8n-nodes-base.gitTool")
    tool_only = NodePolicy.from_json({"allow": ["n8n-nodes-base.gitTool"]})
    assert not tool_only.is_denied("n8n-nodes-base.gitTool")
    assert tool_only.is_denied("n8n-nodes-base.git")


def test_a_project_deny_entry_stops_the_tool_variant_in_a_workflow() -> None:
    own = NodePolicy.from_json({"deny": ["n8n-nodes-base.slack"]})
    wf = hourly(node("Post", "n8n-nodes-base.slackTool", 2.3, {"text": "hi"}, 200))
    assert ("node_denied", "Post") in errors(wf, policy=own)


def test_unprefixed_code_still_points_at_the_code_node() -> None:
    wf = hourly(node("Run JS", "code", 2, {"jsCode": "return $input.all();"}, 200))
    report = validate(wf, policy=DEFAULT)
    assert [i.code for i in report.errors] == ["unknown_node_type"]
    assert "n8n-nodes-base.code" in report.errors[0].hint


# -- HTTP requests to internal hosts (SSRF) -----------------------------------------------------


def fetch(
    url: str, type_: str = "n8n-nodes-base.httpRequest", version: float = 4.2
) -> dict[str, Any]:
    return hourly(node("Fetch", type_, version, {"url": url, "options": {}}, 200))


INTERNAL = [
    ("http://127.0.0.1:5678/rest/settings", "127.0.0.1"),
    ("http://localhost:5678/", "localhost"),
    ("http://n8n.localhost/", "n8n.localhost"),
    ("http://LOCALHOST./", "localhost"),
    ("http://[::1]:5678/", "::1"),
    ("http://[::ffff:127.0.0.1]/", "127.0.0.1"),
    ("http://[::ffff:a9fe:a9fe]/latest/meta-data/", "169.254.169.254"),
    ("http://10.1.2.3/admin", "10.1.2.3"),
    ("http://172.20.0.5/", "172.20.0.5"),
    ("http://192.168.1.1/", "192.168.1.1"),
    ("http://169.254.169.254/latest/meta-data/iam/", "169.254.169.254"),
    ("http://metadata.google.internal/computeMetadata/v1/", "metadata.google.internal"),
    ("http://0.0.0.0:5678/", "0.0.0.0"),  # noqa: S104 - a URL, not a bind address
    ("http://100.64.0.1/", "100.64.0.1"),
    ("http://2130706433/", "127.0.0.1"),
    ("http://0x7f000001/", "127.0.0.1"),
    ("http://0177.0.0.1/", "127.0.0.1"),
    ("http://127.1/", "127.0.0.1"),
    ("http://127.0.0.%31/", "127.0.0.1"),
    ("http://user:pw@127.0.0.1/", "127.0.0.1"),
    ("http://127.0.0.1\\@example.com/", "127.0.0.1"),
    ("127.0.0.1:5678/rest", "127.0.0.1"),
    ("=http://10.0.0.7/items/{{ $json.id }}", "10.0.0.7"),
    ("http://postgres:5432/", "postgres"),
]


@pytest.mark.parametrize(("url", "host"), INTERNAL)
def test_http_request_to_an_internal_host_is_an_error_naming_the_host(url: str, host: str) -> None:
    report = validate(fetch(url), policy=DEFAULT)
    assert [(i.code, i.node) for i in report.errors] == [("internal_host", "Fetch")]
    assert host in report.errors[0].message
    assert "allow-host" in report.errors[0].hint


@pytest.mark.parametrize(
    "type_",
    [
        "n8n-nodes-base.httpRequestTool",
        "@n8n/n8n-nodes-langchain.toolHttpRequest",
    ],
)
def test_http_tools_are_checked_like_the_http_request_node(type_: str) -> None:
    version = 1.1 if "langchain" in type_ else 4.2
    report = validate(fetch("http://169.254.169.254/", type_, version), policy=DEFAULT)
    assert ("internal_host", "Fetch") in [(i.code, i.node) for i in report.errors]


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/feed",
        "https://api.github.com/repos/x/y",
        "http://8.8.8.8/",
        "https://10.example.com/",
        "https://[2606:4700:4700::1111]/",
    ],
)
def test_public_hosts_pass(url: str) -> None:
    report = validate(fetch(url), policy=DEFAULT)
    assert report.valid and report.warnings == [], report.to_dict()


@pytest.mark.parametrize(
    "url",
    ["={{ $json.url }}", "=http://{{ $json.host }}/x", "=https://api.{{ $json.domain }}/x"],
)
def test_a_url_built_at_run_time_is_a_warning_that_says_so(url: str) -> None:
    report = validate(fetch(url), policy=DEFAULT)
    assert report.valid
    # (the Schedule Trigger before it outputs no such field: that is an unknown_output_field)
    [warning] = [w for w in report.warnings if w.code != "unknown_output_field"]
    assert (warning.code, warning.node) == ("url_not_checked", "Fetch")
    assert "run time" in warning.message


def test_an_http_request_inside_an_inline_subworkflow_is_checked_too() -> None:
    sub = {"nodes": [node("Peek", "n8n-nodes-base.httpRequest", 4.2, {"url": "http://10.0.0.1/"})]}
    wf = hourly(run_inline(json.dumps(sub)))
    assert errors(wf) == [("internal_host", "Run helper")]


def test_a_project_may_allow_internal_hosts_by_name_ip_or_network() -> None:
    policy = NodePolicy.from_json(
        {"allow_hosts": ["grafana.internal", "127.0.0.1", "10.20.0.0/16", "::1"]}
    )
    assert policy.allowed_hosts == ("grafana.internal", "127.0.0.1", "10.20.0.0/16", "::1")
    for url in (
        "http://grafana.internal/api",
        "http://GRAFANA.internal./api",
        "http://127.0.0.1:8080/",
        "http://2130706433/",
        "http://10.20.3.4/",
        "http://[::1]/",
    ):
        assert validate(fetch(url), policy=policy).valid, url
    assert not validate(fetch("http://10.21.0.1/"), policy=policy).valid
    assert not validate(fetch("http://localhost/"), policy=policy).valid


def test_allowed_hosts_must_be_hosts() -> None:
    from core.errors import InvalidInput

    for bad in ("http://10.0.0.1/", "a b", "", "10.0.0.0/99"):
        with pytest.raises(InvalidInput):
            NodePolicy.from_json({"allow_hosts": [bad]})
