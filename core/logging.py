"""One logger setup for every entry point. Log lines never carry secrets or prompt text.

Two formats (CLIXEN_LOG_FORMAT): `text` (default) — `time level logger: message [run_id=…]` —
and `json` — one object per line with `time`, `level`, `logger`, `message`, the fields bound to
the work in progress (`core.observability.log_context`: run_id, workflow_id, project, team,
slack_request, job), any `extra=` fields and `exception`. Both pass the message, every field and
the traceback through `redact`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from typing import Any

from core.observability.log_context import FIELDS, bound_fields

_SECRET_PATTERNS = [
    re.compile(r"xox[abposr]-[A-Za-z0-9-]+"),
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"sk-[A-Za-z0-9_-]{8,}"),
    re.compile(r"(?i)(x-n8n-api-key|authorization|api[_-]?key)([\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+"),
]
# An `extra=` field with one of these words in its name is never written, whatever its value.
_SECRET_FIELD = re.compile(r"(?i)token|secret|password|api[_-]?key|authorization|cookie")
# Attributes every LogRecord has: not `extra=` fields.
_RECORD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def redact(text: str) -> str:
    """`text` with anything that looks like a token or API key replaced by ***."""
    for pat in _SECRET_PATTERNS:
        if pat.groups >= 2:
            text = pat.sub(lambda m: m.group(1) + m.group(2) + "***", text)
        else:
            text = pat.sub("***", text)
    return text


def _context_suffix() -> str:
    fields = bound_fields()
    shown = [f"{k}={fields[k]}" for k in FIELDS if k in fields]
    return f" [{' '.join(shown)}]" if shown else ""


class RedactingFormatter(logging.Formatter):
    """The text format: the standard line, the bound fields in brackets, redacted."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        suffix = _context_suffix()
        if suffix:
            first, sep, rest = line.partition("\n")  # before a traceback, if any
            line = first + suffix + sep + rest
        return redact(line)


class JsonFormatter(logging.Formatter):
    """The json format: one redacted JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in bound_fields().items():
            out[key] = _clean(key, value)
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRS and not key.startswith("_") and key not in out:
                out[key] = _clean(key, value)
        if record.exc_info:
            out["exception"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            out["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(out, ensure_ascii=False, default=str)


def _clean(key: str, value: object) -> object:
    if _SECRET_FIELD.search(key):
        return "***"
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(value if isinstance(value, str) else str(value))


def make_formatter(log_format: str = "text") -> logging.Formatter:
    """The formatter of `log_format` ("json", else text)."""
    if log_format == "json":
        return JsonFormatter()
    return RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


def configure_logging(level: int | None = None, log_format: str | None = None) -> None:
    """Install the product's single log handler on the root logger (idempotent); `level` and
    `log_format` None mean the configured CLIXEN_LOG_LEVEL and CLIXEN_LOG_FORMAT (which loads
    the settings)."""
    root = logging.getLogger()
    if level is None or log_format is None:
        from core.settings import get_settings

        settings = get_settings()
        if level is None:
            level = logging.getLevelName(settings.log_level.upper())
            if not isinstance(level, int):
                level = logging.INFO
        if log_format is None:
            log_format = settings.log_format
    root.setLevel(level)
    handler = next((h for h in root.handlers if getattr(h, "_clixen", False)), None)
    if handler is None:
        handler = logging.StreamHandler()
        handler._clixen = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    handler.setFormatter(make_formatter(log_format))
    for noisy in ("httpx", "httpx2", "httpcore", "apscheduler.executors.default", "openai"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
