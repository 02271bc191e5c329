"""Paying for an LLM call: its tokens are reserved from the user's day before it is made (the
prompt's estimate plus the most the answer may use, sent as `max_tokens`), and settled to what it
really used when its answer is saved (`ActiveRun.save(charge=...)`).

Contract: no call is made without a reservation, so concurrent runs of one user can never spend
past the daily limit together; a call that failed gives its reservation back (all of it, or all
but the prompt after a timeout: the server may have worked on it); a reservation never settled
(the process died mid-call) stays charged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.generation.llm import LLMError, LLMReply, LLMTimeout, Message, estimate_tokens
from core.kernel.errors import LLMNotConfigured
from core.pipeline.types import MIN_REPLY_TOKENS
from core.workspace import quotas

if TYPE_CHECKING:
    from core.kernel.models import PipelineRun
    from core.pipeline.types import PipelineServices


@dataclass(frozen=True)
class LLMCall:
    """One LLM call's answer and the tokens reserved for it, settled when the answer is saved."""

    reply: LLMReply
    reservation: quotas.TokenReservation

    @property
    def text(self) -> str:
        return self.reply.text


def call_llm(services: PipelineServices, run: PipelineRun, messages: list[Message]) -> LLMCall:
    """One LLM call for `run`'s user with its tokens reserved first. Raises QuotaExceeded when
    the tokens left today cannot pay for the prompt and a useful answer (`MIN_REPLY_TOKENS`),
    LLMNotConfigured, or the LLMError of a failed call."""
    llm = services.llm
    if llm is None:
        raise LLMNotConfigured()
    prompt = estimate_tokens(messages)
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
        reply = llm.chat(messages, max_tokens=reservation.completion_budget)
    except LLMError as e:
        spent = prompt if isinstance(e, LLMTimeout) else 0
        with services.session_factory.begin() as session:
            quotas.settle_tokens(session=session, reservation=reservation, used=spent)
        raise
    return LLMCall(reply=reply, reservation=reservation)
