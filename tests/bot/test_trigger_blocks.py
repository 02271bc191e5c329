"""The Slack surface of workflows that start from Slack, as blocks and text (pure builders, no
service): the Run button, the inputs modal and what it carries, the shortcut's picker,
`/clixen triggers`, App Home's section and the notices."""

from __future__ import annotations

import json

from bot.blocks.run_message import summary_blocks
from bot.blocks.triggers import (
    METADATA_LIMIT,
    RUN_ACTION,
    RunRequest,
    channel_triggers_blocks,
    home_triggers_blocks,
    inputs_modal,
    notice_text,
    picked_workflow,
    picker_modal,
    submitted_inputs,
)
from core.kernel.slack_trigger import listens_in, runs_by_hand
from core.triggers import (
    DeliveryGaveUp,
    InputField,
    RateLimited,
    SubscriptionDropped,
    TriggerListing,
    WorkflowChoice,
    WorkflowRef,
)

TICKETS = TriggerListing(
    workflow_id=7,
    name="Tickets <!channel>",
    project_id=1,
    events=("reaction_added",),
    channels=("C0SUPPORT",),
    emoji=("ticket",),
    created_by="U1",
    lost_last_week=2,
    last_lost_reason="n8n answered 503",
)
REF = WorkflowRef(7, "Tickets", 1, "C0THREAD", "1700000000.000100")


def _text(blocks: list[dict[str, object]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_the_summary_of_a_workflow_that_runs_by_hand_has_a_run_button() -> None:
    manual = {"nodes": [{"type": "clixen.slackTrigger", "parameters": {"events": ["manual"]}}]}
    assert runs_by_hand(manual)
    assert not runs_by_hand({"nodes": [{"type": "n8n-nodes-base.scheduleTrigger"}]})
    listening = {"type": "clixen.slackTrigger", "parameters": {"channels": ["#support", "C0X1"]}}
    assert listens_in({"nodes": [listening]}) == ("#support", "C0X1")
    assert listens_in(manual) == ()
    blocks = summary_blocks(
        workflow_id=7,
        name="weekly",
        version=1,
        description=None,
        outline=["Slack trigger (by hand) → Keep"],
        n8n_url=None,
        runnable=True,
    )
    first = blocks[-1]["elements"][0]  # type: ignore[index]
    assert first["action_id"] == RUN_ACTION and first["value"] == "7"


def test_the_inputs_modal_asks_each_input_and_carries_the_run_within_slacks_limit() -> None:
    inputs = (InputField("week", "Which week", required=True), InputField("note", "Note"))
    request = RunRequest(
        source="shortcut",
        workflow_id=7,
        text="x" * 5000,
        channel_id="C1",
        message={"channel_id": "C1", "ts": "1.2", "text": "y" * 5000, "user_id": "U2"},
    )
    view = inputs_modal(workflow_name="Weekly", inputs=inputs, request=request)
    fields = [b for b in view["blocks"] if b["type"] == "input"]
    assert [(f["block_id"], f["optional"]) for f in fields] == [
        ("input_week", False),
        ("input_note", True),
    ]
    assert len(view["private_metadata"]) <= METADATA_LIMIT
    back = RunRequest.from_metadata(view["private_metadata"])
    assert back.workflow_id == 7 and back.source == "shortcut" and back.message["ts"] == "1.2"
    state = {"values": {"input_week": {"value": {"value": "W49"}}, "input_note": {"value": {}}}}
    assert submitted_inputs({"state": state}) == {"week": "W49"}


def test_the_shortcuts_picker_lists_the_workflows_or_says_how_to_make_one() -> None:
    request = RunRequest(source="shortcut", message={"text": "hello <@U1>", "ts": "1.2"})
    view = picker_modal(
        project_name="main", choices=[WorkflowChoice(3, "To Notion")], request=request
    )
    select = view["blocks"][-1]["element"]
    assert select["options"][0]["value"] == "3" and select["initial_option"]["value"] == "3"
    state = {"values": {"workflow": {"value": {"selected_option": {"value": "3"}}}}}
    assert picked_workflow({"state": state}) == 3
    empty = picker_modal(project_name="main", choices=[], request=request)
    assert "submit" not in empty and "No workflow of *main* runs on a message" in _text(
        empty["blocks"]
    )


def test_clixen_triggers_and_app_home_say_what_listens_where() -> None:
    text = _text(channel_triggers_blocks("C0SUPPORT", [TICKETS]))
    assert "reaction :ticket: in <#C0SUPPORT>" in text and "<@U1>" in text
    assert "2 lost this week" in text and "<!channel>" not in text  # names are escaped
    assert "No workflow listens in <#C0GENERAL>" in _text(channel_triggers_blocks("C0GENERAL", []))
    home = home_triggers_blocks([TICKETS], [(7, "Tickets"), (9, "Weekly report")])
    buttons = [b["accessory"]["value"] for b in home if "accessory" in b]
    assert buttons == ["7", "9"] and "Weekly report* — by hand" in _text(home)
    assert "2 lost this week (last: n8n answered 503)" in _text(home)  # App Home says why
    assert home_triggers_blocks([], []) == []


def test_each_notice_says_what_happened_and_what_to_do() -> None:
    gave_up = notice_text(DeliveryGaveUp(REF, "reaction_added", "C0SUPPORT", 10, "HTTP 500"))
    assert "never reached *Tickets*" in gave_up and "10 tries" in gave_up
    limited = notice_text(RateLimited(REF, 60))
    assert "more than 60 events" in limited and "resumes next minute" in limited
    dropped = notice_text(SubscriptionDropped(REF, "C0SUPPORT", "U1", "left_channel"))
    assert "stopped listening in <#C0SUPPORT>" in dropped and "left the channel" in dropped
