"""After a connection: the run that waited for the account resumes (tests the credential,
deploys); without a run, every run of the project waiting for credentials tries again."""

from __future__ import annotations

import logging

from core.connect.accounts import Connected
from core.kernel.errors import ClixenError
from core.pipeline.resume import provide_credentials, resume_waiting_runs
from core.pipeline.types import PipelineServices, Progress, RunOutcome

logger = logging.getLogger(__name__)


def resume_after_connect(
    services: PipelineServices, connected: Connected, *, progress: Progress | None = None
) -> list[RunOutcome]:
    """The outcomes of the runs resumed by `connected` (none when its run no longer waits)."""
    if connected.run_id is None:
        return resume_waiting_runs(services, project_id=connected.project_id, progress=progress)
    try:
        return [
            provide_credentials(
                services,
                connected.run_id,
                team_id=connected.team_id,
                user_id=connected.user_id,
                progress=progress,
            )
        ]
    except ClixenError as e:  # the run went on or was cancelled meanwhile
        logger.info("connect: run %s not resumed: %s", connected.run_id, e)
        return []
