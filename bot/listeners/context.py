"""What every listener reads from Bolt's context, and how it hands work off after the ack.

Most listeners are `@acked()` functions of one `SlackRequest`: the decorator acknowledges at
once (Slack's 3 seconds) and runs the function on the intake threads (`pool="runs"`: on the run
workers, for work that waits on n8n), where an error reaches the user through the one error
handler. A listener parses the payload, calls one core function and renders; authorization
and every business rule are core's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.error_handler import handle_error
from bot.services import BotServices


def services_of(context: BoltContext) -> BotServices:
    services = context["services"]
    assert isinstance(services, BotServices)
    return services


def team_of(context: BoltContext) -> str:
    """The workspace id; every query is scoped by it."""
    team = context.team_id or context.enterprise_id
    if not team:
        raise ValueError("a Slack request without a team id")
    return team


def user_of(context: BoltContext) -> str:
    if not context.user_id:
        raise ValueError("a Slack request without a user id")
    return context.user_id


def after_ack(
    context: BoltContext, body: dict[str, Any], client: WebClient, work: Callable[[], None]
) -> None:
    """Do `work` on an intake thread and return at once, so the listener's thread (and with it
    the HTTP response carrying the ack) never waits for it. Errors reach the user through the one
    error handler, as if the listener had raised them."""

    services_of(context).after_ack(_guarded(context, body, client, work))


def on_run_worker(
    context: BoltContext, body: dict[str, Any], client: WebClient, work: Callable[[], None]
) -> None:
    """Like `after_ack`, for n8n work that can take seconds (a rollback, a test run): it goes to
    the run workers, so it never holds up the intake threads or the dispatch threads."""
    services_of(context).submit(_guarded(context, body, client, work))


def _guarded(
    context: BoltContext, body: dict[str, Any], client: WebClient, work: Callable[[], None]
) -> Callable[[], None]:
    def guarded() -> None:
        try:
            work()
        except Exception as e:
            handle_error(e, body, context, client)

    return guarded


@dataclass(frozen=True)
class SlackRequest:
    """What an acknowledged listener works with: the payload (the action, view, command or
    event), the whole request body, the Web API client, Bolt's context and `respond`."""

    payload: dict[str, Any]
    body: dict[str, Any]
    client: WebClient
    context: BoltContext
    respond: Respond | None

    @property
    def services(self) -> BotServices:
        return services_of(self.context)

    @property
    def team(self) -> str:
        return team_of(self.context)

    @property
    def user(self) -> str:
        return user_of(self.context)

    def reply(self, **message: Any) -> None:
        """An answer through `respond` (actions and commands have one)."""
        if self.respond is None:
            raise RuntimeError("this Slack request has no response URL")
        self.respond(**message)


Listener = Callable[..., None]


def acked(
    *, pool: Literal["intake", "runs"] = "intake"
) -> Callable[[Callable[[SlackRequest], None]], Listener]:
    """A Bolt listener that acknowledges first and then runs the decorated work on `pool`."""

    def decorate(work: Callable[[SlackRequest], None]) -> Listener:
        # Bolt passes the arguments this signature names; `payload` is the action, view,
        # command or event, whichever the request carries.
        def listener(
            ack: Ack,
            payload: dict[str, Any],
            body: dict[str, Any],
            client: WebClient,
            context: BoltContext,
            respond: Respond | None = None,
        ) -> None:
            ack()
            request = SlackRequest(payload, body, client, context, respond)
            hand_off = after_ack if pool == "intake" else on_run_worker
            hand_off(context, body, client, lambda: work(request))

        listener.__name__ = listener.__qualname__ = work.__name__
        listener.__doc__ = work.__doc__
        listener.__module__ = work.__module__
        return listener

    return decorate
