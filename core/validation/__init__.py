"""Our in-process validator of n8n workflow JSON: fast, no network, tuned to what n8n rejects.

`validate(wf, catalog=, policy=) -> ValidationReport` is the whole public surface; each `Issue`
carries a `hint`, one actionable sentence the repair prompt can pass to the LLM. Rules follow
what n8n 2.40.7 itself does (measured in benchmarks/validator_bench.py): errors are
things n8n rejects at create/activation or that fail for sure at run time; warnings are likely
mistakes that n8n accepts.

With a policy (`core.workspace.policy.NodePolicy`; every deploy passes the project's), the LLM's
output is also held to it wherever it could hide: a denied type is `node_denied` in any spelling or
as its AI-tool variant; an inline sub-workflow (Execute Workflow / Call n8n Workflow Tool with
`source: "parameter"`) is checked like the workflow itself, down to `MAX_SUBWORKFLOW_DEPTH`, and
its findings are reported on the outer node; sub-workflows from a URL, a file, an expression or
nested deeper are `subworkflow_source_denied`; a sub-workflow from n8n's database that is not one
of the project's live workflows (`NodePolicy.workflows`, filled by `policy_for_project`), or whose
id is an expression, is `foreign_workflow`; every URL a node fetches (`guards.FETCHED_URLS`: HTTP
Request and its tools, RSS, GraphQL, SSE, MCP client, LLM `baseURL` overrides, any node's proxy,
…) on an internal host is `internal_host` unless the project allows it (`allow_hosts`), and a
host built at run time is a `url_not_checked` warning. Without a policy none of these run.
With or without one, a predefined credential sent outside its service's domains is
`credential_host` and the Clixen bot's token on a node other than Slack's is
`bot_token_misused` (`credential_use`).

The package, by job: `report` (Issue, ValidationReport), `checker` (the checks combined over one
workflow), `base` (what a check is given), `nodes` and `connections` (the checks, each a function
returning its issues), `guards` (sub-workflows and fetched hosts, under the
policy) with `hosts` (which host a URL calls and whether it is internal; no DNS),
`credential_use` (where a node sends its credential), `parameters` (displayOptions and
required parameters), `expressions` (`={{ … }}` syntax), `output_fields` (warnings for fields
read that the upstream node's output schema lacks), `fixes` (what needs no LLM to repair,
applied before validating), `shapes` (what n8n's API accepts per
field), and `mcp` (the n8n-mcp server's second opinion — import it from `core.validation.mcp`:
it loads the MCP SDK, which the CLI's `validate` must not pay for).
"""

from core.validation.checker import validate
from core.validation.expressions import expression_problem
from core.validation.report import Issue, Severity, ValidationReport

__all__ = ["Issue", "Severity", "ValidationReport", "expression_problem", "validate"]
