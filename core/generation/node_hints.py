"""What a request's words say about the node types it needs: the trigger a "when X happens"
clause names, the apps it names, the building blocks its wording points at (a schedule, a
condition, a loop, an AI chain), and the companions AI nodes cannot run without. Used by
`core.generation.retrieval`; measured by benchmarks/retrieval.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from core.catalog import (
    BASE_PREFIX,
    LANGCHAIN_PREFIX,
    N8N_SLACK_TRIGGER,
    SLACK_TRIGGER_TYPE,
    NodeCatalog,
    NodeSpec,
)

B, L = BASE_PREFIX, LANGCHAIN_PREFIX


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I)


# Words that point at a building block keyword search alone tends to miss.
HINTED_TYPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        _rx(
            r"\b(every(?!thing|one|body|where)|each|daily|hourly|weekly|monthly|morning|evening|"
            r"night|nightly|weekday|"
            r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|schedule|cron|at \d)"
        ),
        B + "scheduleTrigger",
    ),
    (_rx(r"\b(webhook|http call|post request|endpoint)\b"), B + "webhook"),
    (_rx(r"\b(rss|feed|atom)\b"), B + "rssFeedRead"),
    (_rx(r"\btweets?\b"), B + "twitter"),
    (_rx(r"\bslack\b|(^|\s)#[a-z0-9_-]+"), B + "slack"),
    # What happens in Slack, or a run by hand: Clixen's Slack trigger (n8n's never fires here).
    (
        _rx(
            r"\b(reacts?|reacted|reactions?|emoji|shortcut|by hand|on demand)\b"
            r"|\b(joins?|joined|leaves|left)\s+(the\s+|a\s+)?(#|channel)"
            r"|\brun (\w+ ){0,4}now\b"
        ),
        SLACK_TRIGGER_TYPE,
    ),
    (
        _rx(
            r"\b(if|only|unless|filter|whose|marked|labell?ed|label|urgent|critical|vip|"
            r"negative|down|overdue|under|over|above|below|older than|newer than|more than|"
            r"less than|greater than|failed|only if)\b|[<>]=?\s*\d"
        ),
        B + "if",
    ),
    (
        _rx(r"\b(route|routes|routing|depending on|by (their|its) \w+|everything else|switch)\b"),
        B + "switch",
    ),
    (_rx(r"\b(merge|combine|join)\b"), B + "merge"),
    (_rx(r"\b(batch|batches|loop|one by one|rate limit)\b"), B + "splitInBatches"),
    (_rx(r"\b(wait|delay|pause|later|between)\b"), B + "wait"),
    (
        _rx(r"\b(duplicates?|dedup\w*|only new|new ones|new (items|posts|headlines|entries))\b"),
        B + "removeDuplicates",
    ),
    (_rx(r"\b(top \d+|first \d+|limit)\b"), B + "limit"),
    (_rx(r"\b(sort|sorted|order by|rank)\b"), B + "sort"),
    (_rx(r"\b(sum|total|count|average|aggregate)\b"), B + "summarize"),
    (
        _rx(r"\b(respond|reply with|return|responds?)\b.*\b(json|profile|answer|result)"),
        B + "respondToWebhook",
    ),
    (
        _rx(r"\bworkflows?\b.*\bfail|\bfail\w*\b.*\bworkflow|error (trigger|workflow)"),
        B + "errorTrigger",
    ),
    (_rx(r"\b(html|scrape|scraping)\b"), B + "html"),
    (_rx(r"\bxml\b"), B + "xml"),
    (_rx(r"\b(csv|xlsx|excel file)\b"), B + "convertToFile"),
    (
        _rx(r"\b(e-?mail|mail) (it|them|the|a|an|me|us|to)\b|\bsend (an? )?e-?mail|\bgmail\b"),
        B + "gmail",
    ),
    (
        _rx(r"https?://(?!\S*(feed|rss|atom))|\b(api|fetch|download|http|pages of|pagination)\b"),
        B + "httpRequest",
    ),
    (_rx(r"\b(chat ?bot|chat with|chat)\b"), L + "chatTrigger"),
    (
        _rx(r"\bagent\b|\bassistant\b|\bchat ?bot\b|\bbot\b.*\b(answer|repl|respond)\w*"),
        L + "agent",
    ),
    (_rx(r"\b(classify|classif\w+|categori[sz]e)\b"), L + "textClassifier"),
    (_rx(r"\bsentiment\b"), L + "sentimentAnalysis"),
    (
        _rx(r"\bextract\b.*\b(llm|ai|gpt|openai)\b|\b(llm|ai)\b.*\bextract"),
        L + "informationExtractor",
    ),
    (
        _rx(
            r"\b(summari[sz]e|summary|draft|translate|rewrite|generate|tags)\b.*\b(ai|llm|gpt|"
            r"openai|claude|anthropic|gemini)\b|\b(ai|llm|gpt|openai|claude|anthropic|gemini)\b.*"
            r"\b(summari[sz]e|summary|draft|write|translate|rewrite|generate|tags)\b"
        ),
        L + "chainLlm",
    ),
    (_rx(r"\b(remembers?|memory|conversation|convo|history)\b"), L + "memoryBufferWindow"),
    (
        _rx(
            r"\bas a tool\b|\btools?\b.*\b(http|api)\b|\b(http|api)\b.*\btools?\b|"
            r"\b(agent|chat ?bot|assistant)\b.*\b(via|through|using|from) (our|the|an?) api"
        ),
        B + "httpRequestTool",
    ),
    (_rx(r"\bforms?\b"), B + "formTrigger"),
    (_rx(r"\b(approv\w*|sign[- ]off|confirm)\b"), B + "if"),
    (_rx(r"\bcalculator\b"), L + "toolCalculator"),
    (_rx(r"\bwikipedia\b"), L + "toolWikipedia"),
    (_rx(r"\b(zip|unzip|compress)\b"), B + "compression"),
    (_rx(r"\b(pdf|parse (the|a|it)|csv lands|extract (the )?text)\b"), B + "extractFromFile"),
    (
        _rx(r"\b(structured|extract)\b.*\b(llm|ai|gpt)\b|\b(llm|ai)\b.*\bstructured"),
        L + "informationExtractor",
    ),
    (
        _rx(r"\b(history|memory)\b.*\bpostgres|\bpostgres\b.*\b(history|memory)\b"),
        L + "memoryPostgresChat",
    ),
)
# Lowercase spellings and abbreviations people type in Slack → the node they mean (our list).
ABBREVIATIONS: dict[str, str] = {
    "gh": B + "github",
    "pr": B + "github",
    "prs": B + "github",
    "gsheet": B + "googleSheets",
    "gsheets": B + "googleSheets",
    "sheet": B + "googleSheets",
    "spreadsheet": B + "googleSheets",
    "gcal": B + "googleCalendar",
    "calendar": B + "googleCalendar",
    "gdrive": B + "googleDrive",
    "drive": B + "googleDrive",
    "openai": L + "openAi",
    "gpt": L + "openAi",
    "chatgpt": L + "openAi",
    "dalle": L + "openAi",
    "whisper": L + "openAi",
    "dall": L + "openAi",
    "tg": B + "telegram",
    "pg": B + "postgres",
    "postgresql": B + "postgres",
    "s3": B + "awsS3",
    "sfdc": B + "salesforce",
    "hn": B + "hackerNews",
    "yt": B + "youTube",
    "teams": B + "microsoftTeams",
    "outlook": B + "microsoftOutlook",
    "onedrive": B + "microsoftOneDrive",
    "pinecone": L + "vectorStorePinecone",
    "claude": L + "lmChatAnthropic",
    "mysql": B + "mySql",
}
# The chat model a request's provider words name (the first one wins; OpenAI when none does).
CHAT_MODELS: tuple[tuple[re.Pattern[str], str], ...] = (
    (_rx(r"\b(anthropic|claude)\b"), L + "lmChatAnthropic"),
    (_rx(r"\b(gemini|google ai)\b"), L + "lmChatGoogleGemini"),
    (_rx(r"\bmistral\b"), L + "lmChatMistralCloud"),
    (_rx(r"\bollama\b"), L + "lmChatOllama"),
    (_rx(r"\bgroq\b"), L + "lmChatGroq"),
    (_rx(r"\bdeepseek\b"), L + "lmChatDeepSeek"),
    (_rx(r"\bopenrouter\b"), L + "lmChatOpenRouter"),
    (_rx(r".*"), L + "lmChatOpenAi"),
)
EMBEDDINGS: tuple[tuple[re.Pattern[str], str], ...] = (
    (_rx(r"\b(gemini|google ai)\b"), L + "embeddingsGoogleGemini"),
    (_rx(r".*"), L + "embeddingsOpenAi"),
)
# Root nodes that need a chat model connected as ai_languageModel.
NEEDS_CHAT_MODEL = frozenset(
    L + t
    for t in (
        "agent",
        "chainLlm",
        "chainSummarization",
        "chainRetrievalQa",
        "textClassifier",
        "informationExtractor",
        "sentimentAnalysis",
    )
)
# "when X happens" and "new X": the clause that names what starts the workflow.
_TRIGGER_CLAUSES = (
    _rx(r"\b(?:when(?:ever)?|once|as soon as|every time|each time)\b([^,;.]*)"),
    _rx(r"\b(?:new|incoming|inbound)\s+((?:[a-z0-9]+\s+){0,2}[a-z0-9]+)"),
    # "gh issue labelled bug -> jira ticket": what comes before the first arrow starts it.
    _rx(r"^([^,;.>]*?)\s*(?:->|→|=>)"),
)


def offerable(spec: NodeSpec, catalog: NodeCatalog) -> bool:
    """Never a hidden type (kept for old workflows only), except n8n's derived `<type>Tool`
    variant of a visible node (an agent's tool); never n8n's Slack Trigger (it cannot fire with
    Clixen's app: Clixen's Slack trigger stands in)."""
    if spec.type == N8N_SLACK_TRIGGER:
        return False
    if not spec.hidden:
        return True
    base = catalog.get(spec.type.removesuffix("Tool")) if spec.type.endswith("Tool") else None
    return base is not None and not base.hidden


def trigger_types(text: str, catalog: NodeCatalog) -> list[str]:
    """The trigger node of each app a "when X happens" or "new X" clause of `text` names (or
    of the thing it names: an email, a form, a chat message)."""
    found: list[str] = []
    for clause_rx in _TRIGGER_CLAUSES:
        for m in clause_rx.finditer(text):
            clause = m.group(1)
            apps = named_apps(clause, catalog)
            for app in apps:
                spec = catalog.nodes[app]
                trigger = catalog.get(app + "Trigger") or (spec if spec.is_trigger else None)
                if trigger is not None and trigger.type == N8N_SLACK_TRIGGER:
                    trigger = catalog.get(SLACK_TRIGGER_TYPE)
                if trigger is not None and not trigger.hidden:
                    if trigger.type not in found:
                        found.append(trigger.type)
                    break
            else:
                for rx, node_type in _THING_TRIGGERS:
                    if rx.search(clause) and node_type not in found:
                        found.append(node_type)
                        break
    return found


# What starts a run when a trigger clause names a thing rather than an app.
_THING_TRIGGERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (_rx(r"\be-?mails?\b"), B + "emailReadImap"),
    (_rx(r"\bforms?\b"), B + "formTrigger"),
    (_rx(r"\bchat\b"), L + "chatTrigger"),
    (
        _rx(r"\b(reactions?|reacts?|reacted|emoji|joins?|joined|leaves)\b|#[a-z0-9_-]+"),
        SLACK_TRIGGER_TYPE,
    ),
    (_rx(r"\b(webhook|http request|request|call)\b"), B + "webhook"),
)
# Single-word app names that are everyday words too ("line", "box"): never taken as a name.
_AMBIGUOUS_NAMES = frozenset(
    [
        "line",
        "box",
        "wise",
        "segment",
        "matrix",
        "medium",
        "twist",
        "drift",
        "orbit",
        "gong",
        "grist",
        "flow",
        "webhook",
        "form",
        "crypto",
        "code",
        "filter",
        "merge",
        "wait",
        "read",
        "write",
        "send",
        "chat",
        "agent",
    ]
)
_NAME_INDEX: dict[int, tuple[NodeCatalog, dict[tuple[str, ...], str]]] = {}


def _name_words(text: str) -> list[str]:
    words = re.findall(r"[a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text).lower())
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words]


def _app_names(catalog: NodeCatalog) -> dict[tuple[str, ...], str]:
    """Word sequence of each app's name (display name and type name) → its node type."""
    cached = _NAME_INDEX.get(id(catalog))
    if cached is not None and cached[0] is catalog:
        return cached[1]
    index: dict[tuple[str, ...], str] = {}
    for node_type in catalog.nodes:
        short = node_type.rsplit(".", 1)[-1]
        if short.endswith("Tool") or short.startswith(("lmChat", "embeddings", "lm")):
            continue
        spec = catalog.nodes[node_type]
        if spec.hidden or not spec.credentials:
            continue
        base = node_type.removesuffix("Trigger")
        if base != node_type and base not in catalog:
            base = node_type
        for name in (spec.display_name, short.removesuffix("Trigger")):
            words = tuple(w for w in _name_words(name) if w not in ("trigger", "n8n"))
            if not words or (len(words) == 1 and words[0] in _AMBIGUOUS_NAMES):
                continue
            index.setdefault(words, base)
            if len(words) > 1:
                # People type "openai", "clickup", "youtube", "hubspot" as one word.
                index.setdefault(("".join(words),), base)
            if len(words) == 2 and words[0] in ("aws", "google"):
                index.setdefault(words[1:], base)
    for word, node_type in ABBREVIATIONS.items():
        if node_type in catalog:
            index[(word,)] = node_type
    _NAME_INDEX[id(catalog)] = (catalog, index)
    return index


def named_apps(text: str, catalog: NodeCatalog) -> list[str]:
    """The apps `text` names ("post to Discord", "a Google Sheet"), in order of mention;
    the longest name wins where names overlap ("Google Sheets" over "Google")."""
    index = _app_names(catalog)
    words = _name_words(text)
    longest = max((len(k) for k in index), default=0)
    found: list[str] = []
    i = 0
    while i < len(words):
        for size in range(min(longest, len(words) - i), 0, -1):
            node_type = index.get(tuple(words[i : i + size]))
            if node_type is not None:
                if node_type not in found:
                    found.append(node_type)
                i += size
                break
        else:
            i += 1
    return found


def companions(text: str, chosen: Sequence[str], catalog: NodeCatalog) -> list[str]:
    """Sub-nodes the chosen AI nodes cannot run without, and the agent a chat model serves."""
    out: list[str] = []
    if any(t in NEEDS_CHAT_MODEL for t in chosen) and not any(".lmChat" in t for t in chosen):
        out.append(next(t for rx, t in CHAT_MODELS if rx.search(text)))
    if any(".lmChat" in t for t in chosen) and not any(t in NEEDS_CHAT_MODEL for t in chosen):
        out.append(L + "agent")
    if any(".vectorStore" in t for t in chosen):
        if not any(".embeddings" in t for t in chosen):
            out.append(next(t for rx, t in EMBEDDINGS if rx.search(text)))
        out.append(L + "documentDefaultDataLoader")
    return [t for t in out if t in catalog]
