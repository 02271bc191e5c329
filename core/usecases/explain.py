"""What does this workflow do? Built from the workflow itself, deterministic: the trigger, each
step in words (in the order the data flows), where it posts or writes, which accounts it uses,
a few sentences, and the outline. With an LLM configured, a short summary on top, written from
those words only (never the raw JSON: parameters can hold values nobody should send out), within
the user's daily token quota; when the model fails or the quota is spent, the rest stands.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.orm import Session, sessionmaker

from core.catalog import NodeCatalog, default_catalog
from core.deploy.workflows import get_workflow, head_version
from core.generation.llm import LLMClient
from core.graph import text_outline, workflow_graph
from core.kernel.errors import ClixenError, NotFound
from core.kernel.logging import redact
from core.kernel.settings import Settings
from core.run_now.copies import is_trigger, outside_effects
from core.workspace.projects import Actor
from core.workspace.quotas import reserve_tokens, settle_tokens

log = logging.getLogger(__name__)

MAX_SUMMARY_CHARS: Final = 600
SUMMARY_TOKENS: Final = 200
MAX_STEPS: Final = 60
_TEXT: Final = 80  # a parameter quoted in a sentence is shortened to this


@dataclass(frozen=True)
class Step:
    node: str
    words: str  # "Posts a message to Slack channel #news"


@dataclass(frozen=True)
class Explanation:
    workflow_id: int
    name: str
    version: int
    trigger: str  # "every day at 8:00"
    steps: list[Step]  # trigger first, in the order the data flows
    destinations: list[str]  # where it posts or writes
    accounts: list[str]  # the credentials it uses, by name and kind
    sentences: list[str]
    outline: list[str]
    summary: str | None = None  # the LLM's, when one is configured and answered
    summary_note: str | None = None  # why there is no summary although an LLM is configured


def _short(value: Any, limit: int = _TEXT) -> str:
    if isinstance(value, Mapping):  # a resource locator: {"__rl": true, "value": …, …}
        value = value.get("cachedResultName") or value.get("value") or ""
    text = redact(" ".join(str(value).split()))  # a key in a URL's query, a token in a header
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _schedule(params: Mapping[str, Any]) -> str:
    rule = params.get("rule") if isinstance(params.get("rule"), Mapping) else {}
    intervals = rule.get("interval") if isinstance(rule, Mapping) else None
    if not isinstance(intervals, list) or not intervals:
        return "on a schedule"
    said = []
    for item in intervals[:3]:
        if not isinstance(item, Mapping):
            continue
        field = str(item.get("field") or "days")
        if field == "cronExpression":
            said.append(f"on the schedule {_short(item.get('expression'))}")
            continue
        unit = field.rstrip("s")
        every = item.get(f"{field}Interval") or item.get(f"{unit}sInterval") or 1
        head = f"every {unit}" if str(every) == "1" else f"every {every} {field}"
        hour, minute = item.get("triggerAtHour"), item.get("triggerAtMinute")
        if field in ("days", "weeks", "months") and hour is not None:
            head += f" at {int(hour)}:{int(minute or 0):02d}"
        said.append(head)
    return " and ".join(said) or "on a schedule"


def _trigger_words(node: Mapping[str, Any], display: str) -> tuple[str, str]:
    """(when it runs, the step's words) for a trigger node."""
    kind = str(node.get("type"))
    params = node.get("parameters") if isinstance(node.get("parameters"), Mapping) else {}
    assert isinstance(params, Mapping)
    if kind.endswith(".scheduleTrigger") or kind.endswith(".cron"):
        when = _schedule(params)
        return when, f"Starts {when}"
    if kind.endswith(".webhook"):
        method = str(params.get("httpMethod") or "GET")
        when = f"when its web address is called ({method} /{_short(params.get('path'))})"
        return when, f"Starts {when}"
    if kind.endswith(".manualTrigger"):
        return "when someone runs it by hand", "Starts when someone runs it by hand"
    when = f"when {display.removesuffix(' Trigger')} reports something new"
    return when, f"Starts {when}"


def _step_words(node: Mapping[str, Any], display: str) -> str:
    kind = str(node.get("type")).rsplit(".", 1)[-1]
    params = node.get("parameters") if isinstance(node.get("parameters"), Mapping) else {}
    assert isinstance(params, Mapping)
    operation = str(params.get("operation") or "")
    resource = str(params.get("resource") or "")
    if kind == "slack":
        channel = params.get("channelId") or params.get("channel") or params.get("select")
        where = f" to Slack channel {_short(channel)}" if channel else " in Slack"
        if operation in ("", "post", "send") and resource in ("", "message"):
            return f"Posts a message{where}"
        return f"Uses Slack ({resource} {operation}){where}".replace("( ", "(")
    if kind == "httpRequest":
        method = str(params.get("method") or "GET")
        return f"Calls {method} {_short(params.get('url'))}"
    if kind in ("gmail", "emailSend", "microsoftOutlook"):
        to = params.get("sendTo") or params.get("toEmail") or params.get("toRecipients")
        if operation in ("", "send") and to:
            return f"Sends an email to {_short(to)}"
    if kind == "googleSheets":
        doc = _short(params.get("documentId")) or "a spreadsheet"
        sheet = _short(params.get("sheetName"))
        what = {"append": "Adds rows to", "appendOrUpdate": "Adds or updates rows in"}.get(
            operation, f"{operation or 'Reads'} rows in".capitalize()
        )
        return f"{what} Google Sheets {doc}" + (f" / {sheet}" if sheet else "")
    if kind == "set":
        assignments = (params.get("assignments") or {}).get("assignments") or []
        names = [str(a.get("name")) for a in assignments if isinstance(a, Mapping)][:6]
        return "Sets the fields " + ", ".join(names) if names else "Shapes the data"
    if kind == "if":
        return "Checks a condition and goes one way if it holds, another if not"
    if kind == "filter":
        return "Keeps only the items that match a condition"
    if kind == "switch":
        return "Sends each item down a branch chosen by rules"
    if kind in ("code", "function", "functionItem"):
        language = str(params.get("language") or "JavaScript")
        return f"Runs custom code ({language.capitalize()})"
    if kind == "merge":
        return "Joins its branches into one"
    if kind in ("splitOut", "itemLists"):
        return "Splits a list into one item per entry"
    if kind in ("aggregate", "summarize"):
        return "Combines the items into one"
    if kind == "wait":
        return "Waits before going on"
    if kind in ("noOp", "stickyNote"):
        return "Does nothing (a placeholder)"
    if operation:
        return f"Uses {display} ({resource} {operation})".replace("( ", "(")
    return f"Uses {display}"


def _order(nodes: list[Mapping[str, Any]], workflow: Mapping[str, Any]) -> list[str]:
    """Node names in the order the data flows: triggers first, then breadth first."""
    names = [str(n.get("name")) for n in nodes]
    targets: dict[str, list[str]] = {n: [] for n in names}
    has_pred: set[str] = set()
    connections = workflow.get("connections") or {}
    if isinstance(connections, Mapping):
        for source, outputs in connections.items():
            main = outputs.get("main") if isinstance(outputs, Mapping) else None
            for branch in main or []:
                for link in branch or []:
                    target = str(link.get("node")) if isinstance(link, Mapping) else None
                    if target in targets and source in targets:
                        targets[str(source)].append(target)
                        has_pred.add(target)
    queue = [n for n in names if n not in has_pred]
    seen: list[str] = []
    while queue:
        name = queue.pop(0)
        if name in seen:
            continue
        seen.append(name)
        queue.extend(t for t in targets[name] if t not in seen)
    return seen + [n for n in names if n not in seen]


def _accounts(nodes: list[Mapping[str, Any]]) -> list[str]:
    found: list[str] = []
    for node in nodes:
        creds = node.get("credentials")
        if not isinstance(creds, Mapping):
            continue
        for kind, ref in creds.items():
            label = _short(ref.get("name") if isinstance(ref, Mapping) else "") or "unnamed"
            entry = f"{label} ({kind})"
            if entry not in found:
                found.append(entry)
    return found


def describe(
    workflow: Mapping[str, Any], *, name: str, catalog: NodeCatalog | None = None
) -> tuple[str, list[Step], list[str], list[str], list[str]]:
    """(when it runs, its steps, where it posts or writes, its accounts, a few sentences):
    deterministic, from the workflow's JSON alone."""
    cat = catalog or default_catalog()
    nodes = [
        n
        for n in workflow.get("nodes") or []
        if isinstance(n, Mapping) and not str(n.get("type", "")).endswith(".stickyNote")
    ]
    by_name = {str(n.get("name")): n for n in nodes}
    steps: list[Step] = []
    trigger = ""
    order = _order(nodes, workflow)
    for node_name in order[:MAX_STEPS]:
        node = by_name[node_name]
        spec = cat.get(str(node.get("type")))
        display = spec.display_name if spec else str(node.get("type")).rsplit(".", 1)[-1]
        if is_trigger(node, cat):
            when, words = _trigger_words(node, display)
            trigger = trigger or when
        else:
            words = _step_words(node, display)
        if node.get("disabled") is True:
            words += " (disabled: skipped)"
        steps.append(Step(node_name, words))
    destinations = [
        next((s.words for s in steps if s.node == node), what)
        for node, what in outside_effects(workflow, catalog=cat)
    ]
    accounts = _accounts([by_name[n] for n in order])
    actions = len(steps) - (1 if trigger else 0)
    sentences = [
        f"“{name}” runs {trigger or 'only when started by hand or by another workflow'}"
        f" and then takes {actions} step{'s' if actions != 1 else ''}."
    ]
    if destinations:
        sentences.append("It acts outside n8n here: " + "; ".join(destinations) + ".")
    else:
        sentences.append("It only computes: it posts and writes nowhere outside n8n.")
    if accounts:
        sentences.append("It uses the accounts " + ", ".join(accounts) + ".")
    else:
        sentences.append("It uses no stored account.")
    return trigger, steps, destinations, accounts, sentences


Summarizer = Callable[[str], str]


def explain(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    actor: Actor,
    workflow_id: int,
    summarize: Summarizer | None = None,
) -> Explanation:
    """The workflow's running version explained (anyone who may see it). `summarize` (see
    `llm_summarizer`) writes the short summary on top; without it, none."""
    with session_factory.begin() as session:
        wf = get_workflow(
            session=session, workflow_id=workflow_id, team_id=actor.team_id, user_id=actor.user_id
        )
        head = head_version(session=session, workflow_id=wf.id)
        if head is None:
            raise NotFound(f"Workflow {wf.name!r} has no version yet; nothing to explain.")
        payload, name, version = dict(head.json_payload), wf.name, head.version
    trigger, steps, destinations, accounts, sentences = describe(payload, name=name)
    summary = note = None
    if summarize is not None:
        facts = "\n".join([*sentences, *(f"- {s.node}: {s.words}" for s in steps)])
        try:
            summary = " ".join(summarize(facts).split())[:MAX_SUMMARY_CHARS] or None
        except ClixenError as e:
            log.info("explain: no summary for workflow %s (%s)", workflow_id, e.code)
            note = "No AI summary this time: " + (
                "your daily token quota is used up."
                if e.code == "quota_exceeded"
                else "the AI service did not answer."
            )
    return Explanation(
        workflow_id=workflow_id,
        name=name,
        version=version,
        trigger=trigger,
        steps=steps,
        destinations=destinations,
        accounts=accounts,
        sentences=sentences,
        outline=text_outline(workflow_graph(payload)),
        summary=summary,
        summary_note=note,
    )


SUMMARY_PROMPT: Final = (
    "You summarise an automation for a busy teammate. Using only the facts given, write two "
    "sentences in plain English: what it does and when. No lists, no markdown, no guesses."
)


def llm_summarizer(
    session_factory: sessionmaker[Session], *, settings: Settings, actor: Actor, project_id: int
) -> Summarizer | None:
    """A summarizer on the configured LLM that charges the actor's daily token quota (reserved
    before the call, settled after); None when no LLM is configured."""
    if not settings.llm_configured:
        return None

    def summarize(facts: str) -> str:
        facts = facts[:6000]
        with session_factory.begin() as session:
            reservation = reserve_tokens(
                session=session,
                team_id=actor.team_id,
                user_id=actor.user_id,
                project_id=project_id,
                prompt_tokens=(len(SUMMARY_PROMPT) + len(facts)) // 4 + 1,
                max_completion=SUMMARY_TOKENS,
                settings=settings,
            )
        used = reservation.tokens
        try:
            reply = LLMClient.from_settings(settings).chat(
                [
                    {"role": "system", "content": SUMMARY_PROMPT},
                    {"role": "user", "content": facts},
                ],
                response_format_json=False,
                max_tokens=reservation.completion_budget,
            )
            used = reply.total_tokens
            return reply.text
        finally:
            with session_factory.begin() as session:
                settle_tokens(session=session, reservation=reservation, used=used)

    return summarize


def explain_workflow(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    actor: Actor,
    workflow_id: int,
) -> Explanation:
    """`explain` with the configured LLM's summary on top (when there is one)."""
    with session_factory.begin() as session:
        wf = get_workflow(
            session=session, workflow_id=workflow_id, team_id=actor.team_id, user_id=actor.user_id
        )
        project_id = wf.project_id
    summarize = llm_summarizer(
        session_factory, settings=settings, actor=actor, project_id=project_id
    )
    return explain(
        session_factory,
        settings=settings,
        actor=actor,
        workflow_id=workflow_id,
        summarize=summarize,
    )
