"""Which node specs and example workflows a generation prompt carries for one request.

In order of trust: the trigger the request names ("when a GitHub issue…" → GitHub Trigger), the
building blocks its wording points at (a schedule, a condition, a loop, an AI chain), the
companions those need (an agent or chain brings a chat model, a vector store its embeddings),
then keyword search over the catalog weighted by how often real templates use each type. The
examples are the templates that cover most of the chosen types and carry least else.
Measured by benchmarks/retrieval.py; `clixen prompt` shows the outcome for one request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from core.catalog import BASE_PREFIX, LANGCHAIN_PREFIX, NodeCatalog
from core.generation.guides import guides_for
from core.generation.llm import Message, estimate_tokens
from core.generation.node_hints import (
    HINTED_TYPES,
    NEEDS_CHAT_MODEL,
    companions,
    named_apps,
    offerable,
    trigger_types,
)
from core.generation.node_lookup.candidates import NodeCandidate, candidate, shortlist
from core.generation.node_lookup.toolbox import TOOLBOX, toolbox_lines
from core.generation.node_lookup.tools import tool_schema_tokens
from core.generation.prompts import KnownContext, PromptContext, generation_messages
from core.generation.specs import node_spec, popularity
from core.generation.template_compact import compact_template
from core.generation.templates import Template, TemplateLibrary
from core.kernel.safety import valid_timezone

# Specs filled by keyword search; types the wording, the trigger or companions name come on top.
SEARCH_SLOTS = 4
SEARCH_FILLS_UP_TO = 7
# Full specs in a first message: the few most likely; the rest of the shortlist is listed.
MAX_SPECS = 7
# Our estimate of a first message's tokens (tool definitions included) is kept under this.
FIRST_MESSAGE_BUDGET = 6_000
MIN_SPECS = 3
# Core toolbox lines a first message keeps when it must shrink (Code, HTTP Request, Set, IF…).
MIN_TOOLBOX = 4
# Search hits considered for the listed shortlist (candidates).
CANDIDATE_SEARCH = 30
EXAMPLES_PER_PROMPT = 1
# A repair prompt also carries the failing workflow: fewer specs, mostly its own node types.
REPAIR_SPECS = 8
REPAIR_EXTRA_SPECS = 2
# A search hit weaker than this share of the best hit is noise, not a candidate.
RELATIVE_CUTOFF = 0.5
# Without these words a request is not about AI, and LangChain nodes from search are noise.
_AI_WORDS = re.compile(
    r"\b(ai|llm|gpt|openai|agent|chat\w*|embedding\w*|vector|rag|claude|gemini|anthropic|"
    r"model|summari\w+|classif\w+|sentiment|assistant)\b",
    re.I,
)

B, L = BASE_PREFIX, LANGCHAIN_PREFIX


@dataclass(frozen=True)
class Retrieval:
    """What retrieval chose for one request: the node types whose specs a prompt carries and the
    example templates, with the prompt context built from them (`clixen prompt` shows all three).
    """

    node_types: tuple[str, ...]
    examples: tuple[Template, ...]
    context: PromptContext
    # Listed below the specs with their operations (the model asks for a spec when it needs one).
    candidates: tuple[NodeCandidate, ...] = ()

    @property
    def offered_types(self) -> tuple[str, ...]:
        """Every node type the first message offers: spec'd, listed, then in the core toolbox."""
        toolbox = (line.split(" ", 1)[0] for line in self.context.toolbox)
        return (*self.node_types, *(c.type for c in self.candidates), *toolbox)


def retrieve(
    *,
    text: str,
    catalog: NodeCatalog,
    templates: TemplateLibrary | None,
    secret_names: Sequence[str] = (),
    denied_types: Sequence[str] = (),
    secret_types: Mapping[str, str] | None = None,
    known: KnownContext | None = None,
) -> Retrieval:
    """The node types and example templates chosen for `text`, and the prompt context."""
    denied = set(denied_types)
    chosen, named, tools, ai = _chosen_types(text, catalog, templates, denied)
    overflow = chosen[MAX_SPECS:]
    chosen = chosen[:MAX_SPECS]
    listed = _listed_candidates(
        text, catalog, templates, chosen=chosen, overflow=[*tools, *overflow], denied=denied, ai=ai
    )
    picked: list[Template] = []
    if templates is not None:
        # Examples are chosen for what the request named; guesses from search would steer them.
        picked = templates.covering(text, named or chosen, EXAMPLES_PER_PROMPT, max_nodes=12)
    specs = [node_spec(catalog.nodes[t], request=text, library=templates) for t in chosen]
    context = PromptContext(
        node_specs=specs,
        examples=[compact_template(t.workflow) for t in picked],
        secret_names=list(secret_names),
        denied_types=sorted(denied),
        secret_types=dict(secret_types or {}),
        known=known,
        guides=guides_for(text, chosen),
        candidates=[c.line() for c in listed],
        toolbox=toolbox_lines(catalog, exclude={*chosen, *denied}),
    )
    found = Retrieval(
        node_types=tuple(chosen), examples=tuple(picked), context=context, candidates=tuple(listed)
    )
    return _within_budget(found, text, catalog)


