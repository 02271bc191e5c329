"""One logger setup for every entry point. Log lines never carry secrets or prompt text.

Two formats (CLIXEN_LOG_FORMAT): `text` (default) — `time level logger: message [run_id=…]` —
and `json` — one object per line with `time`, `level`, `logger`, `message`, the fields bound to
the work in progress (`core.kernel.log_context`: run_id, workflow_id, project, team,
slack_request, job), any `extra=` fields and `exception`. Both pass the message, every field and
the traceback through `redact`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from typing import Any

from core.kernel.log_context import FIELDS, bound_fields

MASK = "***"

# Tokens recognisable by their shape, wherever they appear.
_TOKENS = re.compile(
    r"""
      xox[abposre]-[A-Za-z0-9-]+            # Slack bot, user, app-config, refresh tokens
    | xapp-[A-Za-z0-9-]+                    # Slack app-level tokens
    | gh[pousr]_[A-Za-z0-9]{16,}            # GitHub tokens
    | github_pat_[A-Za-z0-9_]{16,}
    | glpat-[A-Za-z0-9_-]{16,}              # GitLab
    | sk-[A-Za-z0-9_-]{8,}                  # OpenAI, Anthropic (sk-proj-, sk-ant-)
    | [rs]k_(?:live|test)_[A-Za-z0-9]{8,}   # Stripe
    | (?:AKIA|ASIA)[0-9A-Z]{16}             # AWS access key ids
    | AIza[0-9A-Za-z_-]{30,}                # Google API keys
    | ya29\.[A-Za-z0-9_.-]{8,}              # Google OAuth access tokens
    | (?<![\w/])1//[A-Za-z0-9_-]{8,}         # Google OAuth refresh tokens
    | clx_[A-Za-z0-9_-]{16,}                # Clixen API tokens (core.workspace.api_tokens)
    | eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*   # JWTs (n8n API keys)
    | -----BEGIN[A-Z ]*PRIVATE\ KEY-----.*?(?:-----END[A-Z ]*PRIVATE\ KEY-----|\Z)
    """,
    re.VERBOSE | re.DOTALL,
)
# The credential of an HTTP authorization scheme: `Bearer abc…`, `Basic dXNl…`; after a lowercase
# `basic` only what looks like base64 (a digit, `+/=`, or a capital inside), so "basic workflow"
# and "basic Scheduler" stay.
_SCHEME = re.compile(
    r"\b([Bb]earer|BEARER|Basic|BASIC)(\s+)[A-Za-z0-9._~+/:-]{8,}=*"
    r"|\b(basic)(\s+)(?=[A-Za-z0-9+/]*(?:[0-9+/=]|[a-z][A-Z]))[A-Za-z0-9+/]{8,}={0,2}(?![\w:])"
)
# `password:` in a URL: scheme://user:password@host.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/:@]*:)[^\s/@]+@")
# `key = value` where the key names a secret (also inside JSON, headers and query strings):
# the key ends in one of these words; only the start of a word is tried and a quoted value ends
# at the next quote of its kind (or the line's end), so the work stays linear in the text.
_KEY_WORDS = (
    r"api[_-]?key|apikey|x-n8n-api-key|authorization|token|secret|password|passwd|pwd"
    r"|passphrase|private[_-]?key|cookie|signature|n8n-auth"
    # `pass` as a whole word or after `_`/`-` (`pass:`, `DB_PASS=`), so `bypass:` stays; `key`
    # only after `_`/`-` (`AWS_SECRET_ACCESS_KEY=`, `CLIXEN_SECRET_KEY=`, `x-custom-key:`), so a
    # data field named `key` and `monkey=` stay.
    r"|(?<![a-z0-9])pass|(?<=[_-])key"
)
_KEYED = re.compile(
    r"(?i)(?<![\w-])([\w-]*?(?:" + _KEY_WORDS + r")(?:\\?[\"'])?\s*[:=]\s*)"
    r"""(\\"(?:[^"\\]|\\[^"]){0,500}\\"|"(?:[^"\\]|\\.){0,500}"|'(?:[^'\\]|\\.){0,500}'"""
    r"|(?:(?:bearer|basic|token|digest|bot)\s+)?[^\s\"'\\,;&}<>]+"
    r"""|"[^"\n]+|'[^'\n]+)"""  # a long quoted value: up to its quote or the line's end
)


