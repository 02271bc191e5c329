"""Workflows that start from Slack, the core side, on real Postgres and the real n8n with the
Slack Web API fake: events are driven through `receive_event` (the bot's signed-HTTP path has
its own tests), deliveries through `deliver_due`."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from bot.trigger_access import SlackChannelAccess, SlackTriggerReader
from core.deploy import (
    create_workflow_record,
    deactivate_workflow,
    delete_workflow,
    deploy_version,
    rollback_to,
)
from core.kernel import db
from core.kernel.errors import ClixenError
from core.kernel.models import (
    Project,
    TriggerDelivery,
    TriggerEndpoint,
    TriggerSubscription,
    Workflow,
    WorkflowVersion,
    utcnow,
)
from core.kernel.settings import Settings, get_settings
from core.kernel.vocabulary import Role, VersionSource
from core.n8n import N8nClient
from core.triggers import (
    HEADER_NAME,
    MAX_ATTEMPTS,
    SLACK_TRIGGER_TYPE,
    DeliveryGaveUp,
    HandRunStatus,
    PayloadKind,
    RateLimited,
    ReceiveStatus,
    RecordingNotifier,
    SlackEnvelope,
    SubscriptionDropped,
    SubscriptionRefused,
    WebhookSender,
    deliver_due,
    install,
    receive_event,
    run_by_hand,
    triggers_in_channel,
    triggers_of_project,
)
from core.triggers.delivery import prune_deliveries
from core.triggers.endpoints import TriggerSecretUnreadable, seal_secret, secret_of
from core.triggers.spec import parse_trigger
from core.triggers.subscriptions import drop_lost_creators, plan, replace
from core.usecases.secrets import rotate_secret_key
from core.workspace.projects import Actor, add_member, create_project
from tests.builders import delete_deployed
from tests.conftest import N8nStack
from tests.doubles.slack_api import FakeSlack
from tests.waiting import wait_until

TEAM = "T1"
OWNER = Actor(TEAM, "U-owner")
SUPPORT, GENERAL, SECRET = "C0SUPPORT", "C0GENERAL", "G0SECRET"
TS = "1765100000.000100"
TICKET_TEXT = "The printer on floor 3 is on fire"
KEY = "k3y-for-the-trigger-tests-0123456789"  # CLIXEN_SECRET_KEY: seals the webhook secrets


def keyed() -> Settings:
    """This process's settings with CLIXEN_SECRET_KEY = KEY."""
    return get_settings().model_copy(update={"secret_key": KEY})


# --- fixtures ---


@pytest.fixture
def fake(slack: FakeSlack) -> Iterator[FakeSlack]:
    """The Slack fake with #support (OWNER is a member), #general (they are not), a private
    channel, and one message in #support; installed as this process's channel access."""
    slack.public_channels.update({"support": SUPPORT, "general": GENERAL})
    slack.private_channels["secret"] = SECRET
    slack.members.update({SUPPORT: {OWNER.user_id, "U-alice"}, GENERAL: {"U-alice"}})
    slack.messages[(SUPPORT, TS)] = {"ts": TS, "text": TICKET_TEXT, "user": "U-alice"}
    install(SlackChannelAccess(WebClient(base_url=slack.url), cache_s=0))
    yield slack
    install(None)


@pytest.fixture
def client(n8n: N8nStack, session_factory: sessionmaker[Session]) -> Iterator[N8nClient]:
    """The real n8n; every n8n workflow and trigger credential of the test goes afterwards."""
    with N8nClient(n8n.url, n8n.api_key) as c:
        yield c
        delete_deployed(session_factory, c)
        with session_factory() as s:
            creds = [e for e in s.scalars(select(TriggerEndpoint.n8n_credential_id)) if e]
        for cred in creds:
            c.delete_credential(cred)


@pytest.fixture
def sender(client: N8nClient) -> Iterator[WebhookSender]:
    s = WebhookSender(client, key=KEY)
    yield s
    s.close()


def reader(slack: FakeSlack) -> SlackTriggerReader:
    return SlackTriggerReader(WebClient(base_url=slack.url), cache_s=0)


