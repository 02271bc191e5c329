"""The validator's guards against what an LLM could slip past the node policy: inline
sub-workflows, AI-tool variants and odd spellings of denied types, and HTTP requests to internal
hosts (SSRF). Every case here deploys and activates on n8n 2.40.7 unless we refuse it."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from core.validation import validate
from core.workspace.policy import NodePolicy

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
    from core.kernel.errors import InvalidInput

    for bad in ("http://10.0.0.1/", "a b", "", "10.0.0.0/99"):
        with pytest.raises(InvalidInput):
            NodePolicy.from_json({"allow_hosts": [bad]})


# -- which workflows a node may call (source "database") ----------------------------------------

OURS = NodePolicy.from_json(None, workflows={"AbC123": "digest", "xYz789": "error handler"})


def call(workflow_id: object, type_: str = "executeWorkflow", version: float = 1.2) -> dict:
    prefix = "@n8n/n8n-nodes-langchain." if type_ == "toolWorkflow" else "n8n-nodes-base."
    params: dict[str, Any] = {"workflowId": workflow_id}
    if type_ == "toolWorkflow":
        params["description"] = "helps"
    return hourly(node("Run helper", prefix + type_, version, params, 200))


def rl(value: str, mode: str = "id") -> dict[str, Any]:
    return {"__rl": True, "mode": mode, "value": value}


@pytest.mark.parametrize(
    ("workflow_id", "type_", "version"),
    [
        ("AbC123", "executeWorkflow", 1),
        (rl("AbC123"), "executeWorkflow", 1.1),
        (rl("AbC123", "list"), "executeWorkflow", 1.3),
        ("xYz789", "toolWorkflow", 1.1),
        (rl("xYz789", "list"), "toolWorkflow", 2.2),
    ],
)
def test_a_node_may_call_a_workflow_of_its_own_project(
    workflow_id: object, type_: str, version: float
) -> None:
    assert errors(call(workflow_id, type_, version), policy=OURS) == []


@pytest.mark.parametrize(
    ("workflow_id", "type_", "version"),
    [
        ("TheIrS01", "executeWorkflow", 1),
        (rl("TheIrS01"), "executeWorkflow", 1.2),
        (rl("TheIrS01", "list"), "executeWorkflow", 1.3),
        (rl("https://n8n.example.com/workflow/TheIrS01", "url"), "executeWorkflow", 1.2),
        (rl("https://n8n.example.com/home", "url"), "executeWorkflow", 1.2),
        ("TheIrS01", "toolWorkflow", 1),
        (rl("TheIrS01"), "toolWorkflow", 2.2),
        (rl("https://n8n.example.com/workflow/AbC123"), "executeWorkflow", 1.2),  # not url mode
    ],
)
def test_a_workflow_of_another_project_is_refused_naming_what_may_be_called(
    workflow_id: object, type_: str, version: float
) -> None:
    report = validate(call(workflow_id, type_, version), policy=OURS)
    assert [(i.code, i.node) for i in report.errors] == [("foreign_workflow", "Run helper")]
    issue = report.errors[0]
    assert "Run helper" in issue.message and "same project" in issue.message
    assert '"digest" (AbC123)' in issue.hint and '"error handler" (xYz789)' in issue.hint


@pytest.mark.parametrize(
    "url",
    ["https://n8n.example.com/workflow/AbC123", "http://n8n:5678/workflow/AbC123/executions?x=1"],
)
def test_a_workflow_of_the_project_named_by_url_is_read_but_must_be_given_by_id(url: str) -> None:
    # The id is read out of the URL (so a foreign one is refused above), but n8n 2.40.7 looks
    # the locator's value up as is: the fix it needs is mode "id".
    [issue] = validate(call(rl(url, "url")), policy=OURS).errors
    assert (issue.code, issue.node) == ("invalid_parameter_value", "Run helper")
    assert '"digest"' in issue.message and '"value": "AbC123"' in issue.hint


@pytest.mark.parametrize(
    "workflow_id",
    ["={{ $json.workflowId }}", rl("={{ $json.id }}"), rl("={{ $fromAI('id') }}", "list")],
)
def test_a_workflow_id_built_at_run_time_is_refused_saying_why(workflow_id: object) -> None:
    report = validate(call(workflow_id), policy=OURS)
    refused = [i for i in report.errors if i.node == "Run helper"]
    assert [i.code for i in refused] == ["foreign_workflow"]
    assert "deploy time" in refused[0].message


def test_a_project_without_workflows_to_call_says_so() -> None:
    none = NodePolicy.from_json(None, workflows={})
    [issue] = validate(call(rl("AbC123")), policy=none).errors
    assert issue.code == "foreign_workflow" and "no deployed workflow" in issue.hint


def test_a_call_inside_an_inline_subworkflow_is_checked_too() -> None:
    inner = node("Hop", "n8n-nodes-base.executeWorkflow", 1.2, {"workflowId": rl("TheIrS01")})
    wf = hourly(run_inline(json.dumps({"nodes": [inner], "connections": {}})))
    assert errors(wf, policy=OURS) == [("foreign_workflow", "Run helper")]


def test_without_the_project_s_workflows_the_call_is_not_checked() -> None:
    # `clixen validate` has no database: it cannot know the project's workflows.
    assert errors(call(rl("TheIrS01")), policy=DEFAULT) == []


# -- other nodes that fetch a URL (SSRF beyond HTTP Request) ------------------------------------

METADATA_URL = "http://169.254.169.254/latest/meta-data/"


def fetcher(type_: str, version: float, params: dict[str, Any]) -> dict[str, Any]:
    return hourly(node("Fetch", type_, version, params, 200))


FETCHERS = [
    ("n8n-nodes-base.rssFeedRead", 1.2, {"url": METADATA_URL}),
    ("n8n-nodes-base.rssFeedReadTool", 1.2, {"url": METADATA_URL}),
    ("n8n-nodes-base.graphql", 1.1, {"endpoint": METADATA_URL, "query": "{ a }"}),
    ("n8n-nodes-base.graphqlTool", 1.1, {"endpoint": METADATA_URL, "query": "{ a }"}),
    ("n8n-nodes-base.sseTrigger", 1, {"url": METADATA_URL}),
    ("@n8n/n8n-nodes-langchain.mcpClientTool", 1.1, {"endpointUrl": METADATA_URL}),
    ("@n8n/n8n-nodes-langchain.mcpClientTool", 1, {"sseEndpoint": METADATA_URL}),
    (
        "n8n-nodes-base.httpRequest",
        4.2,
        {
            "url": "https://api.example.com/items",
            "options": {
                "pagination": {
                    "pagination": {
                        "paginationMode": "responseContainsNextURL",
                        "nextURL": METADATA_URL,
                    }
                }
            },
        },
    ),
    (
        "@n8n/n8n-nodes-langchain.lmChatOpenAi",
        1.2,
        {"model": "gpt-4o-mini", "options": {"baseURL": METADATA_URL}},
    ),
    ("n8n-nodes-base.discord", 1, {"webhookUri": METADATA_URL, "text": "hi"}),
    (
        "n8n-nodes-base.httpRequest",
        4.2,
        {"url": "https://api.example.com/", "options": {"proxy": "http://169.254.169.254:80"}},
    ),
    # Any declarative app node may send its requests through a proxy of the workflow's choice.
    (
        "n8n-nodes-base.adalo",
        1,
        {"collectionId": "c", "requestOptions": {"proxy": "http://169.254.169.254:3128"}},
    ),
]


@pytest.mark.parametrize(("type_", "version", "params"), FETCHERS)
def test_every_url_a_node_fetches_is_checked_for_internal_hosts(
    type_: str, version: float, params: dict[str, Any]
) -> None:
    report = validate(fetcher(type_, version, params), policy=DEFAULT)
    assert ("internal_host", "Fetch") in [(i.code, i.node) for i in report.errors]
    [issue] = [i for i in report.errors if i.code == "internal_host"]
    assert "169.254.169.254" in issue.message and "allow-host" in issue.hint
    allowed = NodePolicy.from_json({"allow_hosts": ["169.254.169.254"]})
    assert "internal_host" not in [
        i.code for i in validate(fetcher(type_, version, params), policy=allowed).errors
    ]


def test_the_rss_trigger_feed_url_is_checked() -> None:
    trigger = node(
        "Feed", "n8n-nodes-base.rssFeedReadTrigger", 1, {"feedUrl": "http://10.0.0.2/rss"}
    )
    wf = {"name": "t", "nodes": [trigger], "connections": {}, "settings": {"executionOrder": "v1"}}
    assert ("internal_host", "Feed") in errors(wf)


def test_a_fetched_url_built_at_run_time_is_a_warning() -> None:
    report = validate(
        fetcher("n8n-nodes-base.rssFeedRead", 1.2, {"url": "={{ $json.feed }}"}), policy=DEFAULT
    )
    assert report.valid
    assert ("url_not_checked", "Fetch") in [(w.code, w.node) for w in report.warnings]


def test_public_feed_urls_pass() -> None:
    report = validate(
        fetcher(
            "n8n-nodes-base.graphql",
            1.1,
            {"endpoint": "https://api.github.com/graphql", "query": "{ a }"},
        ),
        policy=DEFAULT,
    )
    assert "internal_host" not in [i.code for i in report.errors]


def code_node(field: str, code: str, type_: str = "n8n-nodes-base.code") -> dict[str, Any]:
    params = {"language": "python", field: code} if field == "pythonCode" else {field: code}
    return node("Peek", type_, 2 if type_.endswith("code") else 1, params, 220)


def code_warnings(wf: dict[str, Any], policy: NodePolicy = DEFAULT) -> list[tuple[str, str]]:
    report = validate(wf, policy=policy)
    return [
        (i.node or "", i.message)
        for i in report.warnings
        if i.code == "internal_host_in_code" and i.severity == "warning"
    ]


@pytest.mark.parametrize(
    ("field", "code", "host"),
    [
        (
            "jsCode",
            "return [{json: await this.helpers.httpRequest({method: 'POST', "
            "url: 'http://169.254.169.254/latest/meta-data/iam/'})}];",
            "169.254.169.254",
        ),
        (
            "pythonCode",
            "r = _helpers.httpRequest({'url': \"http://localhost:5678/rest/credentials\"})",
            "localhost",
        ),
        ("jsCode", "const u = `http://10.1.2.3:8080/admin`; return [];", "10.1.2.3"),
        ("jsCode", "const u = 'https://[::ffff:127.0.0.1]/'; return [];", "127.0.0.1"),
    ],
)
def test_a_literal_internal_url_in_code_is_a_warning_naming_the_host(
    field: str, code: str, host: str
) -> None:
    [(name, message)] = code_warnings(hourly(code_node(field, code)))
    assert name == "Peek" and host in message and "helpers.httpRequest" in message
    assert validate(hourly(code_node(field, code)), policy=DEFAULT).valid


def test_ai_transform_code_is_checked_and_public_or_allowed_hosts_are_not_warned() -> None:
    peek = "await this.helpers.httpRequest({url: 'http://169.254.169.254/'}); return [];"
    wf = hourly(code_node("jsCode", peek, "n8n-nodes-base.aiTransform"))
    assert [n for n, _ in code_warnings(wf)] == ["Peek"]
    public = "await this.helpers.httpRequest({url: 'https://api.github.com/'}); return [];"
    assert code_warnings(hourly(code_node("jsCode", public))) == []
    allowed = NodePolicy.from_json({"allow_hosts": ["169.254.169.254"]})
    assert code_warnings(wf, allowed) == []
