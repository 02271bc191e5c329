"""The gate every workflow passes before n8n gets it, whether it is deployed (`deploy_version`)
or run once on a test copy (`core.run_now.run_now`), so neither can skip a step:

1. `parse`: the size guards (`sanitize_workflow_json`), the n8n workflow model, and only the
   fields n8n's API takes;
2. `check`: every node that needs a credential and names none gets the project's only secret of
   an accepted type (`core.credentials.resolve`; never the bot's token) — before the digest, so
   a bound workflow is validated once —, settings cut to what the product sets
   (`filter_settings`; each change is a progress line), the validator with the project's node
   policy *as it is today*; raises ValidationFailed, then CredentialsMissing before anything
   reaches n8n;
3. `bind` (between transactions: it calls n8n): node credentials bound to the project's own n8n
   credentials; every reference then carries an id, so n8n never picks "the first credential of
   that type" in the whole instance (another project's).

Names starting with `TEST_COPY_PREFIX` belong to test copies: `unreserved_name` renames any other
workflow that would carry it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from core.catalog import NodeCatalog, default_catalog
from core.catalog.credential_domains import allowed_domains
from core.catalog.credential_needs import CredentialNeed, node_host, secret_command
from core.credentials import needs as credentials
from core.credentials import secrets
from core.credentials import sync as credential_sync
from core.credentials.resolve import Resolution, resolve
from core.deploy.errors import CredentialsMissing, ValidationFailed
from core.deploy.publish import SayLine
from core.deploy.workflow_settings import filter_settings
from core.kernel.errors import InvalidInput, PermissionDenied
from core.kernel.safety import sanitize_workflow_json
from core.kernel.settings import Settings
from core.n8n import N8nClient
from core.n8n.workflow_json import N8nWorkflow, checksum, to_n8n_payload
from core.validation import Issue, ValidationReport, validate
from core.validation.credential_use import generic_credential_issues
from core.validation.fixes import apply_deterministic_fixes, known_versions
from core.validation.output_fields import UNKNOWN_FIELD
from core.validation.report import MCP_ISSUE_CODE
from core.workspace.policy import NodePolicy, policy_for_project

if TYPE_CHECKING:
    # n8n-mcp's client loads its SDK (~1 s): the gate only calls the one it is handed.
    from core.validation.mcp import McpValidator

log = logging.getLogger(__name__)

# The name every test copy carries in n8n (what a user sees there); reserved to them.
TEST_COPY_PREFIX = "[clixen test] "


def unreserved_name(name: str) -> str:
    """`name` without the test copies' prefix (however cased or spaced), so no workflow of a
    user or the LLM is ever taken for a test copy; "Workflow" when nothing else is left."""
    text = name.strip()
    reserved = TEST_COPY_PREFIX.strip().lower()
    while text.lower().startswith(reserved):
        text = text[len(reserved) :].strip()
    return text or "Workflow"


def parse(json_payload: Mapping[str, Any] | N8nWorkflow) -> tuple[N8nWorkflow, dict[str, Any]]:
    """The workflow as a model (for validation) and as the JSON we will send (as given, only
    stripped of the fields n8n's API refuses). Every path goes through here, so the size guards
    (`sanitize_workflow_json`: nodes, depth, string and total length, pinned data) hold for
    generated, repaired, edited, imported, rolled-back and test-run workflows alike."""
    if isinstance(json_payload, N8nWorkflow):
        json_payload = json_payload.model_dump(mode="json", by_alias=True, exclude_none=True)
    if not isinstance(json_payload, Mapping):
        raise InvalidInput("A workflow JSON must be an object with nodes and connections.")
    clean = sanitize_workflow_json(dict(json_payload))
    try:
        model = N8nWorkflow.model_validate(clean)
    except ValueError as e:
        raise InvalidInput(f"That is not a valid n8n workflow JSON: {e}") from e
    return model, to_n8n_payload(clean)


@dataclass(frozen=True)
class Inspection:
    """A payload as the gate sees it: the project's secrets bound by name to the nodes that need
    one (`core.credentials.resolve`), settings cut, the validator's report under the project's
    policy of today, and the digest of that (`check(checked=digest)` skips validating the very
    same bytes under the very same policy a second time)."""

    payload: dict[str, Any]
    report: ValidationReport
    policy: NodePolicy
    digest: str
    missing: list[CredentialNeed]
    secrets: dict[str, str | None]


def _prepare(
    session: Session,
    project_id: int,
    payload: dict[str, Any],
    say: SayLine,
    catalog: NodeCatalog,
    project: tuple[NodePolicy, list[secrets.SecretInfo]] | None = None,
) -> tuple[
    dict[str, Any],
    NodePolicy,
    str,
    Resolution,
    dict[str, str | None],
    list[secrets.SecretInfo],
]:
    # `project`: the policy and secrets as the caller just read them (else read here).
    if project is None:
        project = (
            policy_for_project(session=session, project_id=project_id),
            secrets.list_secrets(session=session, project_id=project_id),
        )
    policy, infos = project
    # Bound before the digest: the deploy of a workflow the pipeline bound validates it once.
    types = {i.name: i.credential_type for i in infos}
    resolution = resolve(payload, types, catalog)
    payload, changes = filter_settings(
        session=session, project_id=project_id, payload=resolution.workflow
    )
    for change in changes:
        log.info("project %s: %s", project_id, change)
        say(change)
    digest = f"{checksum(payload)}:{policy.fingerprint()}:{_hosts_print(infos)}"
    return payload, policy, digest, resolution, types, infos


def _hosts_print(infos: list[secrets.SecretInfo]) -> str:
    return checksum({"hosts": [[i.name, i.credential_type, list(i.allowed_hosts)] for i in infos]})


def _validated(
    payload: dict[str, Any],
    policy: NodePolicy,
    catalog: NodeCatalog,
    infos: list[secrets.SecretInfo],
) -> ValidationReport:
    """The validator's report, with where each generic credential may go (its owner's hosts)."""
    report = validate(payload, policy=policy, catalog=catalog)
    hosts_of = {
        i.name: allowed_domains(i.credential_type or "", {}, i.allowed_hosts) for i in infos
    }
    extra = generic_credential_issues(payload, hosts_of)
    return ValidationReport([*report.issues, *extra]) if extra else report


def inspect(
    *,
    session: Session,
    project_id: int,
    payload: dict[str, Any],
    say: SayLine,
    catalog: NodeCatalog | None = None,
    project: tuple[NodePolicy, list[secrets.SecretInfo]] | None = None,
) -> Inspection:
    """What `check` would find, without raising: the pipeline's validate step uses it, so the
    deploy that follows need not validate the same workflow again. `project`: the project's
    policy and secrets as the caller just read them (else read here)."""
    catalog = catalog or default_catalog()
    payload, policy, digest, resolution, types, infos = _prepare(
        session, project_id, payload, say, catalog, project
    )
    report = _validated(payload, policy, catalog, infos)
    return Inspection(payload, report, policy, digest, resolution.missing, types)


@dataclass(frozen=True)
class Review:
    """A candidate as the gate sees it before a deploy (the pipeline's validate step): the
    deterministic fixes applied (`fixes`, in words), the project's only secret of each needed
    type bound (before the digest), validated as `check` would (plus n8n-mcp's second opinion).
    `problems`: what a repair must fix (errors, with the warnings that help next to them; else a
    reference to a secret of another type); `missing`: nodes the user must give a credential;
    `digest`: when our validator found no error, what `check(checked=…)` skips validating again;
    `field_warnings`: fields read that upstream nodes do not output (for a runtime repair)."""

    workflow: dict[str, Any]
    fixes: list[str]
    missing: list[CredentialNeed]
    problems: list[Issue]
    digest: str | None
    field_warnings: list[Issue]


def review(
    candidate: Mapping[str, Any],
    *,
    session_factory: sessionmaker[Session],
    project_id: int,
    project: tuple[NodePolicy, Sequence[secrets.SecretInfo]],
    catalog: NodeCatalog,
    ask: Sequence[str] = (),
    mcp: McpValidator | None = None,
) -> Review:
    """`candidate` fixed, bound and validated under the project as the caller read it
    (`project`: its policy and secrets). `ask`: nodes whose credential the user chooses again
    (whatever the candidate names there is dropped, never bound by type alone)."""
    fixed, fixes = apply_deterministic_fixes(candidate, known_versions=known_versions(catalog))
    for node in fixed.get("nodes") or []:
        if isinstance(node, dict) and node.get("name") in ask:
            node.pop("credentials", None)  # whatever a repair wrote there: the user chooses
    policy, infos = project
    types = {i.name: i.credential_type for i in infos}
    resolution = resolve(fixed, types, catalog, ask=ask)
    workflow = resolution.workflow
    _, payload = parse(workflow)
    with session_factory() as session:
        inspection = inspect(
            session=session,
            project_id=project_id,
            payload=payload,
            say=lambda _line: None,  # the deploy reports the settings it cut
            catalog=catalog,
            project=(policy, list(infos)),
        )
    report = inspection.report
    digest = inspection.digest if report.valid else None
    field_warnings = [i for i in report.warnings if i.code == UNKNOWN_FIELD][:5]
    if mcp is not None:
        report = mcp.second_opinion(workflow, report)
    problems = report.errors
    if problems:
        # n8n-mcp's findings and fields read that the upstream node lacks never block, but next
        # to real errors they can help the repair.
        extra = [i for i in report.warnings if i.code in (MCP_ISSUE_CODE, UNKNOWN_FIELD)][:5]
        problems = [*problems, *extra]
    else:
        issues = credentials.credential_issues(workflow, catalog, types)
        problems = [i for i in issues if i.code == "wrong_credential_type"]
    return Review(workflow, fixes, resolution.missing, problems, digest, field_warnings)


def check(
    *,
    session: Session,
    project_id: int,
    payload: dict[str, Any],
    say: SayLine,
    not_done: str = "deployed",
    catalog: NodeCatalog | None = None,
    checked: str | None = None,
) -> tuple[dict[str, Any], NodePolicy]:
    """`payload` with its missing credentials bound (by secret name) and its settings cut, and
    the project's policy of today it was validated under. Raises ValidationFailed (saying the
    workflow was not `not_done`) on any error, then CredentialsMissing, before any n8n call,
    when a node cannot get a credential. `checked`: the digest of an `inspect` that found no
    error; when the payload and today's policy give that same digest, it is not validated
    again."""
    catalog = catalog or default_catalog()
    payload, policy, digest, resolution, types, infos = _prepare(
        session, project_id, payload, say, catalog
    )
    if checked != digest:
        say("validating")
        report = _validated(payload, policy, catalog, infos)
        if not report.valid:
            raise ValidationFailed(report, not_done=not_done)
    if resolution.missing:
        raise CredentialsMissing(
            credentials.unbound_message(resolution.missing, types),
            needs=[(n.node, n.types) for n in resolution.missing],
        )
    return payload, policy


def bind(
    session_factory: sessionmaker[Session],
    *,
    n8n: N8nClient,
    project_id: int,
    payload: dict[str, Any],
    settings: Settings,
    say: SayLine,
) -> dict[str, Any]:
    """`payload` with node credentials bound to the project's n8n credentials (unchanged when
    no node has credentials, so workflows without secrets need no CLIXEN_SECRET_KEY); n8n is
    called with no transaction open (call it between transactions). Raises PermissionDenied for
    a credential that is not the project's, InvalidInput for one it lacks."""
    if any(isinstance(n, dict) and n.get("credentials") for n in payload.get("nodes") or []):
        key = secrets.secret_key(settings)
        say("binding project secrets as n8n credentials")
        payload = credential_sync.sync_project_credentials(
            session_factory=session_factory,
            project_id=project_id,
            n8n=n8n,
            key=key,
            workflow_json=payload,
        )
    require_credential_ids(payload)
    return payload


def require_credential_ids(workflow: Mapping[str, Any]) -> None:
    """Raise PermissionDenied when a node's credential reference has no id: n8n resolves a
    reference by name or type alone to the first credential of that type in the whole instance,
    which may be another project's."""
    for node in workflow.get("nodes") or []:
        creds = node.get("credentials") if isinstance(node, Mapping) else None
        if not creds:
            continue
        refs = creds.items() if isinstance(creds, Mapping) else [("?", creds)]
        for ctype, ref in refs:
            ref_id = ref.get("id") if isinstance(ref, Mapping) else None
            if not isinstance(ref_id, str | int) or isinstance(ref_id, bool) or ref_id == "":
                raise PermissionDenied(
                    f"Node {str(node.get('name'))[:80]!r} refers to a {ctype} credential without "
                    "an id, which n8n would resolve to any credential of that type. Name one of "
                    "this project's secrets instead "
                    f"(`{secret_command(ctype, host=node_host(node))}`)."
                )
