"""Technique guides: a few lines each on how n8n does a thing that models often get wrong,
chosen by the request's words and the node types retrieval picked (issue 11, item 4)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

B, L = "n8n-nodes-base.", "@n8n/n8n-nodes-langchain."


@dataclass(frozen=True)
class Guide:
    name: str
    words: re.Pattern[str] | None  # request words that call for it
    types: frozenset[str]  # or: chosen node types that call for it
    text: str
    both: bool = False  # words AND one of the types are needed


GUIDES: tuple[Guide, ...] = (
    Guide(
        "new items only",
        re.compile(r"\b(new|latest|unseen|not seen|only once)\b", re.I),
        frozenset({B + "scheduleTrigger", B + "rssFeedRead"}),
        "New items only: a scheduled read (RSS Feed Read, HTTP Request, a 'get many') returns "
        "every item each run, so the workflow would repost them all. Either start with the "
        "app's trigger (RSS Feed Trigger n8n-nodes-base.rssFeedReadTrigger polls and emits only "
        "new items) or put Remove Duplicates (operation removeItemsSeenInPreviousExecutions, "
        'dedupeValue "={{ $json.link }}" or another unique field) right after the read.',
        both=True,
    ),
    Guide(
        "pagination",
        re.compile(r"\b(pages|pagination|paginat\w+|all (the )?(results|records|rows))\b", re.I),
        frozenset(),
        "Pagination: HTTP Request pages by itself; parameters.options.pagination.pagination = "
        '{"paginationMode": "updateAParameterInEachRequest", "parameters": {"parameters": '
        '[{"type": "qs", "name": "page", "value": "={{ $pageCount + 1 }}"}]}, '
        '"paginationCompleteWhen": "responseIsEmpty"} (or paginationMode '
        '"responseContainsNextURL" with nextURL "={{ $response.body.next }}").',
    ),
    Guide(
        "batches and rate limits",
        re.compile(r"\b(batch\w*|rate.?limit\w*|throttl\w*|one by one|loop)\b", re.I),
        frozenset(),
        "Batches: Loop Over Items (n8n-nodes-base.splitInBatches, batchSize) has output 0 "
        '"done" (fires once, after the last batch) and output 1 "loop" (each batch): connect '
        "the work to output 1 and the last node of the work back to Loop Over Items; continue "
        "after the loop from output 0. For a rate limit put a Wait node inside the loop.",
    ),
    Guide(
        "branches",
        None,
        frozenset({B + "if", B + "switch", B + "merge", B + "filter"}),
        "Branches: IF has output 0 = true and 1 = false. Switch in rules mode has one output "
        "per rule, in order (index 0, 1, ...). Filter drops the items that fail and has one "
        "output. Merge waits for its two inputs, connected with index 0 and index 1 (mode "
        '"combine" with fieldsToMatchString joins them by a field; "append" concatenates).',
    ),
    Guide(
        "AI agent wiring",
        None,
        frozenset(
            {
                L + t
                for t in (
                    "agent",
                    "chainLlm",
                    "chainSummarization",
                    "textClassifier",
                    "informationExtractor",
                    "sentimentAnalysis",
                    "lmChatOpenAi",
                    "lmChatAnthropic",
                    "memoryBufferWindow",
                    "chatTrigger",
                    "vectorStorePinecone",
                )
            }
        ),
        "AI wiring: sub-nodes connect FROM the sub-node TO the root node with their own "
        "connection type, never main: a chat model uses ai_languageModel, memory ai_memory, a "
        "tool ai_tool, an output parser ai_outputParser, embeddings ai_embedding, a document "
        'loader ai_document. Example: {"OpenAI Chat Model": {"ai_languageModel": [[{"node": '
        '"AI Agent", "type": "ai_languageModel", "index": 0}]]}}. Only the root node (agent, '
        "chain) is on the main path, between the trigger and what uses its output.",
    ),
    Guide(
        "error notifications",
        re.compile(r"\b(fails?|failed|failure|errors?|crash\w*)\b", re.I),
        frozenset({B + "errorTrigger"}),
        "Errors: an Error Trigger (n8n-nodes-base.errorTrigger) starts its own workflow when "
        "another one fails; it gets $json.execution.error.message, $json.execution.url and "
        "$json.workflow.name. The watched workflow names it in settings.errorWorkflow. Inside "
        'one workflow a node can set "onError": "continueErrorOutput" to get an error output.',
    ),
)
MAX_GUIDES = 3


def guides_for(text: str, node_types: Sequence[str]) -> list[str]:
    """The guides that apply to `text` and the chosen `node_types` (at most MAX_GUIDES)."""
    chosen = set(node_types)
    out = []
    for guide in GUIDES:
        said = guide.words is not None and bool(guide.words.search(text))
        picked = bool(guide.types & chosen)
        if (said and picked) if guide.both else (said or picked):
            out.append(guide.text)
    return out[:MAX_GUIDES]