def _chosen_types(
    text: str, catalog: NodeCatalog, templates: TemplateLibrary | None, denied: set[str]
) -> tuple[list[str], list[str], list[str], bool]:
    """(node types to spec, the part of them the request names or implies, agent tool variants
    to list, whether the request asks for AI): a trigger first, search hits only in the slots
    left."""
    chosen: list[str] = []
    tools: list[str] = []

    def add(node_type: str) -> None:
        spec = catalog.get(node_type)
        if spec is None or node_type in chosen or node_type in denied:
            return
        if not spec.hidden:
            chosen.append(node_type)
        elif offerable(spec, catalog) and node_type not in tools:
            tools.append(node_type)  # an agent's `<type>Tool` variant: listed, not spec'd

    for node_type in trigger_types(text, catalog):
        add(node_type)
    for node_type in named_apps(text, catalog):
        add(node_type)
    for pattern, node_type in HINTED_TYPES:
        if pattern.search(text):
            add(node_type)
    for node_type in companions(text, chosen, catalog):
        add(node_type)
    chosen[:] = _ai_first(chosen, text, catalog)
    # What the request names or implies; search hits only fill the remaining slots.
    named = list(chosen)
    ai = bool(_AI_WORDS.search(text))
    for node_type in _ranked_search(text, catalog, templates)[:SEARCH_SLOTS]:
        if len(chosen) >= SEARCH_FILLS_UP_TO:
            break
        if ai or not node_type.startswith(L):
            add(node_type)
    if not any(catalog.nodes[t].is_trigger for t in chosen):
        # n8n activates only a workflow that starts on its own: an event in a named app ("when
        # someone mentions…", "slack bot") starts with that app's trigger, else a schedule.
        start = _event_trigger(text, catalog, named) or B + "scheduleTrigger"
        chosen.insert(0, start)
        named.insert(0, start)
    return chosen, named, tools, ai


def _listed_candidates(
    text: str,
    catalog: NodeCatalog,
    templates: TemplateLibrary | None,
    *,
    chosen: list[str],
    overflow: list[str],
    denied: set[str],
    ai: bool,
) -> list[NodeCandidate]:
    """The node types listed below the specs with their operations, for the model to ask
    about."""
    listed = shortlist(
        text=text,
        catalog=catalog,
        ranked=_broad_search(text, catalog, templates, ai=ai),
        spec_types=chosen,
        overflow=overflow,
        denied=denied,
    )
    # The core toolbox's line says more than a candidate's: a toolbox type is listed there.
    listed = [c for c in listed if c.type not in TOOLBOX]
    if any(t in NEEDS_CHAT_MODEL for t in chosen) and not _OPENAI_NODE_WORDS.search(text):
        listed = [c for c in listed if c.type != L + "openAi"]  # "openai" means the model
    return listed


_OPENAI_NODE_WORDS = re.compile(r"\b(image|dall|picture|audio|transcri\w+|whisper|speech)", re.I)


def _ai_first(chosen: list[str], text: str, catalog: NodeCatalog) -> list[str]:
    """With an agent or chain, the chat model and memory it cannot run without come right
    after the trigger (a spec slot lost to them costs a broken workflow), and "openai" means
    that chat model, not the OpenAI app node — unless images or audio are asked for."""
    if not any(t in NEEDS_CHAT_MODEL for t in chosen):
        return chosen
    if L + "openAi" in chosen and not _OPENAI_NODE_WORDS.search(text):
        chosen = [t for t in chosen if t != L + "openAi"]
    ai = [t for t in chosen if t in NEEDS_CHAT_MODEL or ".lmChat" in t or ".memory" in t]
    triggers = [t for t in chosen if t not in ai and _starts_runs(t, catalog)]
    rest = [t for t in chosen if t not in ai and t not in triggers]
    return [*triggers, *ai, *rest]


