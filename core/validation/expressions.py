"""n8n expression syntax (`={{ … }}`): find expression strings and say what would fail."""

from __future__ import annotations

from collections.abc import Iterator


def expression_strings(value: object, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        if value.startswith("=") and "{{" in value:
            yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from expression_strings(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from expression_strings(v, f"{path}[{i}]")


_CLOSE = {")": "(", "]": "[", "}": "{"}
_REGEX_PREV = set("(,=:[!&|?{};+-*%<>~^") | {""}


def expression_problem(text: str) -> tuple[str | None, bool]:
    """Describe what is wrong with an n8n expression string, and whether n8n would fail on it.

    Returns (None, False) when the expression is fine. Inside each `{{ … }}` the JavaScript
    must have balanced (), [] and {} outside strings, template literals and regex literals.
    """
    i, n = 0, len(text)
    while True:
        start = text.find("{{", i)
        if start < 0:
            return None, False
        j = start + 2
        stack: list[str] = []
        prev = ""
        while j < n:
            c = text[j]
            if c in "'\"`":
                end = _skip_string(text, j)
                if end < 0:
                    return f"unclosed {c} string inside {{{{ }}}}", True
                j = end
                prev = "a"
                continue
            if text.startswith("//", j):
                nl = text.find("\n", j)
                j = n if nl < 0 else nl
                continue
            if text.startswith("/*", j):
                end_c = text.find("*/", j + 2)
                if end_c < 0:
                    return "unclosed /* comment inside {{ }}", True
                j = end_c + 2
                continue
            if c == "/" and prev in _REGEX_PREV:
                end = _skip_regex(text, j)
                if end > 0:
                    j = end
                    prev = "a"
                    continue
            if c == "}" and not stack and text.startswith("}}", j):
                break
            if c in "([{":
                stack.append(c)
            elif c in ")]}":
                if not stack or stack[-1] != _CLOSE[c]:
                    return f"unbalanced '{c}' inside {{{{ }}}}", True
                stack.pop()
            if not c.isspace():
                prev = c if not (c.isalnum() or c in "_$.") else "a"
            j += 1
        if j >= n:
            if stack:
                return f"unclosed '{stack[-1]}' inside an unclosed {{{{", True
            # n8n evaluates an unclosed `={{ $json.x` as the literal text: wrong, but no failure.
            return "{{ is never closed with }}", False
        if stack:
            return f"unclosed '{stack[-1]}' inside {{{{ }}}}", True
        i = j + 2


def _skip_string(text: str, j: int) -> int:
    quote = text[j]
    k = j + 1
    n = len(text)
    while k < n:
        c = text[k]
        if c == "\\":
            k += 2
            continue
        if c == quote:
            return k + 1
        if quote == "`" and c == "$" and text.startswith("${", k):
            depth = 1
            k += 2
            while k < n and depth:
                if text[k] in "'\"`":
                    end = _skip_string(text, k)
                    if end < 0:
                        return -1
                    k = end
                    continue
                if text[k] == "{":
                    depth += 1
                elif text[k] == "}":
                    depth -= 1
                k += 1
            continue
        if c == "\n" and quote != "`":
            return -1
        k += 1
    return -1


def _skip_regex(text: str, j: int) -> int:
    k = j + 1
    n = len(text)
    in_class = False
    while k < n:
        c = text[k]
        if c == "\\":
            k += 2
            continue
        if c == "\n":
            return -1
        if c == "[":
            in_class = True
        elif c == "]":
            in_class = False
        elif c == "/" and not in_class:
            k += 1
            while k < n and text[k].isalpha():
                k += 1
            return k
        k += 1
    return -1
