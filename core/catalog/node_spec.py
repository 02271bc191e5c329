"""What the catalog knows of one node type: its versions, parameters (with displayOptions),
credential slots, inputs and outputs, and the type-name prefixes n8n uses; `SpecsOnDemand` builds
each type's `NodeSpec` from its snapshot entry when first looked up."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BASE_PREFIX = "n8n-nodes-base."
LANGCHAIN_PREFIX = "@n8n/n8n-nodes-langchain."
KNOWN_PREFIXES = (BASE_PREFIX, LANGCHAIN_PREFIX)
SNAPSHOT_PATH = Path(__file__).parent.parent / "data" / "node_catalog.json.gz"
SNAPSHOT_FORMAT = 3

# Manual triggers start a run by hand only; n8n does not count them when activating.
MANUAL_TRIGGERS = frozenset(
    {"n8n-nodes-base.manualTrigger", "@n8n/n8n-nodes-langchain.manualChatTrigger"}
)
# Parameter types n8n checks for emptiness when required (n8n-workflow addToIssuesIfMissing).
CHECKED_REQUIRED_TYPES = frozenset(
    {
        "string",
        "multiOptions",
        "dateTime",
        "options",
        "resourceLocator",
        "workflowSelector",
        "agentSelector",
    }
)


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """A top-level node parameter as far as validation needs it."""

    name: str
    type: str
    default: Any
    required: bool
    display_options: Mapping[str, Any] | None
    multiple: bool = False
    # Resource-locator modes with the regexes n8n checks their values against.
    modes: Mapping[str, tuple[str, ...]] | None = None


@dataclass(frozen=True, slots=True)
class CredentialSlot:
    """A credential type a node version accepts, and when (its displayOptions, like a
    parameter's: Slack's `slackApi` only while `authentication` is `accessToken`)."""

    name: str
    required: bool
    display_options: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class VersionClass:
    """One implementation class of a node type, serving a set of typeVersions."""

    versions: tuple[float, ...]
    # Connection types of the outputs in order (["main", "main"] for IF); None when n8n computes
    # them from the parameters (Switch, Webhook, Text Classifier, ...).
    outputs: tuple[str, ...] | None
    output_names: int
    params: tuple[ParamSpec, ...]
    credentials: tuple[CredentialSlot, ...] = ()
    # Connection types of the inputs in order (["main", "main"] for Merge v2, [] for triggers,
    # ["main", "ai_languageModel"] for Text Classifier); None when n8n computes them from the
    # parameters (Merge v3, AI Agent, ...) or the snapshot predates them.
    inputs: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """What the catalog knows about one node type (all its versions)."""

    type: str
    display_name: str
    description: str
    group: tuple[str, ...]
    classes: tuple[VersionClass, ...]
    default_version: float
    credentials: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    webhook: bool = False
    polling: bool = False
    hidden: bool = False

    @property
    def versions(self) -> tuple[float, ...]:
        """Every typeVersion this node type supports, ascending."""
        return tuple(sorted({v for c in self.classes for v in c.versions}))

    @property
    def latest_version(self) -> float:
        return max(self.versions)

    @property
    def is_trigger(self) -> bool:
        """True when the node starts runs on its own: a trigger, a poller or the Webhook node —
        not the manual trigger, and not an action that merely waits on a webhook (Slack's or
        Gmail's send-and-wait, Wait, Send Email, Form). The one rule for "is this a trigger"."""
        if self.type in MANUAL_TRIGGERS:
            return False
        return "trigger" in self.group or self.type.endswith("Trigger") or self.polling

    @property
    def lets_n8n_activate(self) -> bool:
        """True when n8n accepts this node as what a workflow is activated on: a trigger, a
        poller, or any node with a webhook (Slack's send-and-wait counts for n8n, though it
        never starts a run: that is `is_trigger`)."""
        return self.is_trigger or (self.webhook and self.type not in MANUAL_TRIGGERS)

    @property
    def is_manual_trigger(self) -> bool:
        return self.type in MANUAL_TRIGGERS

    @property
    def starts_runs(self) -> bool:
        """True when a run starts at this node: a trigger (`is_trigger`) or a manual trigger."""
        return self.is_trigger or self.is_manual_trigger

    def version_class(self, version: float | None) -> VersionClass | None:
        """The class serving `version` (the default version when None), or None if unsupported."""
        v = self.default_version if version is None else version
        for c in self.classes:
            if v in c.versions:
                return c
        return None


class SpecsOnDemand(Mapping[str, NodeSpec]):
    """Node type → `NodeSpec`, each built from its snapshot entry when first looked up: checking
    one workflow reads a handful of the ~840 types, and building them all was most of the load.
    `extra`: Clixen's own nodes (not n8n's), already built."""

    def __init__(
        self, entries: Mapping[str, Mapping[str, Any]], extra: Mapping[str, NodeSpec] | None = None
    ) -> None:
        self._entries = entries
        self._extra = {t: s for t, s in (extra or {}).items() if t not in entries}
        self._built: dict[str, NodeSpec] = dict(self._extra)

    def __getitem__(self, node_type: str) -> NodeSpec:
        spec = self._built.get(node_type)
        if spec is None:
            spec = self._built[node_type] = spec_from_entry(node_type, self._entries[node_type])
        return spec

    def __contains__(self, node_type: object) -> bool:
        return node_type in self._entries or node_type in self._extra

    def __iter__(self) -> Iterator[str]:
        yield from self._entries
        yield from self._extra

    def __len__(self) -> int:
        return len(self._entries) + len(self._extra)


def spec_from_entry(node_type: str, e: Mapping[str, Any]) -> NodeSpec:
    """The `NodeSpec` of one entry of the shipped snapshot (`core.catalog.snapshot`)."""
    classes = tuple(
        VersionClass(
            versions=tuple(float(v) for v in c["versions"]),
            outputs=tuple(c["outputs"]) if c["outputs"] is not None else None,
            output_names=int(c["output_names"]),
            inputs=tuple(c["inputs"]) if c.get("inputs") is not None else None,
            params=tuple(
                ParamSpec(
                    p[0],
                    p[1],
                    p[2],
                    p[3],
                    p[4],
                    p[5],
                    {m: tuple(r) for m, r in p[6].items()} if p[6] else None,
                )
                for p in c["params"]
            ),
            credentials=tuple(
                CredentialSlot(name, bool(required), shown)
                for name, required, shown in c.get("credentials", ())
            ),
        )
        for c in json.loads(e["classes"])
    )
    return NodeSpec(
        type=node_type,
        display_name=e["display_name"],
        description=e["description"],
        group=tuple(e["group"]),
        classes=classes,
        default_version=float(e["default_version"]),
        credentials=tuple(e["credentials"]),
        aliases=tuple(e["aliases"]),
        categories=tuple(e["categories"]),
        webhook=bool(e["webhook"]),
        polling=bool(e["polling"]),
        hidden=bool(e["hidden"]),
    )