def _starts_runs(node_type: str, catalog: NodeCatalog) -> bool:
    spec = catalog.get(node_type)
    return spec is not None and spec.starts_runs


def _within_budget(found: Retrieval, text: str, catalog: NodeCatalog) -> Retrieval:
    """`found` cut to FIRST_MESSAGE_BUDGET: the core toolbox's last lines go first (never
    below MIN_TOOLBOX), then the example workflow, then the last specs become listed
    candidates (the model can still fetch them), never below MIN_SPECS."""
    while True:
        ctx = found.context
        sized = replace(ctx, tools=True)  # the longer wording, as sent with tools
        size = estimate_tokens(generation_messages(request=text, ctx=sized)) + tool_schema_tokens()
        if size <= FIRST_MESSAGE_BUDGET:
            return found
        if len(ctx.toolbox) > MIN_TOOLBOX:
            found = replace(found, context=replace(ctx, toolbox=ctx.toolbox[:-1]))
        elif ctx.examples:
            found = replace(found, examples=(), context=replace(ctx, examples=[]))
        elif len(ctx.node_specs) > MIN_SPECS:
            moved = candidate(found.node_types[-1], catalog)
            found = replace(
                found,
                node_types=found.node_types[:-1],
                candidates=(moved, *found.candidates),
                context=replace(
                    ctx,
                    node_specs=list(ctx.node_specs[:-1]),
                    candidates=[moved.line(), *ctx.candidates],
                ),
            )
        else:
            return found


_EVENT_WORDS = re.compile(
    r"\b(when(ever)?|bot|mentions?|someone|incoming|receives?|gets? a|new message)\b", re.I
)


def _event_trigger(text: str, catalog: NodeCatalog, named: Sequence[str]) -> str | None:
    """The trigger of the first named app with one, when the wording is about an event."""
    if _SCHEDULE_WORDS.search(text) or not _EVENT_WORDS.search(text):
        return None
    for app in named:
        trigger = catalog.get(app + "Trigger")
        if trigger is not None and offerable(trigger, catalog):
            return trigger.type
    return None


_SCHEDULE_WORDS = HINTED_TYPES[0][0]


def _broad_search(
    text: str, catalog: NodeCatalog, templates: TemplateLibrary | None, *, ai: bool
) -> list[str]:
    """Keyword hits for the listed shortlist, weighted by how often templates use each type:
    recall over precision (triggers included), n8n's tutorial nodes and debug helpers not."""
    counts = templates.type_counts() if templates is not None else None
    most = max(counts.values(), default=0) if counts else 0
    scored = []
    for spec, score in catalog.search_scored(text, CANDIDATE_SEARCH):
        if spec.type.startswith((B + "n8nTraining", B + "debugHelper")):
            continue
        if spec.type.startswith(L) and not ai:
            continue
        prior = popularity(counts.get(spec.type, 0), most) if counts else 0.5
        scored.append((score * (0.2 + prior), spec.type))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [t for _, t in scored]


@dataclass(frozen=True)
class FirstMessage:
    """What the model is sent first for a new workflow: the messages, the specs they carry,
    the listed candidates (`[{type, operations: [[resource, operation], …]}]`) and our token
    estimate (messages, plus the tool definitions when tools are offered)."""

    messages: list[Message]
    specs: list[dict[str, Any]]
    candidates: list[dict[str, Any]]
    node_types: list[str]
    tokens: int
    retrieval: Retrieval


def first_message(
    *,
    text: str,
    catalog: NodeCatalog,
    templates: TemplateLibrary | None,
    secret_names: Sequence[str] = (),
    denied_types: Sequence[str] = (),
    tools: bool = True,
) -> FirstMessage:
    """The first message of a create for `text` (`clixen prompt` and the benchmarks show it)."""
    found = retrieve(
        text=text,
        catalog=catalog,
        templates=templates,
        secret_names=secret_names,
        denied_types=denied_types,
    )
    ctx = replace(found.context, tools=tools)
    messages = generation_messages(request=text, ctx=ctx)
    return FirstMessage(
        messages=messages,
        specs=[dict(s) for s in ctx.node_specs],
        candidates=[c.as_json() for c in found.candidates],
        node_types=list(found.offered_types),
        tokens=estimate_tokens(messages) + (tool_schema_tokens() if tools else 0),
        retrieval=replace(found, context=ctx),
    )


