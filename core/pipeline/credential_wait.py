"""A run that needs credentials: after the gate's review (`core.deploy.gate.review`: bound,
validated) it stops `awaiting_credentials` when a node has none the project can give, and says
what each waiting node may be given.

Contract: a waiting run is neither failed nor in progress (recovery leaves it alone) and keeps its
candidate. Giving it credentials and sending it on is `core.pipeline.resume`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from core.catalog.credential_domains import BOT_SECRET
from core.catalog.credential_needs import CredentialNeed
from core.credentials.needs import bot_token_nodes
from core.credentials.secrets import secret_types
from core.kernel.models import PipelineRun
from core.kernel.vocabulary import RunState
from core.pipeline.active import ActiveRun, StopRun, credentials_message
from core.pipeline.types import NeededCredential, RunContext

logger = logging.getLogger(__name__)


def await_credentials(active: ActiveRun, missing: list[CredentialNeed]) -> None:
    """After validation: if a node still has no credential (`core.deploy.gate.review`), save
    the run `awaiting_credentials` and stop (StopRun)."""
    if not missing:
        return
    active.context.credentials_needed = [
        NeededCredential(node=n.node, types=list(n.types)) for n in missing
    ]
    active.save(RunState.awaiting_credentials, detail="waiting for credentials")
    active.emit(
        RunState.awaiting_credentials, credentials_message(active.context.credentials_needed)
    )
    raise StopRun


@dataclass(frozen=True)
class CredentialChoice:
    """One waiting node's missing credential: the types it accepts, the project's secrets that
    may fill it (the bot's token only for a Slack node), and whether it may post as the bot."""

    node: str
    types: tuple[str, ...]
    existing: tuple[str, ...]
    posts_as_bot: bool


def credential_choices(
    session_factory: sessionmaker[Session],
    run_id: int,
    needed: Sequence[tuple[str, Sequence[str]]],
) -> list[CredentialChoice]:
    """What a run waiting for credentials may be given, node by node (`needed`: the run
    outcome's node → accepted types)."""
    with session_factory() as session:
        run = session.get(PipelineRun, run_id)
        secrets = (
            secret_types(session=session, project_id=run.project_id) if run is not None else {}
        )
        candidate = (RunContext.of(run.context).candidate if run is not None else None) or {}
    slack_nodes = set(bot_token_nodes(candidate, [node for node, _ in needed]))
    return [
        CredentialChoice(
            node=node,
            types=tuple(types),
            existing=tuple(
                sorted(
                    n
                    for n, t in secrets.items()
                    if t in types and (n != BOT_SECRET or node in slack_nodes)
                )
            ),
            posts_as_bot=node in slack_nodes,
        )
        for node, types in needed
    ]
