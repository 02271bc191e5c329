"""Input safety at every boundary: user text in, LLM output in (Slack text out is escaped by the
bot: `bot.blocks.common.escape`).

- `sanitize_request`: what a user typed, before it is stored or shown to the LLM.
- `fence`: user text inside a prompt, between markers the user cannot forge.
- `parse_llm_json`: the LLM's reply, parsed strictly with caps on size, depth and node count.
- `sanitize_workflow_json`: a workflow (from the LLM or an import) before it is stored or deployed.
- `valid_timezone`: a requester's timezone, kept only when this system knows it.
"""

from __future__ import annotations

import json
import re
import secrets
import unicodedata
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.kernel.errors import ClixenError, InvalidInput

MAX_REQUEST_CHARS: Final = 4_000
MAX_LLM_REPLY_CHARS: Final = 200_000
MAX_NODES: Final = 100
MAX_JSON_DEPTH: Final = 40
MAX_STRING_CHARS: Final = 50_000  # a Code node's source is the longest legitimate string
MAX_WORKFLOW_CHARS: Final = 1_000_000

# Zero-width and bidirectional controls can hide text from a reader; the zero-width joiner
# (U+200D) stays because emoji sequences need it.
_INVISIBLE = {chr(c) for c in (0x200B, 0x200C, 0x200E, 0x200F, 0x2060, 0xFEFF)} | {
    chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
}


class LLMOutputInvalid(ClixenError):
    """The LLM's reply is not the JSON object we asked for; `reason` says precisely why."""

    code = "llm_output_invalid"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"The AI's answer could not be used: {reason}")


def _strip_controls(text: str) -> str:
    out = []
    for ch in text:
        if ch in "\n\t":
            out.append(ch)
        elif ch in _INVISIBLE or unicodedata.category(ch) in ("Cc", "Cs", "Co"):
            continue
        else:
            out.append(ch)
    return "".join(out)


def sanitize_request(text: str, *, max_chars: int = MAX_REQUEST_CHARS) -> str:
    """The user's request, normalised (NFKC), without control characters, whitespace collapsed.

    Raises InvalidInput with a specific message when nothing is left or it is too long.
    """
    text = unicodedata.normalize("NFKC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _strip_controls(text)
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if not text:
        raise InvalidInput(
            "Your request is empty. Describe the automation you want, for example: "
            '"every morning at 8 post new items of https://example.com/feed.xml to #news".'
        )
    if len(text) > max_chars:
        raise InvalidInput(
            f"Your request is {len(text):,} characters long; the limit is {max_chars:,}. "
            "Describe the automation in fewer words (long data belongs in the workflow's "
            "source, not in the request)."
        )
    return text


def fence(text: str, label: str = "user_request") -> str:
    """`text` between markers made unique per call; markers inside `text` are neutralised.

    The prompt must tell the model that whatever sits between `<<<LABEL_id>>>` and
    `<<<END_LABEL_id>>>` is data. Because the id is random, the user cannot close the fence.
    """
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", label):
        raise ValueError("fence label must be a short lowercase identifier")
    marker = f"{label.upper()}_{secrets.token_hex(6)}"
    # Any run of angle brackets that could look like a marker loses its meaning.
    cleaned = re.sub(r"<{3,}", "‹‹", text)
    cleaned = re.sub(r">{3,}", "››", cleaned)
    return f"<<<{marker}>>>\n{cleaned}\n<<<END_{marker}>>>"


_WHOLE_FENCE = re.compile(r"\A```(?:json|JSON)?[ \t]*\n(?P<body>.*)\n```\Z", re.DOTALL)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise LLMOutputInvalid(f"the key {k[:60]!r} appears twice in one object")
        out[k] = v
    return out


def _reject_constant(name: str) -> Any:
    raise LLMOutputInvalid(f"{name} is not valid JSON")


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of `value`, stopping early once it passes `limit`."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    deepest = 0
    while stack:
        item, d = stack.pop()
        deepest = max(deepest, d)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, d + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, d + 1) for v in item)
    return deepest


def _node_lists(obj: dict[str, Any]) -> list[Any]:
    found = [obj.get("nodes")]
    wf = obj.get("workflow")
    if isinstance(wf, dict):
        found.append(wf.get("nodes"))
    return [n for n in found if n is not None]


