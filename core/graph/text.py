"""Fonts and text wrapping shared by the layout (which measures) and the renderer (which draws).

Every text in a picture comes from a workflow (node names, output names, n8n's error messages),
so from a user or an LLM: `wrap` and `shorten` do work bounded by their limits, not by the text.
"""

from __future__ import annotations

from functools import lru_cache

from PIL import ImageFont

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

# No line of a picture holds more characters than this, however narrow they are (zero-width
# characters measure 0 px): a title line of the widest picture holds about 250 wide ones.
LINE_CHARS = 300
ELLIPSIS = "…"


@lru_cache(maxsize=16)
def font(size: int, *, bold: bool = False) -> Font:
    """DejaVu Sans when the system has it (it comes with Graphviz), else Pillow's own font."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    try:
        return ImageFont.truetype(name, size)
    except OSError:
        return ImageFont.load_default(size=size)


def text_width(text: str, f: Font) -> float:
    return float(f.getlength(text))


def shorten(text: str, limit: int) -> str:
    """`text` with at most `limit` characters, the last one "…" when some were cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + ELLIPSIS


def _fit(text: str, f: Font, width: float, suffix: str = "") -> int:
    """How many leading characters of `text` fit in `width` with `suffix` after them (the two at
    most LINE_CHARS characters): a binary search, O(log n) measurements of at most LINE_CHARS."""
    lo, hi = 0, min(len(text), LINE_CHARS - len(suffix))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if text_width(text[:mid] + suffix, f) <= width:
            lo = mid
        else:
            hi = mid - 1
    return lo


def wrap(text: str, f: Font, width: float, max_lines: int) -> list[str]:
    """`text` broken into lines no wider than `width`, at spaces where it can, inside a word where
    a word alone is too wide; at most `max_lines` lines of at most LINE_CHARS characters. Text
    beyond them is cut: the last line then ends in "…".

    Work is bounded by `max_lines` × LINE_CHARS whatever the length of `text`."""
    max_lines = max(max_lines, 1)
    budget = max_lines * (LINE_CHARS + 1)
    cut = len(text) > budget
    lines: list[str] = []
    current = ""
    for word in text[:budget].split():
        if len(lines) > max_lines:
            break
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= LINE_CHARS and text_width(candidate, f) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
        while len(lines) <= max_lines and (
            len(current) > LINE_CHARS or text_width(current, f) > width
        ):
            n = max(_fit(current, f, width), 1)  # a word wider than the box: break it
            lines.append(current[:n])
            current = current[n:]
    if current and len(lines) <= max_lines:
        lines.append(current)
    if len(lines) > max_lines or cut:
        last = lines[max_lines - 1] if len(lines) >= max_lines else (lines or [""])[-1]
        keep = lines[: max_lines - 1] if len(lines) >= max_lines else lines[:-1]
        lines = [*keep, last[: _fit(last, f, width, ELLIPSIS)] + ELLIPSIS]
    return lines or [""]
