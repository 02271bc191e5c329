"""Small n8n workflows for the picture tests: an IF and a Merge, an AI agent with a model, memory
and two tools, a Switch with named rules, a sticky note."""

from __future__ import annotations

import itertools
from typing import Any

BASE = "n8n-nodes-base."
LC = "@n8n/n8n-nodes-langchain."


def node(name: str, type_: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": name,
        "name": name,
        "type": type_ if "." in type_ else BASE + type_,
        "typeVersion": extra.pop("typeVersion", 1),
        "position": [0, 0],
        "parameters": extra.pop("parameters", {}),
        **extra,
    }


def connect(
    connections: dict[str, Any], a: str, b: str, *, out: int = 0, kind: str = "main", into: int = 0
) -> None:
    slots = connections.setdefault(a, {}).setdefault(kind, [])
    while len(slots) <= out:
        slots.append([])
    slots[out].append({"node": b, "type": kind, "index": into})


def chain(names: list[str]) -> dict[str, Any]:
    """A → B → C … of Set nodes after a manual trigger named by the first name."""
    nodes = [node(names[0], "manualTrigger")] + [node(n, "set") for n in names[1:]]
    connections: dict[str, Any] = {}
    for a, b in itertools.pairwise(names):
        connect(connections, a, b)
    return {"name": "Chain", "nodes": nodes, "connections": connections}


def if_and_merge() -> dict[str, Any]:
    """Webhook → IF: true → Slack, false → Set defaults; both → Merge → Respond."""
    c: dict[str, Any] = {}
    nodes = [
        node("New order", "webhook", parameters={"path": "orders", "httpMethod": "POST"}),
        node("Is it a big order with a long name worth wrapping?", "if", typeVersion=2),
        node("Tell sales in Slack", "slack", typeVersion=2.2),
        node("Set defaults", "set", typeVersion=3.4),
        node("Merge", "merge", typeVersion=3),
        node("Respond", "respondToWebhook"),
        node("Note", "stickyNote", parameters={"content": "Orders come in here"}),
    ]
    connect(c, "New order", "Is it a big order with a long name worth wrapping?")
    connect(c, "Is it a big order with a long name worth wrapping?", "Tell sales in Slack", out=0)
    connect(c, "Is it a big order with a long name worth wrapping?", "Set defaults", out=1)
    connect(c, "Tell sales in Slack", "Merge", into=0)
    connect(c, "Set defaults", "Merge", into=1)
    connect(c, "Merge", "Respond")
    return {"name": "Orders: IF and Merge", "nodes": nodes, "connections": c}


def ai_agent() -> dict[str, Any]:
    """Chat trigger → AI Agent (model, memory, two tools) → Slack."""
    c: dict[str, Any] = {}
    nodes = [
        node("When chat message received", LC + "chatTrigger"),
        node("AI Agent", LC + "agent", typeVersion=1.7),
        node("OpenAI Chat Model", LC + "lmChatOpenAi"),
        node("Window Buffer Memory", LC + "memoryBufferWindow"),
        node("Wikipedia", LC + "toolWikipedia"),
        node("Calculator", LC + "toolCalculator"),
        node("Post answer", "slack", typeVersion=2.2),
    ]
    connect(c, "When chat message received", "AI Agent")
    connect(c, "OpenAI Chat Model", "AI Agent", kind="ai_languageModel")
    connect(c, "Window Buffer Memory", "AI Agent", kind="ai_memory")
    connect(c, "Wikipedia", "AI Agent", kind="ai_tool")
    connect(c, "Calculator", "AI Agent", kind="ai_tool")
    connect(c, "AI Agent", "Post answer")
    return {"name": "Chat agent with tools", "nodes": nodes, "connections": c}


def switch() -> dict[str, Any]:
    """Schedule → Switch v3 (rules "Urgent", "Later", unnamed, fallback) → four Set nodes."""
    rules = [
        {"renameOutput": True, "outputKey": "Urgent", "conditions": {}},
        {"renameOutput": True, "outputKey": "Later", "conditions": {}},
        {"conditions": {}},
    ]
    params = {"rules": {"values": rules}, "options": {"fallbackOutput": "extra"}}
    c: dict[str, Any] = {}
    nodes = [
        node("Every hour", "scheduleTrigger"),
        node("Route", "switch", typeVersion=3.2, parameters=params),
        *(node(n, "set") for n in ("Page", "Queue", "Third", "Log")),
    ]
    connect(c, "Every hour", "Route")
    for i, n in enumerate(("Page", "Queue", "Third", "Log")):
        connect(c, "Route", n, out=i)
    return {"name": "Routing", "nodes": nodes, "connections": c}
