"""The test copy of a workflow: what n8n runs when someone asks to run a workflow now.

Every trigger is replaced by a node *with the trigger's name* that emits one item shaped like the
trigger's real output, fed by one webhook entry the test calls; downstream nodes and
`$('Trigger')` references run unchanged. Samples: Schedule Trigger (and Cron / Interval) → its
timestamp fields for now; RSS Feed Trigger → the newest item of the same feed (RSS Read, then
Limit 1); a webhook keeps its node and gets the caller's sample; any other trigger → the
caller's sample, else an item built from n8n's output schema for it, else an empty item.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.catalog import NodeCatalog, default_catalog
from core.catalog.output_schemas import output_shape, sample_item
from core.deploy.gate import TEST_COPY_PREFIX
from core.graph.workflow_graph import Family, family_of

# Reserved at the deploy gate: no other workflow carries it.
TEST_PREFIX = TEST_COPY_PREFIX
ENTRY_NODE = "Clixen test call"
WEBHOOK = "n8n-nodes-base.webhook"
RSS_TRIGGER = "n8n-nodes-base.rssFeedReadTrigger"
SCHEDULES = frozenset(
    {"n8n-nodes-base.scheduleTrigger", "n8n-nodes-base.cron", "n8n-nodes-base.interval"}
)
NO_EFFECT_NAMES = (
    "set if switch filter merge noOp stickyNote limit sort "
    "aggregate summarize splitOut splitInBatches removeDuplicates renameKeys itemLists "
    "dateTime crypto markdown html xml compareDatasets wait respondToWebhook stopAndError "
    "rssFeedRead executionData convertToFile extractFromFile editImage"
)
# Node types that only compute: everything else may post, write, send or call out. Code (and
# AI Transform, Function) are not among them: the task runner gives code `helpers.httpRequest`.
NO_OUTSIDE_EFFECT = frozenset("n8n-nodes-base." + t for t in NO_EFFECT_NAMES.split())
CODE_NODES = frozenset(
    "n8n-nodes-base." + t for t in ("code", "aiTransform", "function", "functionItem")
)


@dataclass(frozen=True)
class RunNowCopy:
    """The workflow n8n runs for a test, and how to start it."""

    workflow: dict[str, Any]
    path: str
    method: str
    payload: dict[str, Any]
    # trigger name → where its sample item comes from, in words
    samples: dict[str, str] = field(default_factory=dict)
    # nodes added for the test, not shown in results
    helpers: frozenset[str] = frozenset()


def is_trigger(node: Mapping[str, Any], catalog: NodeCatalog) -> bool:
    """Whether the node starts runs (manual triggers included): the catalog's rule
    (`NodeSpec.starts_runs`), or for a type it does not know, the picture's rule by name."""
    node_type = str(node.get("type", ""))
    spec = catalog.get(node_type)
    if spec is None:
        return family_of(node_type) is Family.trigger
    return spec.starts_runs


def outside_effects(
    workflow: Mapping[str, Any], *, catalog: NodeCatalog | None = None
) -> list[tuple[str, str]]:
    """(node name, what it is) for every enabled node a test run really runs against the outside
    world: anything that is not a trigger or logic (HTTP, Slack, email, databases, and code,
    which can send requests)."""
    cat = catalog or default_catalog()
    found: list[tuple[str, str]] = []
    for node in workflow.get("nodes") or []:
        if not isinstance(node, Mapping) or node.get("disabled") is True:
            continue
        kind = str(node.get("type"))
        if kind in NO_OUTSIDE_EFFECT or is_trigger(node, cat):
            continue
        spec = cat.get(kind)
        what = spec.display_name if spec else kind.rsplit(".", 1)[-1]
        params = node.get("parameters") or {}
        if kind == "n8n-nodes-base.httpRequest":
            what += f" {params.get('method') or 'GET'} {str(params.get('url') or '')[:80]}"
        elif kind in CODE_NODES:
            what += " (its code can send requests)"
        elif params.get("operation"):
            what += f" ({params.get('resource') or ''} {params['operation']})".replace("( ", "(")
        found.append((str(node.get("name")), what))
    return found


def schedule_item(now: dt.datetime, timezone: str) -> dict[str, str]:
    """The item n8n's Schedule Trigger emits at `now` (ScheduleTrigger.node.js, `resultData`)."""
    try:
        t = now.astimezone(ZoneInfo(timezone))
    except (ZoneInfoNotFoundError, ValueError):
        timezone, t = "UTC", now.astimezone(dt.UTC)
    day = t.day
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    offset = t.strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}" if offset else "+00:00"
    clock = f"{t.hour % 12 or 12}:{t:%M:%S} {'am' if t.hour < 12 else 'pm'}"
    return {
        "timestamp": t.isoformat(timespec="milliseconds"),
        "Readable date": f"{t:%B} {day}{suffix} {t:%Y}, {clock}",
        "Readable time": clock,
        "Day of week": f"{t:%A}",
        "Year": f"{t:%Y}",
        "Month": f"{t:%B}",
        "Day of month": f"{t:%d}",
        "Hour": f"{t:%H}",
        "Minute": f"{t:%M}",
        "Second": f"{t:%S}",
        "Timezone": f"{timezone} (UTC{offset})",
    }


def _emitter(name: str, position: Any, item: Mapping[str, Any]) -> dict[str, Any]:
    """A Set node in raw mode that outputs exactly `item`."""
    return {
        "id": str(uuid.uuid4()),
        "name": name,
        "type": "n8n-nodes-base.set",
        "typeVersion": 3.4,
        "position": position,
        "parameters": {"mode": "raw", "jsonOutput": json.dumps(dict(item)), "options": {}},
    }


