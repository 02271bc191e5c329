"""Turning a project's opt-in digest on or off (owners only): once a day or a week, in a channel
the owner picks, what its workflows did (`core.scheduler.digest` composes and sends it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session, sessionmaker

from core.kernel.errors import InvalidInput
from core.kernel.models import utcnow
from core.kernel.vocabulary import Role
from core.scheduler.digest import PERIODS
from core.usecases.projects import ProjectRef, project_named
from core.workspace.projects import Actor

_CHANNEL: Final = re.compile(r"^[CGD][A-Z0-9]{2,30}$")


@dataclass(frozen=True)
class DigestSetting:
    project: str
    channel: str | None
    every: str | None  # daily | weekly | None: off


def set_digest(
    session_factory: sessionmaker[Session],
    *,
    actor: Actor,
    project: ProjectRef,
    every: str,
    channel: str | None = None,
) -> DigestSetting:
    """Turn the project's digest on (`every` daily or weekly, into Slack channel id `channel`)
    or off (`every` "off"); project owners only."""
    every = every.strip().lower()
    if every not in (*PERIODS, "off"):
        raise InvalidInput("Say how often: daily, weekly, or off.")
    if every != "off" and (channel is None or not _CHANNEL.match(channel)):
        raise InvalidInput(
            "Name the channel it goes to (in Slack: `/clixen digest daily #channel`, or run it "
            "in that channel; on the CLI: --channel C0123ABCD, the channel's id)."
        )
    with session_factory.begin() as session:
        found = project_named(session, actor=actor, name=project, at_least=Role.owner)
        if every == "off":
            found.digest_channel = found.digest_every = None
        else:
            found.digest_channel, found.digest_every = channel, every
            found.digest_sent_at = utcnow()  # the first digest covers a full period
        return DigestSetting(found.name, found.digest_channel, found.digest_every)
