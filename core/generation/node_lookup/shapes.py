"""The JSON shapes n8n's special parameter types take, spelled out for the model: filter
conditions (IF, Filter, Switch rules) with the operators n8n knows and the `options.version` of
the node's version, assignments (Set), resource mappers (Sheets append-or-update, Airtable
upsert), Switch's fallback output — and n8n's builder hints in our JSON terms.

The operator names are n8n-workflow 2.40.7's (`node-parameters/filter-parameter`): an operator it
does not know is silently false, so the model must see the real list.
"""

from __future__ import annotations

import re
from typing import Any

from core.workspace.policy import DEFAULT_DENYLIST

# type → operations; unary ones take no rightValue and carry "singleValue": true.
_ANY = ("exists", "notExists", "empty", "notEmpty")
FILTER_OPERATORS: dict[str, tuple[str, ...]] = {
    "string": (
        *_ANY,
        *("equals", "notEquals", "contains", "notContains", "startsWith", "notStartsWith"),
        *("endsWith", "notEndsWith", "regex", "notRegex"),
    ),
    "number": (*_ANY, "equals", "notEquals", "gt", "lt", "gte", "lte"),
    "dateTime": (
        *_ANY,
        *("equals", "notEquals", "after", "before", "afterOrEquals", "beforeOrEquals"),
    ),
    "boolean": (*_ANY, "true", "false", "equals", "notEquals"),
    "array": (
        *_ANY,
        *("contains", "notContains", "lengthEquals", "lengthNotEquals", "lengthGt"),
        *("lengthLt", "lengthGte", "lengthLte"),
    ),
    "object": _ANY,
}
_COMMON = frozenset({"exists", "notExists", "empty", "notEmpty"})


_VERSION_STEP = re.compile(r"\$nodeVersion\s*>=\s*([\d.]+)\s*\?\s*(\d+)")
_VERSION_ELSE = re.compile(r":\s*(\d+)\s*}}\s*$")


def filter_version(rule: str | None, version: float) -> int:
    """The `options.version` a filter parameter has at node `version`, from n8n's own rule
    (`typeOptions.filter.version`, e.g. "={{ $nodeVersion >= 2.3 ? 3 : … : 1 }}")."""
    if not rule:
        return 1
    for bound, value in _VERSION_STEP.findall(rule):
        if version >= float(bound):
            return int(value)
    last = _VERSION_ELSE.search(rule)
    return int(last.group(1)) if last else 1


def filter_shape(rule: str | None, version: float) -> dict[str, Any]:
    """A filter value for this node version, with one binary and one unary condition."""
    return {
        "options": {
            "caseSensitive": True,
            "leftValue": "",
            "typeValidation": "strict",
            "version": filter_version(rule, version),
        },
        "conditions": [
            {
                "id": "c1",
                "leftValue": "={{ $json.status }}",
                "rightValue": "done",
                "operator": {"type": "string", "operation": "equals"},
            },
            {
                "id": "c2",
                "leftValue": "={{ $json.email }}",
                "rightValue": "",
                "operator": {"type": "string", "operation": "exists", "singleValue": True},
            },
        ],
        "combinator": "and",
    }


FILTER_NOTES = (
    "operator.type = type of leftValue; operation by type: "
    + "; ".join(
        f"{t}: {' '.join(o for o in ops if o not in _COMMON)}"
        for t, ops in FILTER_OPERATORS.items()
    )
    + ' (all types: exists notExists empty notEmpty, unary: add "singleValue": true, no '
    "rightValue). Unknown operations are silently false. A number held in a string needs "
    '"looseTypeValidation": true on the node.'
)
ASSIGNMENTS_SHAPE = {
    "assignments": [{"id": "a1", "name": "field", "value": "={{ $json.x }}", "type": "string"}]
}
RESOURCE_MAPPER_SHAPE = {
    "mappingMode": "defineBelow",
    "value": {"email": "={{ $json.email }}", "name": "={{ $json.name }}"},
    "matchingColumns": ["email"],
    "schema": [
        {
            "id": "email",
            "displayName": "email",
            "required": False,
            "defaultMatch": False,
            "display": True,
            "type": "string",
            "canBeUsedToMatch": True,
        },
        {
            "id": "name",
            "displayName": "name",
            "required": False,
            "defaultMatch": False,
            "display": True,
            "type": "string",
            "canBeUsedToMatch": True,
        },
    ],
}
RESOURCE_MAPPER_NOTES = (
    'mappingMode "defineBelow": value maps each column to an expression; matchingColumns names '
    "the column(s) that find the row to update (append-or-update, update, upsert need it); "
    'schema lists every column used. "autoMapInputData" maps input fields of the same name.'
)
SWITCH_NOTES = (
    "Each rule is one output, in order (output index = rule position). "
    'options.fallbackOutput: "extra" adds one more output (index = number of rules) for items '
    'no rule matched; "none" (default) drops them; a number sends them to that rule\'s output. '
    "Give each rule renameOutput/outputKey to name its branch."
)

