"""What a reply in a workflow's thread asks for, decided without the LLM: only clear change
requests become edits; thanks, questions and anything unclear never deploy a version."""

from __future__ import annotations

import pytest

from core.conversation.intent import ReplyIntent, classify_reply

ACK, QUESTION, CHANGE, UNCLEAR = (
    ReplyIntent.acknowledgement,
    ReplyIntent.question,
    ReplyIntent.change,
    ReplyIntent.unclear,
)

CASES: list[tuple[str, ReplyIntent]] = [
    # thanks, praise, acknowledgements, emoji
    ("thanks!", ACK),
    ("Thanks", ACK),
    ("thank you", ACK),
    ("Thank you so much, this is perfect", ACK),
    ("thx", ACK),
    ("ty!", ACK),
    ("great", ACK),
    ("Great, thanks!", ACK),
    ("awesome 🎉", ACK),
    ("perfect", ACK),
    ("nice one", ACK),
    ("cool", ACK),
    ("ok", ACK),
    ("OK!", ACK),
    ("okay thanks", ACK),
    ("got it", ACK),
    ("lgtm", ACK),
    ("looks good", ACK),
    ("looks great, thank you!", ACK),
    ("works, thanks", ACK),
    ("it works!", ACK),
    ("love it", ACK),
    ("👍", ACK),
    ("🙏🙏", ACK),
    (":+1:", ACK),
    (":tada: :raised_hands:", ACK),
    ("👍 thanks", ACK),
    ("no thanks", ACK),
    ("nope", ACK),
    ("<@U0ALICE> thanks!", ACK),
    # questions without an imperative: answered, never an edit
    ("what does this do?", QUESTION),
    ("What does it do", QUESTION),
    ("does it run on weekends?", QUESTION),
    ("how often does it run?", QUESTION),
    ("why did it fail?", QUESTION),
    ("which version is live?", QUESTION),
    ("is it active?", QUESTION),
    ("when does it run", QUESTION),
    ("where does it post?", QUESTION),
    ("who can see this?", QUESTION),
    ("thanks! what does it do?", QUESTION),
    # clear change requests
    ("drop the set node", CHANGE),
    ("add a step that posts to #ops", CHANGE),
    ("Make it run every hour", CHANGE),
    ("please also send an email to ops@example.com", CHANGE),
    ("also post to #alerts", CHANGE),
    ("change the channel to #news", CHANGE),
    ("rename it to Daily digest", CHANGE),
    ("use the feed https://example.com/rss instead", CHANGE),
    ("switch to 9am", CHANGE),
    ("remove the filter", CHANGE),
    ("only post items about Python", CHANGE),
    ("can you add a filter for errors?", CHANGE),
    ("could you make it hourly?", CHANGE),
    ("would you please change the schedule to weekdays", CHANGE),
    ("thanks, but make it hourly", CHANGE),
    ("looks good. now add a log step", CHANGE),
    ("I want it to post to #ops too", CHANGE),
    ("it should run at 8am instead of 9am", CHANGE),
    ("instead of Slack, send it by email", CHANGE),
    ("run it every 15 minutes", CHANGE),
    ("Send the summary to #team as well", CHANGE),
    ("don't post on weekends", CHANGE),
    ("let's make it daily", CHANGE),
    ("<@U0BOT> add a retry", CHANGE),
    # unclear: asked, never deployed straight away
    ("hmm", UNCLEAR),
    ("the channel is wrong", UNCLEAR),
    ("what if it also posted to #ops?", UNCLEAR),
    ("should it run at 9?", UNCLEAR),
    ("weekly", UNCLEAR),
    ("#news", UNCLEAR),
    ("the feed is https://example.com/rss", UNCLEAR),
    ("", UNCLEAR),
    ("   ", UNCLEAR),
]


@pytest.mark.parametrize(("text", "intent"), CASES, ids=[repr(t) for t, _ in CASES])
def test_classify_reply(text: str, intent: ReplyIntent) -> None:
    assert classify_reply(text) == intent


def test_only_change_requests_may_start_an_edit() -> None:
    assert [i for i in ReplyIntent if i.starts_edit] == [ReplyIntent.change]
