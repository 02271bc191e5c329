"""Fonts and text wrapping shared by the layout (which measures) and the renderer (which draws)."""

from __future__ import annotations

from functools import lru_cache

from PIL import ImageFont

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


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


def wrap(text: str, f: Font, width: float, max_lines: int) -> list[str]:
    """`text` broken into lines no wider than `width`, at spaces where it can, inside a word where
    a word alone is too wide. Only text beyond `max_lines` is cut (the last line ends in "…")."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, f) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        while text_width(word, f) > width:  # a word wider than the box: break it
            cut = len(word) - 1
            while cut > 1 and text_width(word[:cut], f) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and text_width(last + "…", f) > width:
            last = last[:-1]
        lines = [*lines[: max_lines - 1], last + "…"]
    return lines or [""]
