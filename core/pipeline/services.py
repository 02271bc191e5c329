"""`build_services`: the one place a `PipelineServices` is built from settings (the bot's
`clixen serve`, the CLI's `create|edit|answer`, a scheduler process that was given none).

Contract: the caller opens and owns the database and n8n; `build_services` adds the LLM (required
or optional), the n8n-mcp validator and the example templates. The n8n-mcp validator is a child
process: whoever built the services closes `services.mcp` when done with them.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from core.catalog import default_catalog
from core.generation.llm import LLMClient
from core.generation.templates import TemplateLibrary, TemplatesUnavailable
from core.kernel.settings import Settings
from core.n8n import N8nClient
from core.observability.readiness import ReadinessProbe
from core.pipeline.types import PipelineServices
from core.validation.mcp import McpValidator

logger = logging.getLogger(__name__)


def build_services(
    settings: Settings,
    *,
    session_factory: sessionmaker[Session],
    n8n: N8nClient,
    require_llm: bool = True,
    with_mcp: bool = True,
    with_templates: bool = True,
    watch_s: float = 5.0,
    readiness: ReadinessProbe | None = None,
) -> PipelineServices:
    """The pipeline's services on `session_factory` and `n8n`, the rest from `settings`.

    `require_llm`: raise LLMNotConfigured (naming what to set) when no LLM is configured;
    otherwise the services have none and runs that need it fail with an explanation.
    `with_mcp`: n8n-mcp's second opinion when N8N_MCP_COMMAND is set (the caller closes it).
    `with_templates`: example workflows for the prompts, when their library can be loaded.
    `watch_s`: seconds to watch for a first execution after each deploy. A run's claim lasts
    CLIXEN_RECOVERY_STALE_S (`recovery_stale_s`) unless its holder renews it. `readiness`:
    this replica's probe; while it is not ready, no new run starts.
    """
    llm = LLMClient.from_settings(settings) if require_llm or settings.llm_configured else None
    templates: TemplateLibrary | None = None
    if with_templates:
        try:
            templates = TemplateLibrary.from_settings(settings)
        except TemplatesUnavailable as e:
            logger.warning("no example templates: %s", e)
    catalog = default_catalog()
    # Last: it may start a child process, which nothing above must leave behind by raising.
    mcp = McpValidator.from_settings(settings) if with_mcp else None
    lease_s = float(settings.recovery_stale_s)
    return PipelineServices(
        session_factory=session_factory,
        n8n=n8n,
        llm=llm,
        catalog=catalog,
        mcp=mcp,
        templates=templates,
        settings=settings,
        watch_s=watch_s,
        lease_s=lease_s,
        # Several beats per lease: a slow beat or two never lets a live claim lapse.
        heartbeat_s=min(15.0, lease_s / 4),
        readiness=readiness,
    )