def parse_llm_json(
    text: str, *, max_chars: int = MAX_LLM_REPLY_CHARS, max_nodes: int = MAX_NODES
) -> dict[str, Any]:
    """The LLM's reply as a JSON object, or LLMOutputInvalid with the precise reason.

    Strict: a ```json fence is removed only when it wraps the whole reply; prose around the JSON,
    NaN/Infinity, duplicate keys, nesting deeper than MAX_JSON_DEPTH, a non-object top level and
    more than `max_nodes` workflow nodes are all refused.
    """
    if len(text) > max_chars:
        raise LLMOutputInvalid(
            f"the reply is {len(text):,} characters long; the cap is {max_chars:,}"
        )
    body = text.strip()
    m = _WHOLE_FENCE.match(body)
    if m:
        body = m.group("body").strip()
    if not body:
        raise LLMOutputInvalid("the reply is empty")
    try:
        value = json.loads(
            body, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant
        )
    except json.JSONDecodeError as e:
        raise LLMOutputInvalid(
            f"the reply is not one JSON object ({e.msg} at line {e.lineno} column {e.colno})"
        ) from e
    except RecursionError as e:
        raise LLMOutputInvalid(f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels") from e
    if not isinstance(value, dict):
        raise LLMOutputInvalid(f"the reply is a JSON {type(value).__name__}, not an object")
    if _depth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise LLMOutputInvalid(f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels")
    for nodes in _node_lists(value):
        if not isinstance(nodes, list):
            raise LLMOutputInvalid('"nodes" is not a list')
        if len(nodes) > max_nodes:
            raise LLMOutputInvalid(f"the workflow has {len(nodes)} nodes; the cap is {max_nodes}")
    return value


# Top-level fields that carry data rather than the automation (pinned test data can hold
# personal data or secrets and must never be deployed or stored as a version).
_DROPPED_FIELDS: Final = ("pinData", "staticData")


def _check_strings(value: Any, path: str) -> None:
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if len(item) > MAX_STRING_CHARS:
                raise InvalidInput(
                    f"The workflow's {where} is {len(item):,} characters long; "
                    f"the cap is {MAX_STRING_CHARS:,}."
                )
        elif isinstance(item, dict):
            for k, v in item.items():
                if not isinstance(k, str):
                    raise InvalidInput(f"The workflow's {where} has a key that is not text.")
                if len(k) > 1_000:
                    raise InvalidInput(f"The workflow's {where} has a key longer than 1,000.")
                stack.append((v, f"{where}.{k[:40]}"))
        elif isinstance(item, list):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(item))


def sanitize_workflow_json(wf: Any, *, max_nodes: int = MAX_NODES) -> dict[str, Any]:
    """A deep copy of workflow JSON `wf` fit to store and deploy, or InvalidInput saying why.

    Drops pinned data, refuses values JSON cannot carry (NaN, sets, objects), too many nodes,
    too deep nesting, over-long strings and an oversized whole.
    """
    if not isinstance(wf, dict):
        raise InvalidInput("A workflow must be a JSON object.")
    try:
        text = json.dumps(wf, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise InvalidInput(f"The workflow is not plain JSON: {e}") from e
    except RecursionError as e:
        raise InvalidInput("The workflow JSON is nested too deeply.") from e
    if len(text) > MAX_WORKFLOW_CHARS:
        raise InvalidInput(
            f"The workflow JSON is {len(text):,} characters; the cap is {MAX_WORKFLOW_CHARS:,}."
        )
    clean: dict[str, Any] = json.loads(text)  # a fresh copy: the caller's dict is untouched
    if _depth(clean, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise InvalidInput(f"The workflow JSON is nested deeper than {MAX_JSON_DEPTH} levels.")
    for field in _DROPPED_FIELDS:
        clean.pop(field, None)
    nodes = clean.get("nodes", [])
    if not isinstance(nodes, list):
        raise InvalidInput('The workflow\'s "nodes" must be a list.')
    if len(nodes) > max_nodes:
        raise InvalidInput(f"The workflow has {len(nodes)} nodes; the cap is {max_nodes}.")
    for node in nodes:
        if isinstance(node, dict):
            node.pop("pinData", None)
    _check_strings(clean, "JSON")
    return clean


def valid_timezone(name: str | None) -> str | None:
    """`name` when it is an IANA timezone this system knows (e.g. Europe/Paris), else None."""
    if not name or len(name) > 64:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name
