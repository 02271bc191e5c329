"""Scheduler settings, read from the same environment and env files as `core.settings.Settings`.

Kept beside the scheduler until they are folded into the one `Settings` object.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings

from core.settings import Settings


class SchedulerSettings(BaseSettings):
    model_config = Settings.model_config

    # Canonical smoke workflow: where its RSS node reads and where its Slack message goes.
    # Unset: the smoke test serves both itself on 127.0.0.1 (works when n8n runs on this host).
    smoke_feed_url: str | None = Field(None, validation_alias=AliasChoices("CLIXEN_SMOKE_FEED_URL"))
    smoke_slack_webhook_url: str | None = Field(
        None, validation_alias=AliasChoices("CLIXEN_SMOKE_SLACK_WEBHOOK_URL")
    )
    smoke_interval_s: int = Field(3600, validation_alias=AliasChoices("CLIXEN_SMOKE_INTERVAL_S"))
    smoke_timeout_s: float = Field(60.0, validation_alias=AliasChoices("CLIXEN_SMOKE_TIMEOUT_S"))
    watch_interval_s: int = Field(60, validation_alias=AliasChoices("CLIXEN_WATCH_INTERVAL_S"))
    # Workflows deployed within this many hours have their executions watched.
    watch_window_h: float = Field(24.0, validation_alias=AliasChoices("CLIXEN_WATCH_WINDOW_H"))
    recovery_interval_s: int = Field(
        60, validation_alias=AliasChoices("CLIXEN_RECOVERY_INTERVAL_S")
    )
    # A run whose heartbeat is older than this (or whose owner process is gone) is recovered.
    recovery_stale_s: int = Field(120, validation_alias=AliasChoices("CLIXEN_RECOVERY_STALE_S"))
