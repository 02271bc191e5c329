"""The product's Prometheus metrics (core side), defined once; each is moved at the one place
where the thing it counts happens (named beside each metric).

Label values come from small fixed sets (run kinds and states, step names, model names, n8n
route templates with `{id}` for ids, job names), never from ids, user text or raw paths, so a
replica's series stay few. Metrics of Slack requests live in `bot.metrics`, of the HTTP API in
`api.middleware`; all land in prometheus_client's default registry and `GET /metrics` serves it.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Gauge, Histogram

# Seconds, for steps and calls that take from milliseconds (a validation) to minutes (an LLM).
SLOW_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)
# Seconds, for calls that should take milliseconds (n8n's API, a picture).
FAST_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

# --- runs (core.pipeline.engine.drive, core.pipeline.active) -----------------------------------
RUNS_STARTED = Counter(
    "clixen_runs_started", "Pipeline runs that began executing, by kind.", ["kind"]
)
RUNS_FINISHED = Counter(
    "clixen_runs_finished",
    "Pipeline runs that stopped executing, by kind and the state they stopped in "
    "(succeeded, failed, awaiting_input, awaiting_credentials, taken_over, handed_over).",
    ["kind", "outcome"],
)
RUN_FAILURES = Counter(
    "clixen_run_failures",
    "Failed pipeline runs, by failure category (llm, n8n, quota, repair_cap, conflict, ...).",
    ["category"],
)
RUNS_IN_PROGRESS = Gauge(
    "clixen_runs_in_progress", "Pipeline runs this replica is driving right now."
)
RUNS_WAITING = Gauge(
    "clixen_runs_waiting_for_worker",
    "Work (pipeline runs, rollbacks, test runs) queued for this replica's run workers.",
)
STEP_SECONDS = Histogram(
    "clixen_step_seconds",
    "Time of one pipeline step (generate, repair, validate, deploy, test_run).",
    ["step"],
    buckets=SLOW_BUCKETS,
)
REPAIRS = Counter(
    "clixen_repairs",
    "LLM repairs spent, by what they repaired (validation, parse, runtime).",
    ["kind"],
)

# --- LLM (core.generation.llm.LLMClient) ----------------------------------------------------------
LLM_CALLS = Counter("clixen_llm_calls", "Chat-completion calls made, by model.", ["model"])
LLM_ERRORS = Counter(
    "clixen_llm_errors",
    "Chat-completion calls that failed, by model and error (timeout, connection, auth, "
    "rate_limited, server, status, bad_reply, other).",
    ["model", "error"],
)
LLM_TOKENS = Counter(
    "clixen_llm_tokens", "Tokens used, by model and type (prompt, completion).", ["model", "type"]
)
LLM_SECONDS = Histogram(
    "clixen_llm_call_seconds",
    "Time of one chat-completion call, by model.",
    ["model"],
    buckets=SLOW_BUCKETS,
)

# --- n8n (core.n8n.metering, the n8n client's transport) ---------------------------------------
N8N_CALLS = Counter(
    "clixen_n8n_calls",
    "n8n API requests, by endpoint (method and route template).",
    ["endpoint"],
)
N8N_ERRORS = Counter(
    "clixen_n8n_errors",
    "n8n API requests that failed, by endpoint and error (timeout, connection, "
    "client_error for 4xx, server_error for 5xx).",
    ["endpoint", "error"],
)
N8N_SECONDS = Histogram(
    "clixen_n8n_call_seconds",
    "Time of one n8n API request, by endpoint.",
    ["endpoint"],
    buckets=FAST_BUCKETS,
)

# --- quotas (core.workspace.quotas: the refusal errors) -------------------------------------------
QUOTA_REFUSALS = Counter(
    "clixen_quota_refusals",
    "Requests refused by a limit, by quota (tokens, deploys, concurrent_runs).",
    ["quota"],
)

# --- scheduler (core.scheduler.locks.run_once_per_tick) ----------------------------------------
# Labelled `job_name`, not `job`: Prometheus sets `job` on every series to the scrape job.
JOB_RUNS = Counter(
    "clixen_scheduler_job_runs", "Scheduled job ticks this replica ran, by job.", ["job_name"]
)
JOB_FAILURES = Counter(
    "clixen_scheduler_job_failures", "Scheduled job ticks that raised, by job.", ["job_name"]
)
JOB_SECONDS = Histogram(
    "clixen_scheduler_job_seconds",
    "Time of one scheduled job tick, by job.",
    ["job_name"],
    buckets=SLOW_BUCKETS,
)
JOB_SKIPPED_NOT_READY = Counter(
    "clixen_scheduler_jobs_skipped_not_ready",
    "Scheduled job ticks this replica left to others because it was not ready, by job.",
    ["job_name"],
)

# --- pictures (core.graph.render.render_png) ---------------------------------------------------
PICTURES = Counter("clixen_pictures_rendered", "Workflow pictures (PNG) drawn.")
PICTURE_SECONDS = Histogram(
    "clixen_picture_render_seconds", "Time to draw one workflow picture.", buckets=FAST_BUCKETS
)

# --- readiness (core.observability.readiness) --------------------------------------------------
READY = Gauge("clixen_ready", "1 when this replica is ready (see /readyz), else 0.")
READINESS_CHECK = Gauge(
    "clixen_readiness_check_ok",
    "1 when a readiness check passed at its last run, by check (database, n8n, mcp).",
    ["check"],
)

# --- Slack triggers (core.triggers.receive.receive_event, core.triggers.delivery.deliver_due) ---
TRIGGER_EVENTS = Counter(
    "clixen_trigger_events",
    "Slack events handed to the triggers, by what became of them "
    "(enqueued, duplicate, no_match, ignored, refused).",
    ["status"],
)
TRIGGER_DELIVERIES = Counter(
    "clixen_trigger_deliveries",
    "Delivery attempts to workflows' n8n webhooks, by outcome "
    "(delivered, pending (to retry), gave_up, skipped).",
    ["outcome"],
)
TRIGGER_SEND_SECONDS = Histogram(
    "clixen_trigger_send_seconds",
    "Time of one POST of an event to a workflow's n8n webhook.",
    buckets=FAST_BUCKETS,
)
