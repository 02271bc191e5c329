"""The README's command line is the real one: every line of its command table, and every
`clixen …` line of its code blocks, parses with `clixen`'s own argument parser (each form of a
line: its alternatives `a|b`, `X | Y`, with and without its `[optional]` parts, placeholders
filled in). Each shell code block is either parsed here or marked as an example that needs a
service (`<!-- example: needs … -->` just above it), and every subcommand is in the table.

A failure names the README line and the exact command that does not parse, with argparse's
reason: fix that line (or the parser), nothing else.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli import build_parser

README = Path(__file__).resolve().parents[2] / "README.md"

# Sample values for the placeholders the table uses; any other CAPITALS word becomes "1".
PLACEHOLDERS = {
    "WORKFLOW": "1",
    "FILE": "wf.json",
    "FILE.json": "wf.json",
    "FILE...": "wf.json",
    "OUT": "out.png",
    "PROJECT": "default",
    "RUN": "1",
    "N": "2",
    "A": "1",
    "B": "2",
    "ID": "73",
    "S": "failed",
    "JSON": "{}",
    "NAME": "API_AUTH",
    "T": "httpHeaderAuth",
    "HOST": "api.example.com",
    "FIELD=VALUE": "name=X-API-Key",
    "SERVICE": "google-sheets",
    "PROVIDER": "google",
    "TYPE": "n8n-nodes-base.slack",
    "TYPE…": "n8n-nodes-base.slack",
    "HOST…": "api.example.com",
    "R": "message",
    "O": "post",
    "PROMPTS_FILE": "prompts.jsonl",
    "REV": "head",
    "USER": "cli:bob",
    "ROLE": "editor",
    "QUERY": "slack",
    "TOKEN_ID": "1",
}
EXAMPLE_MARK = re.compile(r"<!--\s*example: needs [^>]+-->")


@dataclass(frozen=True)
class ReadmeLine:
    number: int
    text: str  # the command part of the line (continuations joined)


def _command_table() -> list[ReadmeLine]:
    """The command column of the ```text block under "## Command line"."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index("## Command line")
    fence = next(i for i in range(start, len(lines)) if lines[i].startswith("```"))
    rows: list[ReadmeLine] = []
    for i in range(fence + 1, len(lines)):
        line = lines[i]
        if line.startswith("```"):
            break
        command = re.split(r"\s{2,}", line.strip())[0]
        if line.startswith(" ") and rows:  # a continuation: more options of the line above
            last = rows[-1]
            rows[-1] = ReadmeLine(last.number, f"{last.text} {command.lstrip('…')}")
        elif line.startswith("clixen "):
            rows.append(ReadmeLine(i + 1, command))
    return rows


def _tokens(text: str) -> list[str]:
    """Words, keeping "quoted text" and [optional groups] whole."""
    return re.findall(r'"[^"]*"|\[[^\]]*\]…?|\S+', text)


def _fill(word: str) -> list[str]:
    if word.startswith('"'):
        return [word.strip('"') or "text"]
    if word in ("…",):
        return []
    if word in PLACEHOLDERS:
        return [PLACEHOLDERS[word]]
    if re.fullmatch(r"[A-Z][A-Z_.=…]*", word):
        return ["1"]
    return [word]


def _expand(words: list[str]) -> list[list[str]]:
    """Every argv a sequence of table words stands for: in-word `a|b` alternatives, and each
    `[optional group]` left out and put in (all at once: options do not exclude each other)."""
    forms: list[list[str]] = [[]]
    optional: list[list[str]] = []
    for word in words:
        if word.startswith("["):
            optional.append(_tokens(word.rstrip("…")[1:-1]))
            continue
        choices = word.split("|") if "|" in word and not word.startswith('"') else [word]
        forms = [f + _fill(c) for f in forms for c in choices]
    result = list(forms)
    if optional:
        for group in optional:
            result = [r + extra for r in result for extra in _expand(group)] or result
        result = forms + result
    return result


def _has_actions(parser: argparse.ArgumentParser, command: str) -> bool:
    top = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub = top.choices.get(command)
    return sub is not None and any(isinstance(a, argparse._SubParsersAction) for a in sub._actions)


