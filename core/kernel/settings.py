"""One settings object for the whole product, read from the environment.

Environment variable names are part of the product's interface (scripts, CI and the README rely on
them), so every field below carries an explicit alias.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.kernel.errors import SettingsError

REPO_ROOT = Path(__file__).resolve().parents[2]
# Written by scripts/n8n_stack.sh: hands the local n8n's URL and API key to the product.
STACK_ENV_FILE = REPO_ROOT / ".stack" / "n8n.env"
DEFAULT_SQLITE_PATH = REPO_ROOT / ".stack" / "clixen.sqlite3"

# What each variable is for, used in fail-fast messages and mirrored in .env.example.
PURPOSE: dict[str, str] = {
    "DATABASE_URL": (
        "the product database (Postgres in production; an embedded SQLite file by default)"
    ),
    "N8N_URL": "base URL of the n8n instance that runs the workflows, e.g. http://127.0.0.1:5678",
    "N8N_API_KEY": "n8n public API key (n8n → Settings → n8n API), sent as X-N8N-API-KEY",
    "OPENAI_API_KEY": "API key of the OpenAI-compatible server that generates workflows",
    "OPENAI_BASE_URL": "base URL of the OpenAI-compatible server (OpenAI, Azure, vLLM, Ollama…)",
    "OPENAI_MODEL": "model name used for generation and repair",
    "SLACK_BOT_TOKEN": "Slack bot token (xoxb-…) from the app's OAuth & Permissions page",
    "SLACK_SIGNING_SECRET": "Slack signing secret, used to verify every request from Slack",
    "SLACK_APP_TOKEN": "Slack app-level token (xapp-…); when set the bot runs in Socket Mode",
    "SLACK_API_URL": "optional Slack Web API base URL (tests point it at a local fake)",
    "CLIXEN_SECRET_KEY": "key that encrypts per-project secrets and Slack triggers' webhook "
    "secrets (pgcrypto / AES-GCM)",
    "N8N_OWNER_EMAIL": (
        "an n8n user (the owner) Clixen signs in as, server-side only, to connect OAuth2 accounts"
    ),
    "N8N_OWNER_PASSWORD": "that n8n user's password (scripts/n8n_stack.sh writes both)",
    "CLIXEN_PUBLIC_URL": (
        "where users' browsers reach this server, e.g. https://clixen.example.com (Connect links)"
    ),
    "PORT": "HTTP port for /slack/events, /healthz and the HTTP API",
    "CLIXEN_METRICS_TOKEN": "bearer token Prometheus sends to scrape GET /metrics",
}

_PLACEHOLDERS = {
    "",
    "changeme",
    "change-me",
    "changethis",
    "secret",
    "placeholder",
    "todo",
    "xxx",
    "your-key-here",
    "dev-secret-key",
}


def _is_placeholder(value: str) -> bool:
    v = value.strip().lower()
    return v in _PLACEHOLDERS or v.endswith("-placeholder") or "your-" in v or "<" in v


def normalize_database_url(url: str) -> str:
    """Return `url` with the psycopg 3 driver named explicitly for Postgres URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=(str(STACK_ENV_FILE), ".env"),
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    environment: Literal["development", "test", "production"] = Field(
        "development", validation_alias=AliasChoices("CLIXEN_ENV")
    )
    database_url: str = Field(
        f"sqlite:///{DEFAULT_SQLITE_PATH}", validation_alias=AliasChoices("DATABASE_URL")
    )
    n8n_url: str | None = Field(None, validation_alias=AliasChoices("N8N_URL"))
    n8n_api_key: str | None = Field(None, validation_alias=AliasChoices("N8N_API_KEY"), repr=False)
    n8n_public_url: str | None = Field(None, validation_alias=AliasChoices("N8N_PUBLIC_URL"))
    n8n_mcp_command: str | None = Field(None, validation_alias=AliasChoices("N8N_MCP_COMMAND"))
    # An n8n user Clixen signs in as, server-side only, to run n8n's OAuth2 flow ("Connect").
    n8n_owner_email: str | None = Field(None, validation_alias=AliasChoices("N8N_OWNER_EMAIL"))
    n8n_owner_password: str | None = Field(
        None, validation_alias=AliasChoices("N8N_OWNER_PASSWORD"), repr=False
    )
    # Where users' browsers reach Clixen's HTTP server (the "Connect" links point there).
    public_url: str | None = Field(None, validation_alias=AliasChoices("CLIXEN_PUBLIC_URL"))
    openai_api_key: str | None = Field(
        None, validation_alias=AliasChoices("OPENAI_API_KEY"), repr=False
    )
    openai_base_url: str | None = Field(None, validation_alias=AliasChoices("OPENAI_BASE_URL"))
    openai_model: str = Field("gpt-4.1-mini", validation_alias=AliasChoices("OPENAI_MODEL"))
    slack_bot_token: str | None = Field(
        None, validation_alias=AliasChoices("SLACK_BOT_TOKEN"), repr=False
    )
    slack_signing_secret: str | None = Field(
        None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET"), repr=False
    )
    slack_app_token: str | None = Field(
        None, validation_alias=AliasChoices("SLACK_APP_TOKEN"), repr=False
    )
    slack_api_url: str | None = Field(None, validation_alias=AliasChoices("SLACK_API_URL"))
    secret_key: str | None = Field(
        None, validation_alias=AliasChoices("CLIXEN_SECRET_KEY"), repr=False
    )
    port: int = Field(3000, validation_alias=AliasChoices("PORT"))
    # The address `clixen serve` listens on (all interfaces: a container behind TLS termination).
    host: str = Field("0.0.0.0", validation_alias=AliasChoices("HOST"))  # noqa: S104
    # CPython's GIL switch interval for `clixen serve` (default 5 ms): shorter turns keep the
    # Slack ack fast while run workers are busy.
    gil_switch_interval_s: float = Field(
        0.001, validation_alias=AliasChoices("CLIXEN_GIL_SWITCH_INTERVAL_S")
    )
    # Socket Mode pings Slack this often; five failed pings reopen the socket.
    socket_mode_ping_interval_s: float = Field(
        10.0, validation_alias=AliasChoices("CLIXEN_SOCKET_MODE_PING_INTERVAL_S")
    )
    # Quotas (per user, per UTC day); projects may override.
    daily_token_limit: int = Field(200_000, validation_alias=AliasChoices("CLIXEN_DAILY_TOKENS"))
    daily_deploy_limit: int = Field(20, validation_alias=AliasChoices("CLIXEN_DAILY_DEPLOYS"))
    # Requests (pipeline runs) one user may have in progress at once; more are refused.
    max_concurrent_runs: int = Field(
        3, ge=1, validation_alias=AliasChoices("CLIXEN_MAX_CONCURRENT_RUNS")
    )
    # The most tokens one LLM answer may use (sent as `max_tokens` on every call, and reserved
    # from the daily token limit with the prompt's estimate before the call).
    llm_max_tokens: int = Field(
        8_000, ge=256, validation_alias=AliasChoices("CLIXEN_LLM_MAX_TOKENS")
    )
    allowed_origins: str = Field("", validation_alias=AliasChoices("CLIXEN_ALLOWED_ORIGINS"))
    # HTTP API rate limits, requests per minute (a burst of that many, then refilled evenly).
    api_rate_per_token: int = Field(
        120, ge=1, validation_alias=AliasChoices("CLIXEN_API_RATE_PER_TOKEN")
    )
    api_rate_per_address: int = Field(
        600, ge=1, validation_alias=AliasChoices("CLIXEN_API_RATE_PER_ADDRESS")
    )
    ops_channel: str | None = Field(None, validation_alias=AliasChoices("CLIXEN_OPS_CHANNEL"))
    log_level: str = Field("INFO", validation_alias=AliasChoices("CLIXEN_LOG_LEVEL"))
    # `json`: one JSON object per log line, with the run's and request's ids
    # (core/kernel/logging.py).
    log_format: Literal["text", "json"] = Field(
        "text", validation_alias=AliasChoices("CLIXEN_LOG_FORMAT")
    )
    # GET /metrics: off unless a bearer token is set, or `public` (only on a private network).
    metrics: Literal["off", "public"] = Field(
        "off", validation_alias=AliasChoices("CLIXEN_METRICS")
    )
    metrics_token: str | None = Field(
        None, validation_alias=AliasChoices("CLIXEN_METRICS_TOKEN"), repr=False
    )
    # Scheduler. The canonical smoke workflow reads this feed and posts to this Slack webhook;
    # unset, the smoke test serves both itself on 127.0.0.1 (works when n8n runs on this host).
    smoke_feed_url: str | None = Field(None, validation_alias=AliasChoices("CLIXEN_SMOKE_FEED_URL"))
    smoke_slack_webhook_url: str | None = Field(
        None, validation_alias=AliasChoices("CLIXEN_SMOKE_SLACK_WEBHOOK_URL")
    )
    smoke_interval_s: int = Field(3600, validation_alias=AliasChoices("CLIXEN_SMOKE_INTERVAL_S"))
    smoke_timeout_s: float = Field(60.0, validation_alias=AliasChoices("CLIXEN_SMOKE_TIMEOUT_S"))
    watch_interval_s: int = Field(60, validation_alias=AliasChoices("CLIXEN_WATCH_INTERVAL_S"))
    # How often opened Connect links are checked for the token n8n's OAuth2 callback stored.
    connect_interval_s: int = Field(
        10, ge=1, validation_alias=AliasChoices("CLIXEN_CONNECT_INTERVAL_S")
    )
    # Workflows deployed within this many hours have their executions watched.
    watch_window_h: float = Field(24.0, validation_alias=AliasChoices("CLIXEN_WATCH_WINDOW_H"))
    recovery_interval_s: int = Field(
        60, validation_alias=AliasChoices("CLIXEN_RECOVERY_INTERVAL_S")
    )
    # The lease of a run's claim: a worker (or the process that queued it) renews it while the
    # run is alive; a run whose lease ran out this long ago is taken over by recovery.
    recovery_stale_s: int = Field(
        120, ge=4, validation_alias=AliasChoices("CLIXEN_RECOVERY_STALE_S")
    )
    # Everything one deploy asks of n8n (create or update, activate, read back) ends within this;
    # then the deploy fails saying what to check (a create is never sent twice).
    n8n_deadline_s: float = Field(
        120.0, gt=0, validation_alias=AliasChoices("CLIXEN_N8N_DEADLINE_S")
    )
    # How long one LLM answer may take (the client tries up to 3 times before giving up).
    llm_timeout_s: float = Field(120.0, gt=0, validation_alias=AliasChoices("CLIXEN_LLM_TIMEOUT_S"))
    # Slack triggers (core/triggers): events one workflow may take per minute (those beyond are
    # not delivered, with a notice), and the most deliveries waiting across all workflows.
    trigger_rate_per_min: int = Field(
        60, ge=1, validation_alias=AliasChoices("CLIXEN_TRIGGER_RATE_PER_MIN")
    )
    trigger_max_pending: int = Field(
        5_000, ge=1, validation_alias=AliasChoices("CLIXEN_TRIGGER_MAX_PENDING")
    )
    # Reconciliation (scheduler): how often it looks, and how old a leftover must be to go.
    reconcile_interval_s: int = Field(
        600, ge=1, validation_alias=AliasChoices("CLIXEN_RECONCILE_INTERVAL_S")
    )
    reconcile_grace_s: float = Field(
        600.0, ge=0, validation_alias=AliasChoices("CLIXEN_RECONCILE_GRACE_S")
    )
    # On SIGTERM, how long `clixen serve` lets the steps in progress finish before it hands
    # the runs it still holds to another replica and exits.
    shutdown_grace_s: float = Field(
        20.0, ge=0, validation_alias=AliasChoices("CLIXEN_SHUTDOWN_GRACE_S")
    )

    @field_validator("database_url")
    @classmethod
    def _normalize_db(cls, v: str) -> str:
        return normalize_database_url(v)

    @property
    def llm_configured(self) -> bool:
        return bool(self.openai_api_key or self.openai_base_url)

    def require(self, *names: str) -> None:
        """Raise SettingsError naming every variable in `names` that is missing or a placeholder.

        Placeholder values are accepted only in development.
        """
        problems: list[str] = []
        for name in names:
            value = self._value_of(name)
            if value is None or str(value).strip() == "":
                problems.append(f"{name} is not set: {PURPOSE.get(name, name)}")
            elif (
                self.environment != "development"
                and name in _SECRET_NAMES
                and _is_placeholder(str(value))
            ):
                problems.append(
                    f"{name} looks like a placeholder ({self.environment} refuses it): "
                    f"{PURPOSE.get(name, name)}"
                )
        if problems:
            raise SettingsError(problems)

    def _value_of(self, env_name: str) -> object:
        for field_name, field in type(self).model_fields.items():
            alias = field.validation_alias
            if isinstance(alias, AliasChoices) and env_name in alias.choices:
                return getattr(self, field_name)
        raise KeyError(env_name)


_SECRET_NAMES = {
    "N8N_API_KEY",
    "N8N_OWNER_PASSWORD",
    "OPENAI_API_KEY",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "CLIXEN_SECRET_KEY",
    "CLIXEN_METRICS_TOKEN",
}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment (and env files)."""
    return Settings()