# Triggers whose item is the app node's resource item (n8n ships no trigger schemas but the
# Webhook's): Gmail Trigger emits messages as Gmail's message/get does (simplified by default).
TRIGGER_AS_RESOURCE: dict[str, tuple[str, str, str]] = {
    "n8n-nodes-base.gmailTrigger": ("n8n-nodes-base.gmail", "message", "get"),
}


def _schema_sample(node: Mapping[str, Any]) -> dict[str, Any] | None:
    params = node.get("parameters") or {}
    version = node.get("typeVersion")
    as_resource = TRIGGER_AS_RESOURCE.get(str(node.get("type")))
    if as_resource is not None:
        app, resource, operation = as_resource
        shape = output_shape(app, None, resource, operation)
        return sample_item(shape) if shape else None
    shape = output_shape(
        str(node.get("type")),
        float(version) if isinstance(version, int | float) else None,
        params.get("resource"),
        params.get("operation") or params.get("event"),
    )
    return sample_item(shape) if shape else None


def build_test_copy(
    workflow: Mapping[str, Any],
    *,
    sample: Mapping[str, Any] | None = None,
    catalog: NodeCatalog | None = None,
    now: dt.datetime | None = None,
) -> RunNowCopy:
    """The test copy of `workflow` (named TEST_PREFIX + its name, fresh webhook ids so it never
    clashes with the live workflow) and the call that starts it."""
    cat = catalog or default_catalog()
    wf = copy.deepcopy(dict(workflow))
    now = now or dt.datetime.now(dt.UTC)
    timezone = str((wf.get("settings") or {}).get("timezone") or "UTC")
    token = uuid.uuid4().hex[:12]
    path = f"clixen-test-{token}"
    nodes: list[dict[str, Any]] = []
    samples: dict[str, str] = {}
    helpers: set[str] = set()
    replaced: list[str] = []
    hook: dict[str, Any] | None = None
    names = {str(n.get("name")) for n in wf.get("nodes") or [] if isinstance(n, Mapping)}
    entry = ENTRY_NODE if ENTRY_NODE not in names else f"{ENTRY_NODE} {token}"
    for node in wf.get("nodes") or []:
        if not isinstance(node, dict):
            continue
        if node.get("webhookId"):
            node["webhookId"] = str(uuid.uuid4())
        name, kind, pos = str(node.get("name")), str(node.get("type")), node.get("position")
        if node.get("disabled") is True or not is_trigger(node, cat):
            nodes.append(node)
            continue
        if kind == WEBHOOK and hook is None:
            node["parameters"] = {**(node.get("parameters") or {}), "path": path}
            hook = node
            samples[name] = "your sample" if sample else "an empty sample call"
            nodes.append(node)
            continue
        replaced.append(name)
        if kind in SCHEDULES:
            nodes.append(_emitter(name, pos, schedule_item(now, timezone)))
            samples[name] = "the schedule's fields for now"
        elif kind == RSS_TRIGGER and not sample:
            url = str((node.get("parameters") or {}).get("feedUrl") or "")
            feed = f"{name} · newest item"
            helpers.add(feed)
            replaced[-1] = feed
            nodes.append(
                {
                    "id": str(uuid.uuid4()),
                    "name": feed,
                    "type": "n8n-nodes-base.rssFeedRead",
                    "typeVersion": 1.2,
                    "position": pos,
                    "parameters": {"url": url, "options": {}},
                }
            )
            nodes.append(
                {
                    "id": str(uuid.uuid4()),
                    "name": name,
                    "type": "n8n-nodes-base.limit",
                    "typeVersion": 1,
                    "position": pos,
                    "parameters": {"maxItems": 1, "keep": "firstItems"},
                }
            )
            wf.setdefault("connections", {})[feed] = {
                "main": [[{"node": name, "type": "main", "index": 0}]]
            }
            samples[name] = f"the newest item of {url}"
        elif sample:
            nodes.append(_emitter(name, pos, sample))
            samples[name] = "your sample"
        else:
            item = _schema_sample(node)
            nodes.append(_emitter(name, pos, item or {}))
            samples[name] = "an item from n8n's output schema" if item else "an empty item"
    if replaced or hook is None:
        helpers.add(entry)
        nodes.append(
            {
                "id": str(uuid.uuid4()),
                "name": entry,
                "type": WEBHOOK,
                "typeVersion": 2,
                "position": [-400, 0],
                "webhookId": str(uuid.uuid4()),
                "parameters": {"path": path, "httpMethod": "POST", "options": {}},
            }
        )
        if hook is not None:  # a webhook and other triggers: the test calls the entry only
            hook["parameters"]["path"] = f"{path}-hook"
        wf.setdefault("connections", {})[entry] = {
            "main": [[{"node": n, "type": "main", "index": 0} for n in replaced]]
        }
        method = "POST"
    else:
        method = str((hook.get("parameters") or {}).get("httpMethod") or "GET")
    wf["nodes"] = nodes
    wf["name"] = f"{TEST_PREFIX}{workflow.get('name') or 'workflow'}"[:128]
    for key in ("id", "active", "pinData", "staticData", "tags", "versionId", "meta"):
        wf.pop(key, None)
    if isinstance(wf.get("settings"), dict):
        # a failing test must not start the live workflow's error workflow
        wf["settings"] = {k: v for k, v in wf["settings"].items() if k != "errorWorkflow"}
    return RunNowCopy(
        workflow=wf,
        path=path,
        method=method,
        payload=dict(sample or {}),
        samples=samples,
        helpers=frozenset(helpers),
    )
