"""One logger setup for every entry point. Log lines never carry secrets or prompt text."""

from __future__ import annotations

import logging
import re

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
    | eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*   # JWTs (n8n API keys)
    | -----BEGIN[A-Z ]*PRIVATE\ KEY-----.*?(?:-----END[A-Z ]*PRIVATE\ KEY-----|\Z)
    """,
    re.VERBOSE | re.DOTALL,
)
# The credential of an HTTP authorization scheme: `Bearer abc…`, `Basic dXNl…` (capital B, so
# "basic workflow" stays).
_SCHEME = re.compile(r"\b([Bb]earer|BEARER|Basic)(\s+)[A-Za-z0-9._~+/:-]{8,}=*")
# `password:` in a URL: scheme://user:password@host.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/:@]*:)[^\s/@]+@")
# `key = value` where the key names a secret (also inside JSON, headers and query strings):
# the key ends in one of these words; only the start of a word is tried and a quoted value ends
# at the next quote of its kind (or the line's end), so the work stays linear in the text.
_KEY_WORDS = (
    r"api[_-]?key|apikey|x-n8n-api-key|authorization|token|secret|password|passwd|pwd"
    r"|passphrase|private[_-]?key|cookie|signature"
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
    GitHub, OpenAI, AWS, JWT, private keys, …), the credential after an auth scheme (`Bearer …`),
    a URL's password, and the value of any key naming a secret (`Authorization: Bearer …`,
    `token=…`, `password: …`, `"api_key": "…"`, `DB_PASSWORD=…`). The key itself is kept."""
    text = _TOKENS.sub(MASK, text)
    text = _USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)
    text = _KEYED.sub(_mask_value, text)
    return _SCHEME.sub(lambda m: m.group(1) + m.group(2) + MASK, text)


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
