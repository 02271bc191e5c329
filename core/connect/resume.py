"""After a connection: the run that waited for the account resumes (tests the credential,
deploys); without a run, every run of the project waiting for credentials tries again."""

from __future__ import annotations

import logging

from core.connect.accounts import Connected
from core.connect.connectable import service_named
from core.kernel.errors import ClixenError
from core.kernel.models import PipelineRun
from core.pipeline.resume import provide_credentials, resume_waiting_runs
from core.pipeline.types import PipelineServices, Progress, RunContext, RunOutcome

logger = logging.getLogger(__name__)


def resume_after_connect(
    services: PipelineServices, connected: Connected, *, progress: Progress | None = None
) -> list[RunOutcome]:
    """The outcomes of the runs resumed by `connected` (none when its run no longer waits)."""
    if connected.run_id is None:
        return resume_waiting_runs(services, project_id=connected.project_id, progress=progress)
    # The run's waiting nodes of that type get this very account (never another user's of
    # the same service: with two accounts, "the project's only one" would not do).
    ctype = service_named(connected.account.service).credential_type
    with services.session_factory() as session:
        run = session.get(PipelineRun, connected.run_id)
        needed = RunContext.of(run.context).credentials_needed if run is not None else []
    chosen = {n.node: connected.account.secret_name for n in needed if ctype in n.types}
    try:
        return [
            provide_credentials(
                services,
                connected.run_id,
                chosen=chosen,
                team_id=connected.team_id,
                user_id=connected.user_id,
                progress=progress,
            )
        ]
    except ClixenError as e:  # the run went on or was cancelled meanwhile
        logger.info("connect: run %s not resumed: %s", connected.run_id, e)
        return []
