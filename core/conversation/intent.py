"""What a reply in a workflow's thread asks for, decided by rules (no LLM call, no cost).

Only a clear change request may start an edit (a new deployed version). Thanks, praise, emoji
and "ok" are acknowledgements; a question that proposes nothing is answered from what is known;
everything else is unclear, and the front end asks before changing anything. When in doubt the
rules answer `unclear`: asking costs one click, a wrong deploy costs a version.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from enum import StrEnum
from typing import Final


class ReplyIntent(StrEnum):
    acknowledgement = "acknowledgement"  # thanks, great, 👍, ok, no thanks
    question = "question"  # asks about the workflow, proposes no change
    change = "change"  # a clear request to change the workflow
    unclear = "unclear"  # could be a change: ask first

    @property
    def starts_edit(self) -> bool:
        return self is ReplyIntent.change


def _vocabulary(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Words a reply made only of is an acknowledgement ("thank you so much, this is perfect").
_ACK_WORDS: Final = _vocabulary(
    """thanks thank thankyou thx ty tysm cheers appreciated appreciate great awesome perfect nice
    cool ok okay k kk good fine excellent amazing brilliant wonderful fantastic super sweet neat
    lovely love it this that is looks look works working worked got one so much very really you
    lgtm yes yep yeah no nope nah sure all done wow haha lol indeed job well gracias merci"""
)

# Verbs that, opening a sentence, ask for a change ("add a step", "make it hourly").
_CHANGE_VERBS: Final = _vocabulary(
    """add append attach change connect convert delete disable drop edit enable exclude extend
    filter fix format include increase decrease limit make modify move notify only post put
    reduce remove rename reorder replace reschedule retry run schedule send set skip sort split
    start stop swap switch tag translate trigger turn update upload use wait"""
)

# Openings that state a wanted change ("I want it to…", "it should…", "let's…").
_CHANGE_OPENINGS: Final = (
    ("i", "want"),
    ("i", "need"),
    ("i'd", "like"),
    ("i", "would", "like"),
    ("we", "want"),
    ("we", "need"),
    ("it", "should"),
    ("it", "needs"),
    ("it", "must"),
    ("let's",),
    ("lets",),
    ("instead",),
)

# Words skipped before the sentence's real opening ("please also add…", "but make it…").
_LEADING_FILLERS: Final = _vocabulary(
    "please pls plz also and but so then now ok okay oh hey just actually clixen"
)

_NEGATIONS: Final = (("don't",), ("dont",), ("do", "not"), ("never",))

_QUESTION_WORDS: Final = _vocabulary(
    """what how why when where who whom whose which does do did is are was were will would can
    could should shall has have had am may might isn't doesn't didn't won't"""
)

# A question with one of these proposes something ("what if it also…", "should it run at 9?").
_PROPOSAL_WORDS: Final = _vocabulary("also instead too rather possible")
_PROPOSAL_PAIRS: Final = frozenset(
    {
        ("what", "if"),
        ("how", "about"),
        ("why", "not"),
        ("should", "it"),
        ("could", "it"),
        ("can", "it"),
        ("would", "it"),
        ("can", "we"),
        ("could", "we"),
        ("should", "we"),
        ("shall", "we"),
        ("can", "i"),
        ("could", "i"),
        ("as", "well"),
    }
)

# "can you add…?", "could you please make…": a request phrased as a question.
_POLITE_ASKERS: Final = _vocabulary("can could would will")

_SLACK_MARKUP = re.compile(r"<[^>\s]*>")  # <@U123>, <#C1|news>, <https://…|label>
_URL = re.compile(r"https?://\S+")
_SHORTCODE = re.compile(r":[a-z0-9_+'-]+:")
_CLAUSE_END = re.compile(r"([.!?;]+)(?=\s|$)|\n|,")
_WORD = re.compile(r"[a-z0-9#@'][a-z0-9#@'._-]*")


def _without_emoji(text: str) -> tuple[str, bool]:
    """`text` without emoji (shortcodes and pictographs), and whether it had any."""
    stripped = _SHORTCODE.sub(" ", text)
    had = stripped != text
    kept = []
    for ch in stripped:
        if unicodedata.category(ch) in ("So", "Sk", "Cs") or ch in "\u200d\ufe0f":
            had = True
            kept.append(" ")
        else:
            kept.append(ch)
    return "".join(kept), had


def _clauses(text: str) -> list[tuple[list[str], bool]]:
    """The text's clauses as (lowercase words, ends with a question mark)."""
    out: list[tuple[list[str], bool]] = []
    start = 0
    for m in _CLAUSE_END.finditer(text + "\n"):
        words = _WORD.findall(text[start : m.start()].replace("’", "'"))
        if words:
            out.append((words, "?" in (m.group(1) or "")))
        start = m.end()
    return out


def _opens_with(words: list[str], openings: tuple[tuple[str, ...], ...]) -> tuple[str, ...] | None:
    for opening in openings:
        if tuple(words[: len(opening)]) == opening:
            return opening
    return None


def _clause_intent(words: list[str], asks: bool) -> ReplyIntent | None:
    """One clause's intent; None for a clause that says nothing we recognise."""
    if all(w in _ACK_WORDS for w in words) and not asks:
        return ReplyIntent.acknowledgement
    rest = list(words)
    while len(rest) > 1 and rest[0] in _LEADING_FILLERS:
        rest = rest[1:]
    first = rest[0]
    # "can you add…", "could you please make…"
    if first in _POLITE_ASKERS and len(rest) > 2 and rest[1] in ("you", "u"):
        verb = rest[3] if rest[2] == "please" and len(rest) > 3 else rest[2]
        if verb in _CHANGE_VERBS:
            return ReplyIntent.change
    negation = _opens_with(rest, _NEGATIONS)
    if negation and len(rest) > len(negation) and rest[len(negation)] in _CHANGE_VERBS:
        return ReplyIntent.change  # "don't post on weekends"
    if asks or first in _QUESTION_WORDS:
        pairs = set(itertools.pairwise(rest))
        if _PROPOSAL_WORDS.intersection(rest) or _PROPOSAL_PAIRS & pairs:
            return ReplyIntent.unclear
        return ReplyIntent.question
    if first in _CHANGE_VERBS or _opens_with(rest, _CHANGE_OPENINGS):
        return ReplyIntent.change
    return None


def classify_reply(text: str) -> ReplyIntent:
    """What a reply in a workflow's thread asks for (see the module docstring).

    A clear change anywhere wins ("thanks, but make it hourly"); then anything unrecognised
    makes the reply unclear; then a question; a reply of only thanks and emoji is an
    acknowledgement. An empty reply is unclear.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = _URL.sub(" link ", _SLACK_MARKUP.sub(" ", text))
    text, had_emoji = _without_emoji(text)
    clauses = _clauses(text)
    if not clauses:
        return ReplyIntent.acknowledgement if had_emoji else ReplyIntent.unclear
    intents = [_clause_intent(words, asks) for words, asks in clauses]
    if ReplyIntent.change in intents:
        return ReplyIntent.change
    if None in intents or ReplyIntent.unclear in intents:
        return ReplyIntent.unclear
    if ReplyIntent.question in intents:
        return ReplyIntent.question
    return ReplyIntent.acknowledgement
