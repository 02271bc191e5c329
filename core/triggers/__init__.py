"""Workflows that start from Slack (issue 25), the core side: Slack sends every event to
Clixen's one request URL, so Clixen receives it, matches it against what the active versions
listen to, and calls the workflow in n8n through a Webhook trigger only Clixen can call.

By job:
- `spec` — the `clixen.slackTrigger` node's parameters, checked and bounded (the node itself
  is defined in `core.kernel.slack_trigger`, its catalog entry in `core.catalog.slack_trigger`);
- `payload` — the one payload shape a workflow receives (`PAYLOAD_FIELDS`), and what a delivery
  adds from Slack;
- `endpoints`, `compile` — the n8n side: a random webhook path, a per-workflow secret as an n8n
  Header Auth credential, the trigger compiled into Webhook + Set nodes;
- `subscriptions`, `deploys` — what each active version listens to, kept equal to n8n by the
  deploy (`core.deploy` calls `prepare` / `Prepared.for_n8n` / `Prepared.activated`,
  `compiled_head` when it restores the last good version, `unsubscribe` on deactivate and
  delete, `drop_endpoint` on delete and a discarded draft); who may listen where
  (`access.ChannelAccess`, implemented by the bot over the Slack Web API, installed once per
  process with `install`); `member_left`, `drop_lost_creators`;
- `receive` — `receive_event(SlackEnvelope)`: match and enqueue, nothing else (the ack path);
- `delivery` — `deliver_due` / `DeliveryWorker`: send to n8n with backoff, give up visibly (the
  bot starts one worker per `clixen serve` and calls `wake()` after each enqueue);
- `manual` — runs by hand (`run_by_hand`) and what the Slack surface lists;
- `notices` — typed notices (gave up, rate limited, subscription dropped, outbox full); their
  Slack text is written in `bot/`.

Layer: above `core.workspace`, below `core.validation` (whose `$json.X` checks read
`PAYLOAD_FIELDS`) and `core.deploy` (which calls the deploy hooks).
"""

from core.kernel.slack_trigger import SLACK_TRIGGER_TYPE, TRIGGER_EVENTS
from core.triggers.access import (
    Channel,
    ChannelAccess,
    ChannelKind,
    SlackMessage,
    SlackReader,
    install,
    installed,
)
from core.triggers.compile import compile_for_n8n, has_trigger
from core.triggers.delivery import (
    BACKOFF_S,
    MAX_ATTEMPTS,
    DeliveryPass,
    DeliveryWorker,
    WebhookSender,
    deliver_due,
)
from core.triggers.deploys import Prepared, compiled_head, prepare
from core.triggers.endpoints import (
    HEADER_NAME,
    Endpoint,
    TriggerSecretUnreadable,
    drop_endpoint,
    endpoint_of,
    rotate_secrets,
    secret_of,
)
from core.triggers.manual import (
    HandRun,
    HandRunStatus,
    MessageRef,
    TriggerListing,
    WorkflowChoice,
    declared_inputs,
    run_by_hand,
    triggers_in_channel,
    triggers_of_project,
    workflows_accepting_message,
)
from core.triggers.notices import (
    DeliveryGaveUp,
    OutboxFull,
    RateLimited,
    RecordingNotifier,
    SubscriptionDropped,
    TriggerNotice,
    TriggerNotifier,
    WorkflowRef,
)
from core.triggers.payload import PAYLOAD_FIELDS, PayloadKind
from core.triggers.receive import Received, ReceiveStatus, SlackEnvelope, receive_event
from core.triggers.spec import InputField, TriggerSpec, parse_trigger, trigger_of
from core.triggers.subscriptions import (
    SubscriptionRefused,
    TriggerPlan,
    member_left,
    unsubscribe,
)

__all__ = [
    "BACKOFF_S",
    "HEADER_NAME",
    "MAX_ATTEMPTS",
    "PAYLOAD_FIELDS",
    "SLACK_TRIGGER_TYPE",
    "TRIGGER_EVENTS",
    "Channel",
    "ChannelAccess",
    "ChannelKind",
    "DeliveryGaveUp",
    "DeliveryPass",
    "DeliveryWorker",
    "Endpoint",
    "HandRun",
    "HandRunStatus",
    "InputField",
    "MessageRef",
    "OutboxFull",
    "PayloadKind",
    "Prepared",
    "RateLimited",
    "ReceiveStatus",
    "Received",
    "RecordingNotifier",
    "SlackEnvelope",
    "SlackMessage",
    "SlackReader",
    "SubscriptionDropped",
    "SubscriptionRefused",
    "TriggerListing",
    "TriggerNotice",
    "TriggerNotifier",
    "TriggerPlan",
    "TriggerSecretUnreadable",
    "TriggerSpec",
    "WebhookSender",
    "WorkflowChoice",
    "WorkflowRef",
    "compile_for_n8n",
    "compiled_head",
    "declared_inputs",
    "deliver_due",
    "drop_endpoint",
    "endpoint_of",
    "has_trigger",
    "install",
    "installed",
    "member_left",
    "parse_trigger",
    "prepare",
    "receive_event",
    "rotate_secrets",
    "run_by_hand",
    "secret_of",
    "trigger_of",
    "triggers_in_channel",
    "triggers_of_project",
    "unsubscribe",
    "workflows_accepting_message",
]
