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
    wf = copy.deepcopy(dict(workflow))
    now = now or dt.datetime.now(dt.UTC)
    token = uuid.uuid4().hex[:12]
    path = f"clixen-test-{token}"
    names = {str(n.get("name")) for n in wf.get("nodes") or [] if isinstance(n, Mapping)}
    entry = ENTRY_NODE if ENTRY_NODE not in names else f"{ENTRY_NODE} {token}"
    test = _with_stand_ins(wf, catalog or default_catalog(), sample=sample, now=now, path=path)
    nodes, helpers, replaced, hook = test.nodes, test.helpers, test.replaced, test.hook
    if replaced or hook is None:
        helpers.add(entry)
        nodes.append(_entry_webhook(entry, path))
        if hook is not None:  # a webhook and other triggers: the test calls the entry only
            hook["parameters"]["path"] = f"{path}-hook"
        wf.setdefault("connections", {})[entry] = {
            "main": [[{"node": n, "type": "main", "index": 0} for n in replaced]]
        }
        method = "POST"
    else:
        method = str((hook.get("parameters") or {}).get("httpMethod") or "GET")
    wf["nodes"] = nodes
    _detach_from_live(wf, name=str(workflow.get("name") or "workflow"))
    return RunNowCopy(
        workflow=wf,
        path=path,
        method=method,
        payload=dict(sample or {}),
        samples=test.samples,
        helpers=frozenset(helpers),
    )


@dataclass
class _StandIns:
    """The test copy's nodes with its triggers stood in for: what each trigger emits, the
    helper nodes added, the nodes the entry webhook calls, and the workflow's own webhook
    (the first one, called directly when it is the only trigger)."""

    nodes: list[dict[str, Any]] = field(default_factory=list)
    samples: dict[str, str] = field(default_factory=dict)
    helpers: set[str] = field(default_factory=set)
    replaced: list[str] = field(default_factory=list)
    hook: dict[str, Any] | None = None


def _with_stand_ins(
    wf: dict[str, Any],
    cat: NodeCatalog,
    *,
    sample: Mapping[str, Any] | None,
    now: dt.datetime,
    path: str,
) -> _StandIns:
    """Every node of `wf` (fresh webhook ids), its enabled triggers but the first webhook stood
    in for; the first webhook moved to `path`."""
    timezone = str((wf.get("settings") or {}).get("timezone") or "UTC")
    test = _StandIns()
    for node in wf.get("nodes") or []:
        if not isinstance(node, dict):
            continue
        if node.get("webhookId"):
            node["webhookId"] = str(uuid.uuid4())
        name, kind = str(node.get("name")), str(node.get("type"))
        if node.get("disabled") is True or not is_trigger(node, cat):
            test.nodes.append(node)
            continue
        if kind == WEBHOOK and test.hook is None:
            node["parameters"] = {**(node.get("parameters") or {}), "path": path}
            test.hook = node
            test.samples[name] = "your sample" if sample else "an empty sample call"
            test.nodes.append(node)
            continue
        stand_in, test.samples[name], feed = _stand_in(
            node, sample=sample, now=now, timezone=timezone
        )
        test.nodes += stand_in
        if feed is None:
            test.replaced.append(name)
            continue
        test.helpers.add(feed)
        test.replaced.append(feed)
        wf.setdefault("connections", {})[feed] = {
            "main": [[{"node": name, "type": "main", "index": 0}]]
        }
    return test


def _stand_in(
    node: Mapping[str, Any],
    *,
    sample: Mapping[str, Any] | None,
    now: dt.datetime,
    timezone: str,
) -> tuple[list[dict[str, Any]], str, str | None]:
    """The nodes that stand in for a trigger in the test copy, what the item they emit is, and
    the name of the feed reader the test calls first (an RSS trigger without a sample)."""
    name, kind, pos = str(node.get("name")), str(node.get("type")), node.get("position")
    if kind in SCHEDULES:
        return (
            [_emitter(name, pos, schedule_item(now, timezone))],
            "the schedule's fields for now",
            None,
        )
    if kind == RSS_TRIGGER and not sample:
        url = str((node.get("parameters") or {}).get("feedUrl") or "")
        feed = f"{name} · newest item"
        return _newest_feed_item(name, feed, url, pos), f"the newest item of {url}", feed
    if sample:
        return [_emitter(name, pos, sample)], "your sample", None
    item = _schema_sample(node)
    what = "an item from n8n's output schema" if item else "an empty item"
    return [_emitter(name, pos, item or {})], what, None


def _newest_feed_item(name: str, feed: str, url: str, position: Any) -> list[dict[str, Any]]:
    """In place of an RSS trigger: read the feed, keep its newest item (under the trigger's
    name, so what follows is unchanged)."""
    return [
        {
            "id": str(uuid.uuid4()),
            "name": feed,
            "type": "n8n-nodes-base.rssFeedRead",
            "typeVersion": 1.2,
            "position": position,
            "parameters": {"url": url, "options": {}},
        },
        {
            "id": str(uuid.uuid4()),
            "name": name,
            "type": "n8n-nodes-base.limit",
            "typeVersion": 1,
            "position": position,
            "parameters": {"maxItems": 1, "keep": "firstItems"},
        },
    ]


def _entry_webhook(name: str, path: str) -> dict[str, Any]:
    """The webhook the test calls when the workflow has no webhook of its own to call."""
    return {
        "id": str(uuid.uuid4()),
        "name": name,
        "type": WEBHOOK,
        "typeVersion": 2,
        "position": [-400, 0],
        "webhookId": str(uuid.uuid4()),
        "parameters": {"path": path, "httpMethod": "POST", "options": {}},
    }


def _detach_from_live(wf: dict[str, Any], *, name: str) -> None:
    """Name the copy as a test and drop what ties it to the live workflow in n8n (its id,
    state, tags, error workflow)."""
    wf["name"] = f"{TEST_PREFIX}{name}"[:128]
    for key in ("id", "active", "pinData", "staticData", "tags", "versionId", "meta"):
        wf.pop(key, None)
    if isinstance(wf.get("settings"), dict):
        # a failing test must not start the live workflow's error workflow
        wf["settings"] = {k: v for k, v in wf["settings"].items() if k != "errorWorkflow"}
