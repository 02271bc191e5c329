"""Telemetry stores core events only, never free text, and counts them per day and type."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cli import main
from core.kernel import telemetry
from core.kernel.errors import InvalidInput
from core.kernel.models import TelemetryEvent
from core.kernel.settings import get_settings


def test_core_events_are_recorded_with_allowed_properties(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as s:
        telemetry.record(session=s, type="signup", team_id="T1", user_id="U1")
        telemetry.record(
            session=s,
            type="deployed",
            team_id="T1",
            user_id="U1",
            project_id=3,
            workflow_id=9,
            properties={"version": 2, "node_count": 4, "duration_ms": 812.5, "source": "slack"},
        )
        telemetry.record(session=s, type="error", category="n8n_rejected")
    with session_factory.begin() as s:
        events = s.scalars(select(TelemetryEvent).order_by(TelemetryEvent.id)).all()
    assert [e.type for e in events] == ["signup", "deployed", "error"]
    assert events[1].properties == {
        "version": 2,
        "node_count": 4,
        "duration_ms": 812.5,
        "source": "slack",
    }
    assert events[2].category == "n8n_rejected"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"type": "prompt_sent"}, "Unknown telemetry event 'prompt_sent'"),
        ({"type": "deployed", "properties": {"prompt": "post RSS to #news"}}, "'prompt'"),
        ({"type": "deployed", "properties": {"secret": "abc"}}, "'secret'"),
        ({"type": "deployed", "properties": {"source": "every morning post the feed"}}, "short"),
        ({"type": "deployed", "properties": {"version": "2"}}, "must be int"),
        ({"type": "error"}, "needs a category"),
        ({"type": "error", "category": "The key sk-123 was refused"}, "short"),
        ({"type": "deployed", "category": "n8n"}, "Only error events"),
    ],
)
def test_free_text_and_unknown_events_are_refused(
    session_factory: sessionmaker[Session], kwargs: dict[str, object], message: str
) -> None:
    with session_factory.begin() as s, pytest.raises(InvalidInput, match=message):
        telemetry.record(session=s, **kwargs)  # type: ignore[arg-type]
    with session_factory.begin() as s:
        assert s.scalars(select(TelemetryEvent)).all() == []


def test_daily_counts_per_day_and_type(session_factory: sessionmaker[Session]) -> None:
    now = dt.datetime(2026, 11, 6, 9, 0, tzinfo=dt.UTC)
    day = dt.timedelta(days=1)
    with session_factory.begin() as s:
        for when, type_ in [
            (now, "deployed"),
            (now, "deployed"),
            (now - dt.timedelta(hours=9, seconds=1), "signup"),  # 23:59:59 the day before
            (now - day, "signup"),
            (now - 10 * day, "deployed"),  # outside the 7-day window
        ]:
            s.add(TelemetryEvent(type=type_, created_at=when, properties={}))
    with session_factory.begin() as s:
        counts = telemetry.daily_counts(session=s, days=7, now=now)
    assert counts == [
        (dt.date(2026, 11, 5), "signup", 2),
        (dt.date(2026, 11, 6), "deployed", 2),
    ]


def test_stats_command_prints_counts_per_day_and_type(
    session_factory: sessionmaker[Session],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with session_factory.begin() as s:
        telemetry.record(session=s, type="signup", team_id="T1", user_id="U1")
        telemetry.record(session=s, type="deployed", team_id="T1", user_id="U1")
        telemetry.record(session=s, type="deployed", team_id="T1", user_id="U2")
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        assert main(["stats", "--days", "3"]) == 0
    finally:
        get_settings.cache_clear()
    lines = capsys.readouterr().out.splitlines()
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert lines[0].split() == ["day", "event", "count"]
    assert [line.split() for line in lines[1:]] == [
        [today, "deployed", "2"],
        [today, "signup", "1"],
    ]