def retrieve_context(
    *,
    text: str,
    catalog: NodeCatalog,
    templates: TemplateLibrary | None,
    secret_names: Sequence[str] = (),
    denied_types: Sequence[str] = (),
    secret_types: Mapping[str, str] | None = None,
    known: KnownContext | None = None,
) -> PromptContext:
    """Node specs likely needed for `text` and a few similar real workflows, compacted."""
    return retrieve(
        text=text,
        catalog=catalog,
        templates=templates,
        secret_names=secret_names,
        denied_types=denied_types,
        secret_types=secret_types,
        known=known,
    ).context


def _ranked_search(text: str, catalog: NodeCatalog, templates: TemplateLibrary | None) -> list[str]:
    """Keyword hits that are not triggers (those come from trigger intent), re-ranked by a
    popularity prior, without the weak tail."""
    counts = templates.type_counts() if templates is not None else None
    most = max(counts.values(), default=0) if counts else 0
    scored: list[tuple[float, str]] = []
    for spec, score in catalog.search_scored(text, 40):
        if spec.hidden or spec.is_trigger:
            continue
        if spec.type.startswith(B + "n8nTraining"):
            continue  # n8n's tutorial nodes
        prior = popularity(counts.get(spec.type, 0), most) if counts else 0.5
        scored.append((score * (0.2 + prior), spec.type))
    if not scored:
        return []
    scored.sort(key=lambda s: (-s[0], s[1]))
    top = scored[0][0]
    return [t for s, t in scored if s >= RELATIVE_CUTOFF * top]


_SLACK_USER = re.compile(r"[UW][A-Z0-9]{1,20}")
_SLACK_CHANNEL = re.compile(r"[CDG][A-Z0-9]{1,20}")


def known_context(
    *, user_id: str | None, channel_id: str | None, timezone: str | None
) -> KnownContext:
    """The known context of a request, keeping only well-formed Slack ids and a timezone the
    system knows (anything else is dropped, never passed to the model)."""
    return KnownContext(
        slack_user_id=user_id if user_id and _SLACK_USER.fullmatch(user_id) else None,
        slack_channel_id=channel_id
        if channel_id and _SLACK_CHANNEL.fullmatch(channel_id)
        else None,
        timezone=valid_timezone(timezone),
    )


def repair_context(
    *,
    text: str,
    workflow: Mapping[str, Any] | None,
    catalog: NodeCatalog,
    templates: TemplateLibrary | None,
    secret_names: Sequence[str] = (),
    denied_types: Sequence[str] = (),
    secret_types: Mapping[str, str] | None = None,
    known: KnownContext | None = None,
) -> PromptContext:
    """The prompt context of a repair: the specs of the node types the failing `workflow` uses,
    each for the resource/operation its node set (a misspelt type gets the spec of the type it
    most likely meant), then what retrieval picks for `text` while slots remain."""
    denied = set(denied_types)
    specs: list[dict[str, Any]] = []
    seen: set[tuple[str, Any, Any]] = set()
    nodes = (workflow or {}).get("nodes")
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            continue
        node_type = node["type"] if node["type"] in catalog else catalog.closest_type(node["type"])
        if node_type is None or node_type in denied or node_type.endswith(".stickyNote"):
            continue
        raw = node.get("parameters")
        params: dict[str, Any] = raw if isinstance(raw, dict) else {}
        key = (node_type, params.get("resource"), params.get("operation"))
        if key in seen:
            continue
        seen.add(key)
        spec = node_spec(catalog.nodes[node_type], request=text, library=templates, current=params)
        # The failing workflow itself shows a configuration: no mined one (prompt budget).
        spec.pop("example_parameters", None)
        specs.append(spec)
        if len(specs) >= REPAIR_SPECS:
            break
    used = {s["type"] for s in specs}
    found = retrieve(
        text=text,
        catalog=catalog,
        templates=None,
        secret_names=secret_names,
        denied_types=denied_types,
        secret_types=secret_types,
        known=known,
    )
    extra = [s for s in found.context.node_specs if s["type"] not in used]
    return replace(
        found.context,
        node_specs=[*specs, *extra[: max(0, min(REPAIR_EXTRA_SPECS, REPAIR_SPECS - len(specs)))]],
        examples=[],
        guides=guides_for(text, [*used, *found.node_types]),
    )