def _mask_value(m: re.Match[str]) -> str:
    value = m.group(2)
    for quote in ('\\"', '"', "'"):
        if len(value) >= 2 * len(quote) and value.startswith(quote) and value.endswith(quote):
            return m.group(1) + quote + MASK + quote
    return m.group(1) + (value[0] if value[0] in "\"'" else "") + MASK


def redact(text: str) -> str:
    """`text` with every secret it seems to hold replaced by ***: tokens by their shape (Slack,
    GitHub, OpenAI, AWS, Google, Clixen, JWT, private keys, …), the credential after an auth
    scheme (`Bearer …`), a URL's password, and the value of any key naming a secret
    (`Authorization: Bearer …`, `token=…`, `password: …`, `pass: …`, `"api_key": "…"`,
    `DB_PASSWORD=…`, `*_KEY=…`, `n8n-auth=…`). The key itself is kept. The work stays linear in
    the text's length (each pattern tries only word starts and bounds its values)."""
    text = _TOKENS.sub(MASK, text)
    text = _USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)
    text = _KEYED.sub(_mask_value, text)
    return _SCHEME.sub(_mask_scheme, text)


def _mask_scheme(m: re.Match[str]) -> str:
    if m.group(1) is not None:
        return m.group(1) + m.group(2) + MASK
    return m.group(3) + m.group(4) + MASK


# An `extra=` field with one of these words in its name is never written, whatever its value.
_SECRET_FIELD = re.compile(r"(?i)token|secret|password|api[_-]?key|authorization|cookie")
# Attributes every LogRecord has: not `extra=` fields.
_RECORD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


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
        return MASK
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(value if isinstance(value, str) else str(value))


class WithoutQueryStrings(logging.Filter):
    """Drops the query string from an access log line's path (uvicorn's `uvicorn.access`
    record: client, method, path with query, HTTP version, status): a live connect link's
    `state=`, an OAuth `code=` or any token in a URL never reaches the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path, sep, _ = args[2].partition("?")
            if sep:
                record.args = (*args[:2], path + "?…", *args[3:])
        return True


def make_formatter(log_format: str = "text") -> logging.Formatter:
    """The formatter of `log_format` ("json", else text)."""
    if log_format == "json":
        return JsonFormatter()
    return RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


class _MigrationSetUp(logging.Filter):
    """Drops Alembic's set-up lines below WARNING ("Context impl …", "Will assume …")."""

    def filter(self, record: logging.LogRecord) -> bool:
        setup = str(record.msg).startswith(("Context impl", "Will assume"))
        return record.levelno >= logging.WARNING or not setup


def configure_logging(
    level: int | None = None, log_format: str | None = None, *, quiet: bool = False
) -> None:
    """Install the product's single log handler on the root logger (idempotent); `level` and
    `log_format` None mean the configured CLIXEN_LOG_LEVEL and CLIXEN_LOG_FORMAT (which loads
    the settings). `quiet`: the handler writes nothing (a command-line answer is for a person;
    its log lines appear with `clixen -v`); loggers keep their levels for other handlers."""
    root = logging.getLogger()
    if level is None or log_format is None:
        # pydantic-settings (~0.25 s) loads only here: `clixen --help` and `clixen validate`
        # import this module without needing the settings (benchmarks/cli_startup.py).
        from core.kernel.settings import get_settings

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
    handler.setLevel(logging.CRITICAL + 1 if quiet else logging.NOTSET)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, WithoutQueryStrings) for f in access.filters):
        access.addFilter(WithoutQueryStrings())
    for noisy in ("httpx", "httpx2", "httpcore", "apscheduler.executors.default", "openai"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    # Alembic announces its set-up at INFO on every migration run (each plugin, the dialect, the
    # DDL mode): not events. Its "Running upgrade a -> b" lines stay at INFO.
    logging.getLogger("alembic.runtime.plugins").setLevel(max(level, logging.WARNING))
    migration = logging.getLogger("alembic.runtime.migration")
    if not any(isinstance(f, _MigrationSetUp) for f in migration.filters):
        migration.addFilter(_MigrationSetUp())