def new_workflow(factory: sessionmaker[Session], name: str = "tickets") -> int:
    with factory.begin() as s:
        project = s.scalar(select(Project).where(Project.team_id == TEAM))
        if project is None:
            project = create_project(
                session=s, team_id=TEAM, name="main", creator_user_id=OWNER.user_id
            )
        return create_workflow_record(
            session=s, project_id=project.id, name=name, created_by=OWNER.user_id
        ).id


def slack_workflow(**params: Any) -> dict[str, Any]:
    """Slack trigger "When reacted" → a NoOp node (its input is the payload)."""
    return {
        "name": "tickets",
        "nodes": [
            {
                "name": "When reacted",
                "type": SLACK_TRIGGER_TYPE,
                "typeVersion": 1,
                "position": [0, 0],
                "parameters": params,
            },
            {
                "name": "Keep",
                "type": "n8n-nodes-base.noOp",
                "typeVersion": 1,
                "position": [220, 0],
                "parameters": {},
            },
        ],
        "connections": {"When reacted": {"main": [[{"node": "Keep", "type": "main", "index": 0}]]}},
        "settings": {"executionOrder": "v1"},
    }


TICKETS = {"events": ["reaction_added"], "channels": ["#support"], "emoji": ["ticket"]}


def deploy(
    factory: sessionmaker[Session], n8n: N8nClient, workflow_id: int, payload: dict[str, Any]
) -> WorkflowVersion:
    return deploy_version(
        session_factory=factory,
        n8n=n8n,
        workflow_id=workflow_id,
        json_payload=payload,
        source=VersionSource.imported,
        actor=OWNER,
        settings=keyed(),
    )


def reaction(
    emoji: str = "ticket", channel: str = SUPPORT, event_id: str | None = None, **more: Any
) -> SlackEnvelope:
    return SlackEnvelope(
        team_id=TEAM,
        event_id=event_id or f"Ev{uuid.uuid4().hex[:10]}",
        event={
            "type": "reaction_added",
            "user": "U-bob",
            "reaction": emoji,
            "item": {"type": "message", "channel": channel, "ts": TS},
            "item_user": "U-alice",
        },
        app_team_id=TEAM,
        own_user_id="UBOT",
        own_bot_id="BBOT",
        **more,
    )


def message(text: str, event_id: str | None = None, **fields: Any) -> SlackEnvelope:
    return SlackEnvelope(
        team_id=TEAM,
        event_id=event_id or f"Ev{uuid.uuid4().hex[:10]}",
        event={"type": "message", "channel": SUPPORT, "user": "U-alice", "ts": TS, "text": text}
        | fields,
        app_team_id=TEAM,
        own_user_id="UBOT",
        own_bot_id="BBOT",
    )


def receive(factory: sessionmaker[Session], env: SlackEnvelope, **kw: Any) -> Any:
    return receive_event(
        env, session_factory=factory, settings=kw.pop("settings", get_settings()), **kw
    )


def subscribe(factory: sessionmaker[Session], **params: Any) -> int:
    """A workflow marked active that listens as `params` say, without n8n (matching only)."""
    wf_id = new_workflow(factory)
    spec = parse_trigger({"name": "T", "parameters": params})
    listens = plan(spec, user_id=OWNER.user_id, access=SlackChannelAccess(FAKE_CLIENT[0]))
    with factory.begin() as s:
        wf = s.get(Workflow, wf_id)
        assert wf is not None
        wf.status, wf.head_version = "active", 1
        replace(s, workflow_id=wf_id, team_id=TEAM, plan=listens, version=1)
    return wf_id


FAKE_CLIENT: list[WebClient] = []


@pytest.fixture
def matching(fake: FakeSlack, session_factory: sessionmaker[Session]) -> Iterator[None]:
    FAKE_CLIENT[:] = [WebClient(base_url=fake.url)]
    yield
    FAKE_CLIENT.clear()


def deliveries(
    factory: sessionmaker[Session], workflow_id: int | None = None
) -> list[TriggerDelivery]:
    with factory() as s:
        q = select(TriggerDelivery).order_by(TriggerDelivery.id)
        if workflow_id is not None:
            q = q.where(TriggerDelivery.workflow_id == workflow_id)
        return list(s.scalars(q))


