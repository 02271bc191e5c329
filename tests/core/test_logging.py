"""`redact`, which every log line and every error shown to a user goes through: secrets in any
spelling are masked, the key that names them is kept, ordinary text is left alone."""

from __future__ import annotations

import logging

import pytest

from core.kernel.logging import RedactingFormatter, configure_logging, redact

GHP = "ghp_" + "A1b2C3d4E5f6G7h8I9j0" * 2
XOXB = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp"
XAPP = "xapp-1-A0123456789-1234567890123-abcdef0123456789"
SK = "sk-proj-Abc123Def456Ghi789"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI3YTQ1In0.c2lnbmF0dXJlLXBhcnQ"
PASSWORD = "hunter2 correct horse"
PLAIN = "s3cr3tValue99"
CLX = "clx_" + "Ab1_-" * 8 + "xyz"
YA29 = "ya29.a0AfB_byC" + "Q1w2E3r4" * 4
GOOGLE_REFRESH = "1//0gLx" + "Q1w2E3r4" * 4
BASIC = "dXNlcjpodW50ZXIy"  # user:hunter2

LEAKS = [
    f"Authorization: Bearer {GHP}",
    f"authorization: bearer {PLAIN}",
    f"Authorization: Basic {PLAIN}==",
    f"Authorization: token {PLAIN}",
    f'headers={{"Authorization": "Bearer {PLAIN}"}}',
    f"sent Bearer {PLAIN} to https://collector.example.net/",
    f"GET https://api.example.com/items?token={PLAIN}&page=2",
    f"token={PLAIN}",
    f"access_token: {PLAIN}",
    f"SLACK_BOT_TOKEN={PLAIN}",
    f"password: {PLAIN}",
    f"Password = {PLAIN}",
    f"DB_PASSWORD={PLAIN}",
    f"api_key={PLAIN}",
    f"api-key: {PLAIN}",
    f"apiKey={PLAIN}",
    f"openaiApiKey: {PLAIN}",
    f"OPENAI_API_KEY={PLAIN}",
    f"X-N8N-API-KEY: {PLAIN}",
    f"client_secret={PLAIN}",
    f"signing_secret: '{PLAIN}'",
    f'{{"password": "{PASSWORD}", "user": "bob"}}',
    f"{{'password': '{PASSWORD}'}}",
    f'body: {{\\"password\\": \\"{PASSWORD}\\"}}',
    f'{{"apiKey":"{PLAIN}"}}',
    f'{{"password": "{PASSWORD * 40}"}}',
    f"postgresql://clixen:{PLAIN}@db.internal:5432/clixen",
    f"Cookie: {PLAIN}",
    f"slack said invalid_auth for {XOXB}",
    f"app token {XAPP}",
    f"xoxp-{PLAIN}-1",
    f"github token {GHP} rejected",
    f"github_pat_{PLAIN}_{PLAIN}",
    f"OpenAI refused {SK}",
    "aws key AKIAIOSFODNN7EXAMPLE",
    f"n8n key {JWT}",
    f"-----BEGIN RSA PRIVATE KEY-----\nMIIE{PLAIN}\n-----END RSA PRIVATE KEY-----",
    f"CLIXEN_SECRET_KEY={PLAIN}",
    f"AWS_SECRET_ACCESS_KEY={PLAIN}",
    f"STRIPE_WEBHOOK_KEY: {PLAIN}",
    f"x-custom-key: {PLAIN}",
    f'{{"signing_key": "{PLAIN}"}}',
    f"called the API with {CLX}",
    f"google said 401 for {YA29}",
    f"refresh with {GOOGLE_REFRESH}",
    f"Cookie: rl=1; n8n-auth={PLAIN}",
    f"set n8n-auth={PLAIN}; Path=/",
    f"pass: {PLAIN}",
    f"DB_PASS={PLAIN}",
    f"authorization failed for basic {BASIC}",
    f"sent basic {BASIC}== upstream",
]


@pytest.mark.parametrize("line", LEAKS)
def test_no_secret_survives_in_any_spelling(line: str) -> None:
    out = redact(line)
    shapes = (CLX, YA29, GOOGLE_REFRESH, BASIC)
    for secret in (GHP, XOXB, XAPP, SK, JWT, PLAIN, PASSWORD, "hunter2", "AKIAIOSFODNN7EXAMPLE"):
        assert secret not in out, (line, out)
    for secret in shapes:
        assert secret not in out, (line, out)
    assert "***" in out


def test_the_key_and_the_shape_around_the_secret_are_kept() -> None:
    assert redact(f"Authorization: Bearer {GHP}") == "Authorization: ***"
    assert redact(f"sent Bearer {PLAIN} away") == "sent Bearer *** away"
    assert redact(f'{{"password": "{PASSWORD}", "user": "bob"}}') == (
        '{"password": "***", "user": "bob"}'
    )
    assert redact(f"?token={PLAIN}&page=2") == "?token=***&page=2"
    assert redact(f"postgresql://clixen:{PLAIN}@db:5432/x") == "postgresql://clixen:***@db:5432/x"


@pytest.mark.parametrize(
    "line",
    [
        "deployed workflow 12 (v3) in 4.2 s",
        "max_tokens=800 token_count=120 tokenizer=cl100k",
        "a basic workflow: Schedule → Set → Slack",
        "credential type slackApi bound to node Post",
        "password_hint=none secret_name=SLACK",
        "https://hooks.example.com/path?page=2",
        "a basic Scheduler workflow: every morning",
        "bypass: the cache, monkey=3, keyboard: us",
        '{"key": "row-7", "value": 3}',
        "workflow 1//2 done",
    ],
)
def test_ordinary_log_text_is_left_alone(line: str) -> None:
    assert redact(line) == line


def test_the_formatter_redacts_messages_arguments_and_tracebacks() -> None:
    formatter = RedactingFormatter("%(message)s")
    try:
        raise RuntimeError(f"n8n refused Authorization: Bearer {GHP}")
    except RuntimeError:
        import sys

        record = logging.LogRecord(
            "t", logging.ERROR, __file__, 1, "calling %s", (f"token={PLAIN}",), sys.exc_info()
        )
    out = formatter.format(record)
    assert GHP not in out and PLAIN not in out and "calling token=***" in out


def test_migrations_log_what_ran_not_their_set_up(caplog: pytest.LogCaptureFixture) -> None:
    """At INFO a migration run says which revisions ran, once each; Alembic's set-up lines (its
    plugins, its dialect, its DDL mode) are not events."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    configure_logging(logging.INFO, "text")
    try:
        with caplog.at_level(logging.INFO):
            logging.getLogger("alembic.runtime.plugins").info("setup plugin alembic.autogenerate")
            migration = logging.getLogger("alembic.runtime.migration")
            migration.info("Context impl PostgresqlImpl.")
            migration.info("Will assume transactional DDL.")
            migration.info("Running upgrade 0001 -> 0002, Project removals")
    finally:
        root.setLevel(level)
        root.handlers[:] = handlers
    assert [r.getMessage() for r in caplog.records] == [
        "Running upgrade 0001 -> 0002, Project removals"
    ]