# `key: 'value'` / `key: true` in n8n's SDK syntax → JSON.
_SDK_PAIR = re.compile(r"(?<![\"\w])([A-Za-z_][A-Za-z0-9_]*): '([^']*)'")
_SDK_BARE = re.compile(r"(?<![\"\w])([A-Za-z_][A-Za-z0-9_]*): (true|false|\d+)\b")
_SDK_CODE = re.compile(r"\b(node|trigger|config|expr|sticky|newCredential)\(|\w\(\{|=>|<pattern")
_SDK_CALL = re.compile(r"\.\w+\(|\bsubnodes\b|SDK")
# Advice for n8n's editor (pick from a list in the UI): our workflows are set up without it.
_EDITOR_ONLY = re.compile(r"(?i)mode\W+list|cachedResult|picker|from.list|explored resources")
MAX_HINT_CHARS = 300


def _denied_names() -> re.Pattern[str]:
    """The words a hint names a node the default policy denies with ("Data Table",
    "dataTable", "Execute Command", "in-memory vector store"…)."""
    names = []
    for node_type in DEFAULT_DENYLIST:
        short = node_type.rsplit(".", 1)[-1]
        words = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", short).lower().split()
        if len(words) > 1:  # one word ("git", "function", "code") names too much else
            names.append(r"[\s_-]?".join(map(re.escape, words)) + "s?")
    names += [r"in[\s-]memory vector store", r"simple vector store"]
    return re.compile(r"(?i)\b(" + "|".join(names) + r")\b")


_DENIED = _denied_names()
# A sentence ends at . ! ? before a space and a capital, quote or bracket (not "e.g. Gmail").
_SENTENCE_END = re.compile(r"(?<=[.!?])(?<!e\.g\.)(?<!i\.e\.)(?<!etc\.)\s+(?=[A-Z\"'(\[{-])")


def sentences(text: str) -> list[str]:
    """`text` in sentences (runs of white space made one space)."""
    return [s for s in _SENTENCE_END.split(" ".join(text.split())) if s]


def whole_sentences(text: str, limit: int) -> str:
    """The first sentences of `text` that fit in `limit` characters (at least the first one,
    whole): a hint is never cut mid-sentence."""
    out = ""
    for sentence in sentences(text):
        joined = f"{out} {sentence}" if out else sentence
        if out and len(joined) > limit:
            break
        out = joined
    return out


def hint_text(text: str, limit: int = MAX_HINT_CHARS) -> str | None:
    """One of n8n's builder hints in our JSON terms: sentences written in n8n's SDK code, about
    its editor's pickers, or naming a node this project's policy denies are left out, and it
    ends at a sentence end within `limit` characters; None when nothing is left."""
    kept = [
        sentence
        for sentence in sentences(text)
        if not _SDK_CODE.search(sentence)
        and not _SDK_CALL.search(sentence)
        and not _EDITOR_ONLY.search(sentence)
        and not _DENIED.search(sentence)
    ]
    if not kept:
        return None
    out = _SDK_PAIR.sub(r'"\1": "\2"', " ".join(kept))
    out = _SDK_BARE.sub(r'"\1": \2', out)
    return whole_sentences(out, limit)