def deliver_until_done(
    factory: sessionmaker[Session], sender: WebhookSender, slack: FakeSlack
) -> None:
    """Deliver until nothing is pending (n8n may need a moment to register a new webhook)."""

    def done() -> bool:
        deliver_due(session_factory=factory, sender=sender, reader=reader(slack))
        return all(d.status != "pending" for d in deliveries(factory))

    wait_until(
        done, 60, lambda: f"still pending: {[(d.id, d.last_error) for d in deliveries(factory)]}"
    )


def executions(
    client: N8nClient, factory: sessionmaker[Session], workflow_id: int
) -> list[dict[str, Any]]:
    with factory() as s:
        wf = s.get(Workflow, workflow_id)
        assert wf is not None and wf.n8n_workflow_id
        n8n_id = wf.n8n_workflow_id
    return client.list_executions(workflow_id=n8n_id, include_data=True).items


def payload_of(execution: dict[str, Any]) -> dict[str, Any]:
    run = execution["data"]["resultData"]["runData"]["Keep"][0]
    return dict(run["data"]["main"][0][0]["json"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- an event reaches the workflow ---


def test_a_matching_reaction_starts_the_workflow_once_with_the_message_text_and_permalink(
    session_factory: sessionmaker[Session],
    client: N8nClient,
    sender: WebhookSender,
    fake: FakeSlack,
) -> None:
    wf_id = new_workflow(session_factory)
    deploy(session_factory, client, wf_id, slack_workflow(**TICKETS))
    env = reaction(event_id="Ev-first")

    first = receive(session_factory, env)
    assert first.status == ReceiveStatus.enqueued and len(first.deliveries) == 1
    deliver_until_done(session_factory, sender, fake)

    ran = wait_until(lambda: executions(client, session_factory, wf_id), 30, "no execution")
    got = payload_of(ran[0])
    assert got["kind"] == "reaction_added" and got["reaction"] == "ticket"
    assert got["text"] == TICKET_TEXT
    assert got["permalink"] == f"https://fake.slack.com/archives/{SUPPORT}/p{TS.replace('.', '')}"
    assert got["message"]["text"] == TICKET_TEXT and got["channel_name"] == "support"
    assert got["workflow_id"] == wf_id and got["event_id"] == "Ev-first"
    # Slack retries it: nothing more is stored or sent.
    again = receive(session_factory, reaction(event_id="Ev-first", retry_num=1))
    assert again.status == ReceiveStatus.duplicate
    assert deliver_due(session_factory=session_factory, sender=sender).handled == 0
    assert len(deliveries(session_factory)) == 1
    assert len(executions(client, session_factory, wf_id)) == 1


def test_the_wrong_emoji_or_channel_starts_nothing(
    session_factory: sessionmaker[Session], matching: None
) -> None:
    subscribe(session_factory, **TICKETS)
    assert receive(session_factory, reaction("eyes")).status == ReceiveStatus.no_match
    assert receive(session_factory, reaction(channel=GENERAL)).status == ReceiveStatus.no_match
    assert receive(session_factory, reaction(channel="D0DM")).status == ReceiveStatus.ignored
    assert deliveries(session_factory) == []
    assert (
        receive(session_factory, reaction("ticket::skin-tone-2")).status == ReceiveStatus.enqueued
    )


def test_the_same_event_retried_and_received_by_two_replicas_runs_once(
    session_factory: sessionmaker[Session],
    client: N8nClient,
    sender: WebhookSender,
    fake: FakeSlack,
    database_url: str,
) -> None:
    wf_id = new_workflow(session_factory)
    deploy(session_factory, client, wf_id, slack_workflow(**TICKETS))
    replicas = [db.make_session_factory(db.make_engine(database_url)) for _ in range(2)]
    start = threading.Barrier(4)
    results: list[Any] = []

    def replica(factory: sessionmaker[Session], retry: int) -> None:
        start.wait()
        results.append(receive(factory, reaction(event_id="Ev-twice", retry_num=retry)))

    threads = [threading.Thread(target=replica, args=(replicas[i % 2], i // 2)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status for r in results).count(ReceiveStatus.enqueued) == 1
    assert len(deliveries(session_factory)) == 1

    # Both replicas' workers look at once: one sends it.
    def pass_on(factory: sessionmaker[Session]) -> None:
        start.wait()
        deliver_due(session_factory=factory, sender=sender, reader=reader(fake))

    start = threading.Barrier(2)
    threads = [threading.Thread(target=pass_on, args=(f,)) for f in replicas]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    deliver_until_done(session_factory, sender, fake)
    row = deliveries(session_factory)[0]
    assert row.status == "delivered"
    wait_until(lambda: executions(client, session_factory, wf_id), 30, "no execution")
    assert len(executions(client, session_factory, wf_id)) == 1
    for f in replicas:
        bind = f.kw["bind"]
        bind.dispose()


def test_an_event_that_arrives_while_n8n_is_unreachable_is_delivered_when_it_is_back(
    session_factory: sessionmaker[Session],
    client: N8nClient,
    sender: WebhookSender,
    fake: FakeSlack,
    n8n: N8nStack,
) -> None:
    wf_id = new_workflow(session_factory)
    deploy(session_factory, client, wf_id, slack_workflow(**TICKETS))
    receive(session_factory, reaction(event_id="Ev-while-down"))
    with N8nClient(f"http://127.0.0.1:{free_port()}", n8n.api_key) as down:
        closed = WebhookSender(down, key=KEY)
        done = deliver_due(session_factory=session_factory, sender=closed, reader=reader(fake))
        closed.close()
    assert done.retrying == 1
    row = deliveries(session_factory)[0]
    assert (
        row.status == "pending" and row.attempts == 1 and "did not answer" in (row.last_error or "")
    )
    assert row.next_attempt_at > utcnow()  # backoff: not before it is due

    # n8n is back; once the retry is due it goes through.
    deliver_due(
        session_factory=session_factory, sender=sender, reader=reader(fake), now=row.next_attempt_at
    )
    deliver_until_done(session_factory, sender, fake)
    ran = wait_until(lambda: executions(client, session_factory, wf_id), 30, "no execution")
    assert payload_of(ran[0])["event_id"] == "Ev-while-down"


def test_a_delivery_n8n_never_accepts_gives_up_visibly(
    session_factory: sessionmaker[Session], matching: None
) -> None:
    wf_id = subscribe(session_factory, **TICKETS)
    with session_factory.begin() as s:
        sealed = seal_secret(s, workflow_id=wf_id, secret="x", key=KEY)
        s.add(
            TriggerEndpoint(
                workflow_id=wf_id,
                path="clixen-nowhere",
                secret_sealed=sealed,
                n8n_credential_id="1",
            )
        )
    receive(session_factory, reaction())
    notices = RecordingNotifier()
    now = utcnow()
    with N8nClient(f"http://127.0.0.1:{free_port()}", "no-key") as down:
        closed = WebhookSender(down, key=KEY)
        for _ in range(MAX_ATTEMPTS):
            deliver_due(session_factory=session_factory, sender=closed, notifier=notices, now=now)
            now += dt.timedelta(hours=1)
        closed.close()
    row = deliveries(session_factory)[0]
    assert row.status == "gave_up" and row.attempts == MAX_ATTEMPTS
    (gave_up,) = notices.of(DeliveryGaveUp)
    assert isinstance(gave_up, DeliveryGaveUp)
    assert gave_up.workflow.workflow_id == wf_id and gave_up.attempts == MAX_ATTEMPTS
    assert "did not answer" in gave_up.reason
    (listed,) = triggers_of_project(
        session_factory=session_factory, actor=OWNER, project_id=gave_up.workflow.project_id
    )
    assert listed.lost_last_week == 1 and "did not answer" in listed.last_lost_reason


# --- loops, floods, other workspaces ---


def test_a_workflow_posting_into_the_channel_it_watches_runs_once_per_human_message(
    session_factory: sessionmaker[Session], matching: None
) -> None:
    quiet = subscribe(session_factory, events=["message"], channels=["#support"])
    for n in range(3):
        human = receive(session_factory, message(f"help {n}"))
        assert human.status == ReceiveStatus.enqueued
        # What the workflow posts back comes as a bot message (as Clixen, or its own bot).
        assert receive(session_factory, message(f"ok {n}", user="UBOT", bot_id="BBOT")).status in (
            ReceiveStatus.ignored,
        )
        assert (
            receive(
                session_factory, message(f"ok {n}", bot_id="B-theirs", subtype="bot_message")
            ).status
            == ReceiveStatus.no_match
        )
    assert len(deliveries(session_factory, quiet)) == 3


def test_clixens_own_messages_never_trigger_even_a_workflow_that_takes_bots(
    session_factory: sessionmaker[Session], matching: None
) -> None:
    subscribe(session_factory, events=["message"], channels=["#support"], include_bots=True)
    assert receive(session_factory, message("hi", bot_id="BBOT")).status == ReceiveStatus.ignored
    assert receive(session_factory, message("hi", user="UBOT")).status == ReceiveStatus.ignored
    assert receive(session_factory, message("hi", bot_id="B2")).status == ReceiveStatus.enqueued


def test_a_flood_is_bounded_by_the_rate_limit_with_one_notice(
    session_factory: sessionmaker[Session], matching: None
) -> None:
    wf_id = subscribe(session_factory, **TICKETS)
    settings = get_settings().model_copy(update={"trigger_rate_per_min": 3})
    notices = RecordingNotifier()
    statuses = [
        receive(session_factory, reaction(), settings=settings, notifier=notices).status
        for _ in range(6)
    ]
    assert statuses == [ReceiveStatus.enqueued] * 3 + [ReceiveStatus.refused] * 3
    assert len(deliveries(session_factory, wf_id)) == 3
    (limited,) = notices.of(RateLimited)
    assert isinstance(limited, RateLimited) and limited.limit_per_minute == 3


def test_the_outbox_refuses_new_events_when_full(
    session_factory: sessionmaker[Session], matching: None
) -> None:
    subscribe(session_factory, **TICKETS)
    settings: Settings = get_settings().model_copy(update={"trigger_max_pending": 2})
    statuses = [receive(session_factory, reaction(), settings=settings).status for _ in range(3)]
    assert statuses == [ReceiveStatus.enqueued, ReceiveStatus.enqueued, ReceiveStatus.refused]


def test_events_of_another_workspace_are_refused(
    session_factory: sessionmaker[Session], matching: None
) -> None:
    subscribe(session_factory, **TICKETS)
    other = SlackEnvelope(
        team_id="T-other", event_id="Ev1", event=reaction().event, app_team_id=TEAM
    )
    assert receive(session_factory, other).status == ReceiveStatus.refused
    external = reaction()
    external = SlackEnvelope(
        team_id=TEAM,
        event_id="Ev2",
        event={**external.event, "user_team": "T-other"},
        app_team_id=TEAM,
    )
    assert receive(session_factory, external).status == ReceiveStatus.ignored
    assert deliveries(session_factory) == []


# --- who may listen where ---


@pytest.mark.parametrize(
    ("channel", "says"),
    [
        ("#general", "not a member of #general"),
        ("#secret", "not a member of #secret"),
        ("D0DIRECT", "direct messages"),
        ("#nowhere", "no channel #nowhere"),
    ],
)
def test_a_subscription_where_its_creator_cannot_read_is_refused_and_nothing_deploys(
    session_factory: sessionmaker[Session],
    client: N8nClient,
    fake: FakeSlack,
    channel: str,
    says: str,
) -> None:
    wf_id = new_workflow(session_factory)
    with pytest.raises(ClixenError, match=says):
        deploy(
            session_factory,
            client,
            wf_id,
            slack_workflow(events=["reaction_added"], channels=[channel]),
        )
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(WorkflowVersion)) == 0
        assert s.scalar(select(func.count()).select_from(TriggerEndpoint)) == 0
        assert s.get(Workflow, wf_id).n8n_workflow_id is None  # type: ignore[union-attr]


def test_a_subscription_stops_when_its_creator_leaves_the_channel(
    session_factory: sessionmaker[Session], matching: None
) -> None:
    wf_id = subscribe(session_factory, **TICKETS)
    notices = RecordingNotifier()
    left = SlackEnvelope(
        team_id=TEAM,
        event_id="Ev-left",
        event={"type": "member_left_channel", "user": OWNER.user_id, "channel": SUPPORT},
        app_team_id=TEAM,
    )
    receive(session_factory, left, notifier=notices)
    (dropped,) = notices.of(SubscriptionDropped)
    assert isinstance(dropped, SubscriptionDropped)
    assert (dropped.workflow.workflow_id, dropped.channel_id, dropped.reason) == (
        wf_id,
        SUPPORT,
        "left_channel",
    )
    assert receive(session_factory, reaction()).status == ReceiveStatus.no_match


def test_a_subscription_stops_when_its_creator_is_no_longer_an_editor(
    session_factory: sessionmaker[Session], matching: None
) -> None:
    wf_id = subscribe(session_factory, **TICKETS)
    with session_factory.begin() as s:
        project = s.scalar(select(Project))
        assert project is not None
        add_member(
            session=s,
            project_id=project.id,
            actor_user_id=OWNER.user_id,
            user_id="U-ed",
            role=Role.editor,
        )
        s.execute(
            TriggerSubscription.__table__.update().values(created_by="U-ed")  # type: ignore[attr-defined]
        )
        from core.kernel.models import ProjectMember

        s.execute(ProjectMember.__table__.delete().where(ProjectMember.user_id == "U-ed"))  # type: ignore[attr-defined]
    notices = RecordingNotifier()
    assert receive(session_factory, reaction(), notifier=notices).status == ReceiveStatus.no_match
    (dropped,) = notices.of(SubscriptionDropped)
    assert drop_lost_creators(session_factory=session_factory) == []  # already gone
    assert isinstance(dropped, SubscriptionDropped) and dropped.reason == "left_project"
    assert dropped.workflow.workflow_id == wf_id


def test_a_caller_without_the_secret_is_refused_by_n8n(
    session_factory: sessionmaker[Session],
    client: N8nClient,
    sender: WebhookSender,
    fake: FakeSlack,
) -> None:
    wf_id = new_workflow(session_factory)
    deploy(session_factory, client, wf_id, slack_workflow(**TICKETS))
    receive(session_factory, reaction())
    deliver_until_done(session_factory, sender, fake)  # the webhook is registered now
    with session_factory() as s:
        path = s.scalar(select(TriggerEndpoint.path))
    url = client.webhook_url(str(path))
    assert httpx.post(url, json={"text": "forged"}).status_code in (401, 403)
    assert httpx.post(url, json={"text": "forged"}, headers={HEADER_NAME: "guess"}).status_code in (
        401,
        403,
    )
    ran = wait_until(lambda: executions(client, session_factory, wf_id), 30, "no execution")
    assert [payload_of(e)["text"] for e in ran] == [TICKET_TEXT]


def test_the_webhook_secret_is_sealed_at_rest_opens_only_for_its_workflow_and_follows_a_rotation(
    session_factory: sessionmaker[Session],
    client: N8nClient,
    sender: WebhookSender,
    fake: FakeSlack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    first, second = new_workflow(session_factory), new_workflow(session_factory, "second")
    deploy(session_factory, client, first, slack_workflow(**TICKETS))
    deploy(session_factory, client, second, slack_workflow(**TICKETS))
    with session_factory() as s:
        secret = secret_of(s, workflow_id=first, key=KEY)
        assert secret and len(secret) >= 40
        stored = s.execute(text("SELECT * FROM trigger_endpoints")).all()
    # Nowhere in the table in plain text, nor in any log line of the deploys.
    assert secret not in repr(stored) and secret.encode() not in b"".join(
        bytes(v) for row in stored for v in row if isinstance(v, bytes | memoryview)
    )
    with session_factory() as s, pytest.raises(TriggerSecretUnreadable, match="CLIXEN_SECRET_KEY"):
        secret_of(s, workflow_id=first, key="another-key-0123456789abcdef")
    # A sealed value copied onto another workflow's row does not open there.
    with session_factory.begin() as s:
        rows = {e.workflow_id: e for e in s.scalars(select(TriggerEndpoint))}
        own = rows[second].secret_sealed
        rows[second].secret_sealed = rows[first].secret_sealed
    with session_factory() as s, pytest.raises(TriggerSecretUnreadable):
        secret_of(s, workflow_id=second, key=KEY)
    with session_factory.begin() as s:
        s.execute(
            update(TriggerEndpoint)
            .where(TriggerEndpoint.workflow_id == second)
            .values(secret_sealed=own)
        )
    # `clixen secret rotate` re-seals them: the delivery goes out under the new key.
    rotated = rotate_secret_key(session_factory, settings=keyed(), new_key=KEY + "-new")
    assert rotated == 2
    with session_factory() as s:
        assert secret_of(s, workflow_id=first, key=KEY + "-new") == secret
    receive(session_factory, reaction())
    new_sender = WebhookSender(client, key=KEY + "-new")
    try:
        deliver_until_done(session_factory, new_sender, fake)
    finally:
        new_sender.close()
    assert [d.status for d in deliveries(session_factory, first)] == ["delivered"]
    assert all(secret not in r.getMessage() for r in caplog.records)


def test_a_delivery_whose_secret_does_not_open_waits_saying_which_key_to_set(
    session_factory: sessionmaker[Session], client: N8nClient, fake: FakeSlack
) -> None:
    wf_id = new_workflow(session_factory)
    deploy(session_factory, client, wf_id, slack_workflow(**TICKETS))
    receive(session_factory, reaction())
    wrong = WebhookSender(client, key="not-the-key-0123456789abcdef")
    try:
        done = deliver_due(session_factory=session_factory, sender=wrong, reader=reader(fake))
    finally:
        wrong.close()
    assert done.retrying == 1
    (row,) = deliveries(session_factory)
    assert row.status == "pending" and "CLIXEN_SECRET_KEY" in (row.last_error or "")


# --- the subscriptions follow what is active in n8n ---


def test_rollback_edit_deactivate_and_delete_keep_the_subscriptions_equal_to_n8n(
    session_factory: sessionmaker[Session], client: N8nClient, fake: FakeSlack
) -> None:
    def listening() -> set[tuple[str, str, int]]:
        with session_factory() as s:
            return {
                (r.event, r.channel_id, r.version) for r in s.scalars(select(TriggerSubscription))
            }

    wf_id = new_workflow(session_factory)
    deploy(session_factory, client, wf_id, slack_workflow(**TICKETS))
    assert listening() == {("reaction_added", SUPPORT, 1)}
    edited = slack_workflow(events=["message", "manual"], channels=["#support"], contains="urgent")
    deploy(session_factory, client, wf_id, edited)
    assert listening() == {("message", SUPPORT, 2)}
    rollback_to(
        session_factory=session_factory,
        n8n=client,
        workflow_id=wf_id,
        version=1,
        actor=OWNER,
        settings=keyed(),
    )
    assert listening() == {("reaction_added", SUPPORT, 3)}
    with session_factory() as s:
        n8n_id = s.get(Workflow, wf_id).n8n_workflow_id  # type: ignore[union-attr]
        cred = s.scalar(select(TriggerEndpoint.n8n_credential_id))
    held = client.get_workflow(str(n8n_id))
    hook = next(n for n in held["nodes"] if n["type"] == "n8n-nodes-base.webhook")
    assert hook["credentials"]["httpHeaderAuth"]["id"] == cred
    deactivate_workflow(session_factory=session_factory, n8n=client, workflow_id=wf_id, actor=OWNER)
    assert listening() == set()
    deploy(session_factory, client, wf_id, slack_workflow(**TICKETS))
    assert listening() == {("reaction_added", SUPPORT, 4)}
    delete_workflow(session_factory=session_factory, n8n=client, workflow_id=wf_id, actor=OWNER)
    assert listening() == set()
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(TriggerEndpoint)) == 0
    assert cred not in {str(c.get("id")) for c in _credentials(client)}


def _credentials(client: N8nClient) -> list[dict[str, Any]]:
    found = client._request("GET", "/api/v1/credentials")
    return list(found.get("data") or [])


# --- by hand ---


def test_a_run_by_hand_asks_for_its_required_input_then_reaches_the_workflow_with_it(
    session_factory: sessionmaker[Session],
    client: N8nClient,
    sender: WebhookSender,
    fake: FakeSlack,
) -> None:
    wf_id = new_workflow(session_factory, "weekly report")
    deploy(
        session_factory,
        client,
        wf_id,
        slack_workflow(
            events=["manual"], inputs=[{"name": "week", "label": "Which week", "required": True}]
        ),
    )
    asked = run_by_hand(
        session_factory=session_factory,
        actor=OWNER,
        workflow_id=wf_id,
        source=PayloadKind.command,
        request_id="r1",
        text="now",
    )
    assert asked.status == HandRunStatus.needs_inputs and [f.name for f in asked.missing] == [
        "week"
    ]
    ran = run_by_hand(
        session_factory=session_factory,
        actor=OWNER,
        workflow_id=wf_id,
        source=PayloadKind.command,
        request_id="r2",
        text="now",
        inputs={"week": "49"},
        channel_id=SUPPORT,
    )
    again = run_by_hand(
        session_factory=session_factory,
        actor=OWNER,
        workflow_id=wf_id,
        source=PayloadKind.command,
        request_id="r2",
        text="now",
        inputs={"week": "49"},
        channel_id=SUPPORT,
    )
    assert ran.status == HandRunStatus.enqueued and again.delivery_id == ran.delivery_id
    deliver_until_done(session_factory, sender, fake)
    got = payload_of(
        wait_until(lambda: executions(client, session_factory, wf_id), 30, "no run")[0]
    )
    assert (got["kind"], got["text"], got["inputs"], got["channel_name"]) == (
        "command",
        "now",
        {"week": "49"},
        "support",
    )
    assert (
        triggers_in_channel(session_factory=session_factory, actor=OWNER, channel_id=SUPPORT) == []
    )


def test_old_deliveries_are_pruned_and_recent_ones_kept_for_dedupe(
    session_factory: sessionmaker[Session], matching: None
) -> None:
    wf_id = subscribe(session_factory, **TICKETS)
    receive(session_factory, reaction(event_id="Ev-old"))
    receive(session_factory, reaction(event_id="Ev-new"))
    with session_factory.begin() as s:
        for row in s.scalars(select(TriggerDelivery)):
            row.status = "delivered"
            if row.event_id == "Ev-old":
                row.created_at = utcnow() - dt.timedelta(days=2)
    assert prune_deliveries(session_factory=session_factory) == 1
    assert [d.event_id for d in deliveries(session_factory, wf_id)] == ["Ev-new"]
    assert receive(session_factory, reaction(event_id="Ev-new")).status == ReceiveStatus.duplicate


def test_housekeeping_drops_the_subscriptions_of_a_creator_removed_from_the_project(
    session_factory: sessionmaker[Session], matching: None
) -> None:
    wf_id = subscribe(session_factory, **TICKETS)
    with session_factory.begin() as s:
        project = s.scalar(select(Project))
        assert project is not None
        add_member(
            session=s,
            project_id=project.id,
            actor_user_id=OWNER.user_id,
            user_id="U-viewer",
            role=Role.viewer,
        )
        s.execute(
            TriggerSubscription.__table__.update().values(created_by="U-viewer")  # type: ignore[attr-defined]
        )
    notices = RecordingNotifier()
    (dropped,) = drop_lost_creators(session_factory=session_factory, notifier=notices)
    assert (dropped.workflow.workflow_id, dropped.reason) == (wf_id, "left_project")
    assert notices.notices == [dropped]
    assert (
        triggers_in_channel(session_factory=session_factory, actor=OWNER, channel_id=SUPPORT) == []
    )


def test_a_trigger_in_a_public_channel_clixen_is_not_in_makes_clixen_join_it(
    session_factory: sessionmaker[Session], matching: None, fake: FakeSlack
) -> None:
    fake.bot_outside.add(SUPPORT)
    subscribe(session_factory, **TICKETS)
    assert fake.wait_for("conversations.join")[0].args["channel"] == SUPPORT
    assert SUPPORT not in fake.bot_outside


def test_a_trigger_in_a_private_channel_clixen_is_not_in_is_refused_saying_to_invite_it(
    session_factory: sessionmaker[Session], matching: None, fake: FakeSlack
) -> None:
    fake.members[SECRET] = {OWNER.user_id}
    fake.bot_outside.add(SECRET)
    spec = parse_trigger({"name": "T", "parameters": {**TICKETS, "channels": ["#secret"]}})
    with pytest.raises(SubscriptionRefused, match=r"invite it \(`/invite @Clixen` in #secret\)"):
        plan(spec, user_id=OWNER.user_id, access=SlackChannelAccess(FAKE_CLIENT[0]))
