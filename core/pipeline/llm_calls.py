"""Paying for an LLM call: its tokens are reserved from the user's day before it is made (the
prompt's estimate plus the most the answer may use, sent as `max_tokens`), and settled to what it
really used when its answer is saved (`ActiveRun.save(charge=...)`).

Contract: no call is made without a reservation, so concurrent runs of one user can never spend
past the daily limit together; a call that failed gives its reservation back (all of it, or all
but the prompt after a timeout: the server may have worked on it); a reservation never settled
(the process died mid-call) stays charged.

`converse` lets the model look nodes up before it answers (`core.generation.node_lookup.tools`):
each round is one call with its own reservation, a tool round is settled as soon as it is answered,
and the rounds, the lookups and the conversation's size are capped. Tool rounds are not repairs. A
server without tool calls gets today's single call (the client remembers it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from core.generation.llm import (
    ChatMessage,
    LLMError,
    LLMReply,
    LLMTimeout,
    Message,
    estimate_tokens,
)
from core.generation.node_lookup.tools import TOOL_SCHEMAS, NodeLookup, tool_schema_tokens
from core.generation.prompts import PromptContext
from core.kernel.errors import LLMNotConfigured
from core.pipeline.types import MIN_REPLY_TOKENS
from core.workspace import quotas

if TYPE_CHECKING:
    from core.kernel.models import PipelineRun
    from core.pipeline.types import PipelineServices


# Rounds in which the model may call tools; after them it must answer.
MAX_TOOL_ROUNDS = 3
# Tool calls answered in one conversation (more are answered with an error).
MAX_TOOL_CALLS = 8
# A conversation whose prompt passes this estimate gets no more lookups.
MAX_CONVERSATION_TOKENS = 24_000
NO_MORE_LOOKUPS = "No more lookups are available: reply with the JSON object now."


@dataclass(frozen=True)
class LLMCall:
    """One LLM answer and the tokens reserved for its call, settled when the answer is saved;
    `earlier` are the tool rounds before it (already settled, counted in the run's tokens)."""

    reply: LLMReply
    reservation: quotas.TokenReservation
    earlier: tuple[LLMReply, ...] = ()

    @property
    def text(self) -> str:
        return self.reply.text

    @property
    def tool_rounds(self) -> int:
        return len(self.earlier)

    @property
    def prompt_tokens(self) -> int:
        return self.reply.prompt_tokens + sum(r.prompt_tokens for r in self.earlier)

    @property
    def completion_tokens(self) -> int:
        return self.reply.completion_tokens + sum(r.completion_tokens for r in self.earlier)


def tools_offered(services: PipelineServices) -> bool:
    """Whether generation offers the model tools (not to a server known to refuse them)."""
    return services.llm is not None and getattr(services.llm, "tools_supported", None) is not False


def ask(
    services: PipelineServices,
    run: PipelineRun,
    messages: list[Message],
    ctx: PromptContext,
) -> LLMCall:
    """The model's answer, after the node lookups it asks for when the prompt offers tools
    (`ctx.tools`; the policy's denied types are never looked up)."""
    if not ctx.tools:
        return call_llm(services, run, messages)
    lookup = NodeLookup(
        catalog=services.catalog, templates=services.templates, denied=frozenset(ctx.denied_types)
    )
    return converse(services, run, messages, lookup)


def converse(
    services: PipelineServices,
    run: PipelineRun,
    messages: list[Message],
    lookup: NodeLookup,
) -> LLMCall:
    """The model's answer to `messages` after at most MAX_TOOL_ROUNDS rounds of lookups
    (`search_nodes`, `get_node_spec`, answered by `lookup`). Raises like `call_llm`."""
    convo: list[ChatMessage] = list(messages)
    earlier: list[LLMReply] = []
    answered = 0
    for round_number in range(MAX_TOOL_ROUNDS + 1):
        last = (
            round_number == MAX_TOOL_ROUNDS
            or answered >= MAX_TOOL_CALLS
            or estimate_tokens(convo) > MAX_CONVERSATION_TOKENS
        )
        if last and round_number > 0:
            convo.append({"role": "user", "content": NO_MORE_LOOKUPS})
        call = call_llm(
            services, run, convo, tools=TOOL_SCHEMAS, tool_choice="none" if last else None
        )
        if last or not call.reply.tool_calls:
            return replace(call, earlier=tuple(earlier))
        with services.session_factory.begin() as session:
            quotas.settle_tokens(
                session=session, reservation=call.reservation, used=call.reply.total_tokens
            )
        earlier.append(call.reply)
        convo.append(
            {
                "role": "assistant",
                "content": call.reply.text or None,
                "tool_calls": [c.as_message_part() for c in call.reply.tool_calls],
            }
        )
        for tool_call in call.reply.tool_calls:
            if answered >= MAX_TOOL_CALLS:
                answer = '{"error": "no more lookups: answer with what you have"}'
            else:
                answer = lookup.answer(tool_call.name, tool_call.arguments)
                answered += 1
            convo.append({"role": "tool", "tool_call_id": tool_call.id, "content": answer})
    raise AssertionError("unreachable: the last round always returns")


def call_llm(
    services: PipelineServices,
    run: PipelineRun,
    messages: list[ChatMessage] | list[Message],
    *,
    tools: list[dict[str, Any]] | None = None,
    tool_choice: str | None = None,
) -> LLMCall:
    """One LLM call for `run`'s user with its tokens reserved first. Raises QuotaExceeded when
    the tokens left today cannot pay for the prompt and a useful answer (`MIN_REPLY_TOKENS`),
    LLMNotConfigured, or the LLMError of a failed call."""
    llm = services.llm
    if llm is None:
        raise LLMNotConfigured()
    prompt = estimate_tokens(messages) + (tool_schema_tokens(tools) if tools else 0)
    with services.session_factory.begin() as session:
        reservation = quotas.reserve_tokens(
            session=session,
            team_id=run.team_id,
            user_id=run.user_id,
            project_id=run.project_id,
            prompt_tokens=prompt,
            max_completion=llm.max_tokens,
            min_completion=MIN_REPLY_TOKENS,
            now=services.clock(),
            settings=services.settings,
        )
    try:
        if tools:
            reply = llm.chat(
                messages,
                max_tokens=reservation.completion_budget,
                tools=tools,
                tool_choice=tool_choice,
            )
        else:
            reply = llm.chat(messages, max_tokens=reservation.completion_budget)
    except LLMError as e:
        spent = prompt if isinstance(e, LLMTimeout) else 0
        with services.session_factory.begin() as session:
            quotas.settle_tokens(session=session, reservation=reservation, used=spent)
        raise
    return LLMCall(reply=reply, reservation=reservation)