def _argvs(parser: argparse.ArgumentParser, text: str) -> list[list[str]]:
    """`clixen X | Y` lists alternatives: each is a command of its own, or another action of the
    first one's command (`clixen db upgrade | current`)."""
    alternatives = [a.strip() for a in re.split(r"\s\|\s", text.removeprefix("clixen "))]
    first = alternatives[0].split()[0]
    argvs: list[list[str]] = []
    for n, alt in enumerate(alternatives):
        if n > 0 and _has_actions(parser, first):
            alt = f"{first} {alt}"
        argvs.extend(_expand(_tokens(alt)))
    return argvs


def _parse_error(parser: argparse.ArgumentParser, argv: list[str]) -> str | None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            parser.parse_args(argv)
        except SystemExit:
            return err.getvalue().strip().splitlines()[-1] if err.getvalue() else "exit"
    return None


def _failures(lines: list[ReadmeLine]) -> list[str]:
    parser = build_parser()
    failures = []
    for row in lines:
        for argv in _argvs(parser, row.text):
            why = _parse_error(parser, argv)
            if why is not None:
                failures.append(
                    f"README.md line {row.number}: `{row.text}` → `clixen {shlex.join(argv)}` "
                    f"does not parse: {why}"
                )
    return failures


def test_every_line_of_the_command_table_parses() -> None:
    rows = _command_table()
    assert len(rows) > 20, "the README's command table was not found under '## Command line'"
    failures = _failures(rows)
    assert not failures, "\n".join(failures)


def test_the_table_forms_include_the_commands_a_newcomer_tripped_over() -> None:
    """The expansion really covers the alternatives and options (a parser that skipped them
    would pass any README)."""
    parser = build_parser()
    forms = [argv for row in _command_table() for argv in _argvs(parser, row.text)]
    assert ["jobs"] in forms
    assert ["secret", "rotate"] in forms
    assert any(f[:2] == ["graph", "1"] and "--execution" in f for f in forms)
    assert ["list", "--deleted"] in forms
    assert any(f[:1] == ["restore"] for f in forms)


def test_every_subcommand_is_in_the_command_table() -> None:
    parser = build_parser()
    top = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    documented = {argv[0] for row in _command_table() for argv in _argvs(parser, row.text)}
    missing = sorted(set(top.choices) - documented)
    assert not missing, (
        f"`clixen {', '.join(missing)}` exist but README.md's command table (under "
        "'## Command line') has no line for them: add one."
    )


def _code_blocks() -> list[tuple[int, str, list[str]]]:
    """(line number of the fence, info string, body lines) of each fenced block."""
    lines = README.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if lines[i].startswith("```"):
            info, start = lines[i][3:].strip(), i
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            blocks.append((start + 1, info, lines[start + 1 : j]))
            i = j
        i += 1
    return blocks


def test_every_clixen_line_of_a_code_block_parses() -> None:
    table_start = _command_table()[0].number
    lines = [
        ReadmeLine(start + k + 1, line.split(" #")[0].strip())
        for start, _, body in _code_blocks()
        if not start < table_start <= start + len(body)
        for k, line in enumerate(body)
        if line.startswith("clixen ")
    ]
    assert lines, "the README's code blocks hold no clixen command any more"
    failures = _failures(lines)
    assert not failures, "\n".join(failures)


def test_every_shell_block_is_parsed_here_or_marked_as_needing_a_service() -> None:
    text = README.read_text(encoding="utf-8").splitlines()
    unmarked = []
    for start, info, body in _code_blocks():
        if info not in ("bash", "sh", "console", "shell"):
            continue
        commands = [b for b in body if b.strip() and not b.lstrip().startswith("#")]
        if commands and all(b.startswith("clixen ") for b in commands):
            continue  # parsed by the test above
        above = " ".join(text[max(0, start - 3) : start - 1])
        if not EXAMPLE_MARK.search(above):
            unmarked.append(f"README.md line {start}: ```{info} block starting {commands[:1]}")
    assert not unmarked, (
        "mark each as an example that needs a service, on a line above it: "
        "<!-- example: needs n8n, Postgres -->\n" + "\n".join(unmarked)
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("clixen quota | stats", [["quota"], ["stats"]]),
        ("clixen db upgrade | current", [["db", "upgrade"], ["db", "current"]]),
        ("clixen runs [--state S]", [["runs"], ["runs", "--state", "failed"]]),
        ("clixen graph WORKFLOW|FILE.json", [["graph", "1"], ["graph", "wf.json"]]),
    ],
)
def test_table_forms(text: str, expected: list[list[str]]) -> None:
    assert _argvs(build_parser(), text) == expected
