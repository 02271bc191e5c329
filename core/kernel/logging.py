"""One logger setup for every entry point. Log lines never carry secrets or prompt text."""

from __future__ import annotations

import logging
import re

_SECRET_PATTERNS = [
    re.compile(r"xox[abposr]-[A-Za-z0-9-]+"),
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"sk-[A-Za-z0-9_-]{8,}"),
    re.compile(r"(?i)(x-n8n-api-key|authorization|api[_-]?key)([\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+"),
]


def redact(text: str) -> str:
    """`text` with anything that looks like a token or API key replaced by ***."""
    for pat in _SECRET_PATTERNS:
        if pat.groups >= 2:
            text = pat.sub(lambda m: m.group(1) + m.group(2) + "***", text)
        else:
            text = pat.sub("***", text)
    return text


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(level: int | None = None) -> None:
    """Install the product's single log handler on the root logger (idempotent); `level` None
    means the configured CLIXEN_LOG_LEVEL (which loads the settings)."""
    root = logging.getLogger()
    if level is None:
        from core.kernel.settings import get_settings

        level = logging.getLevelName(get_settings().log_level.upper())
        if not isinstance(level, int):
            level = logging.INFO
    root.setLevel(level)
    if not any(getattr(h, "_clixen", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._clixen = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    for noisy in ("httpx", "httpx2", "httpcore", "apscheduler.executors.default", "openai"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
