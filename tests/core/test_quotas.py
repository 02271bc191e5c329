"""Daily quotas: atomic under concurrency, told plainly when exceeded, reset at UTC midnight."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from cli import main
from core.kernel import db
from core.kernel.models import Base, Project, QuotaUsage
from core.kernel.settings import Settings, get_settings
from core.workspace import quotas
from core.workspace.quotas import QuotaExceeded
from tests.builders import spend_tokens

UTC = dt.UTC


def _settings(**env: str) -> Settings:
    return Settings(_env_file=None, **env)  # type: ignore[call-arg]


def _project(factory: sessionmaker[Session], **limits: int) -> int:
    with factory.begin() as s:
        p = Project(team_id="T1", name=f"p{len(limits)}", created_by="U1", **limits)
        s.add(p)
        s.flush()
        return p.id


def test_fifty_concurrent_deploys_against_limit_ten_reserve_exactly_ten(
    session_factory: sessionmaker[Session],
) -> None:
    project_id = _project(session_factory, daily_deploy_limit=10)
    settings = _settings()
    barrier = threading.Barrier(50)
    granted: list[int] = []
    refused: list[QuotaExceeded] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def attempt() -> None:
        barrier.wait()
        try:
            with session_factory.begin() as s:
                n = quotas.reserve_deploy(
                    session=s, team_id="T1", user_id="U1", project_id=project_id,
                    settings=settings,
                )  # fmt: skip
            with lock:
                granted.append(n)
        except QuotaExceeded as e:
            with lock:
                refused.append(e)
        except BaseException as e:  # surfaced below: any other failure fails the test
            with lock:
                errors.append(e)

    threads = [threading.Thread(target=attempt) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert sorted(granted) == list(range(1, 11))
    assert len(refused) == 40
    with session_factory.begin() as s:
        status = quotas.usage(
            session=s, team_id="T1", user_id="U1", project_id=project_id, settings=settings
        )
    assert status.deploys_used == 10
    assert status.deploy_limit == 10


def test_exceeded_message_names_limit_use_and_reset_time(
    session_factory: sessionmaker[Session],
) -> None:
    project_id = _project(session_factory, daily_deploy_limit=2)
    now = dt.datetime(2026, 11, 5, 20, 48, 0, tzinfo=UTC)
    with session_factory.begin() as s:
        for _ in range(2):
            quotas.reserve_deploy(
                session=s,
                team_id="T1",
                user_id="U1",
                project_id=project_id,
                now=now,
                settings=get_settings(),
            )
        with pytest.raises(QuotaExceeded) as err:
            quotas.reserve_deploy(
                session=s,
                team_id="T1",
                user_id="U1",
                project_id=project_id,
                now=now,
                settings=get_settings(),
            )
    e = err.value
    assert (e.limit_name, e.used, e.limit) == ("deployments", 2, 2)
    assert e.resets_at == dt.datetime(2026, 11, 6, tzinfo=UTC)
    assert str(e) == (
        "You have used 2 of your 2 deployments today; the limit resets at 00:00 UTC "
        "(in 3 h 12 min)."
    )


def test_tokens_reserved_settled_and_refused_past_the_limit(
    session_factory: sessionmaker[Session],
) -> None:
    settings = _settings(CLIXEN_DAILY_TOKENS="1000")
    kw: dict[str, Any] = {"team_id": "T1", "user_id": "U1", "project_id": None}
    with session_factory.begin() as s:
        first = quotas.reserve_tokens(
            session=s, **kw, prompt_tokens=100, max_completion=500, settings=settings
        )
        assert quotas.settle_tokens(session=s, reservation=first, used=600) == 600
        # Only 300 are left for the answer after a 100-token prompt.
        second = quotas.reserve_tokens(
            session=s, **kw, prompt_tokens=100, max_completion=500, settings=settings
        )
        assert second.completion_budget == 300
        # The server's count is the truth, even past the reservation.
        assert quotas.settle_tokens(session=s, reservation=second, used=500) == 1100
        with pytest.raises(QuotaExceeded, match="used 1,100 of your 1,000 LLM tokens today"):
            quotas.reserve_tokens(
                session=s, **kw, prompt_tokens=1, max_completion=10, settings=settings
            )
        # Another user of the same workspace is not affected.
        quotas.reserve_tokens(
            session=s,
            team_id="T1",
            user_id="U2",
            project_id=None,
            prompt_tokens=1,
            max_completion=10,
            settings=settings,
        )


def test_concurrent_token_settlements_are_not_lost(session_factory: sessionmaker[Session]) -> None:
    barrier = threading.Barrier(20)

    def spend() -> None:
        barrier.wait()
        with session_factory.begin() as s:
            reservation = quotas.reserve_tokens(
                session=s,
                team_id="T1",
                user_id="U1",
                project_id=None,
                prompt_tokens=0,
                max_completion=10,
                settings=get_settings(),
            )
            quotas.settle_tokens(session=s, reservation=reservation, used=7)

    threads = [threading.Thread(target=spend) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with session_factory.begin() as s:
        assert (
            quotas.usage(
                session=s, team_id="T1", user_id="U1", project_id=None, settings=get_settings()
            ).tokens_used
            == 140
        )


def test_concurrent_token_reservations_never_pass_the_limit(
    session_factory: sessionmaker[Session],
) -> None:
    """Ten LLM calls of one user reserve at once with 1,000 tokens left: each needs 200 for its
    prompt and at least 100 for its answer (up to 250), so two fit and the rest are refused."""
    settings = _settings(CLIXEN_DAILY_TOKENS="1000")
    barrier = threading.Barrier(10)
    granted: list[quotas.TokenReservation] = []
    refused: list[QuotaExceeded] = []
    lock = threading.Lock()

    def reserve() -> None:
        barrier.wait()
        try:
            with session_factory.begin() as s:
                r = quotas.reserve_tokens(
                    session=s, team_id="T1", user_id="U1", project_id=None, prompt_tokens=200,
                    max_completion=250, min_completion=100, settings=settings,
                )  # fmt: skip
            with lock:
                granted.append(r)
        except QuotaExceeded as e:
            with lock:
                refused.append(e)

    threads = [threading.Thread(target=reserve) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 2 and len(refused) == 8
    assert [r.completion_budget for r in granted] == [250, 250]
    assert "needs about 300" in str(refused[0])
    with session_factory.begin() as s:
        assert (
            quotas.usage(
                session=s, team_id="T1", user_id="U1", project_id=None, settings=get_settings()
            ).tokens_used
            == 900
        )
        # Settled to what the calls really used: the rest of each reservation comes back.
        for r in granted:
            quotas.settle_tokens(session=s, reservation=r, used=320)
        assert (
            quotas.usage(
                session=s, team_id="T1", user_id="U1", project_id=None, settings=get_settings()
            ).tokens_used
            == 640
        )
        # The last 360 tokens: a prompt of 200 leaves 160 for the answer, and no more is sent.
        last = quotas.reserve_tokens(
            session=s, team_id="T1", user_id="U1", project_id=None, prompt_tokens=200,
            max_completion=250, min_completion=100, settings=settings,
        )  # fmt: skip
        assert (last.tokens, last.completion_budget) == (360, 160)


def test_project_overrides_settings_defaults(session_factory: sessionmaker[Session]) -> None:
    settings = _settings(CLIXEN_DAILY_TOKENS="5000", CLIXEN_DAILY_DEPLOYS="7")
    custom = _project(session_factory, daily_token_limit=123)
    with session_factory.begin() as s:
        assert quotas.limits_for(session=s, project_id=None, settings=settings) == quotas.Limits(
            5000, 7
        )
        assert quotas.limits_for(session=s, project_id=custom, settings=settings) == quotas.Limits(
            123, 7
        )


def test_reset_boundary_at_utc_midnight(session_factory: sessionmaker[Session]) -> None:
    project_id = _project(session_factory, daily_deploy_limit=1)
    before = dt.datetime(2026, 11, 5, 23, 59, 59, tzinfo=UTC)
    midnight = dt.datetime(2026, 11, 6, 0, 0, 0, tzinfo=UTC)
    kw: dict[str, Any] = {
        "team_id": "T1",
        "user_id": "U1",
        "project_id": project_id,
        "settings": get_settings(),
    }
    with session_factory.begin() as s:
        quotas.reserve_deploy(session=s, now=before, **kw)
        with pytest.raises(QuotaExceeded) as err:
            quotas.reserve_deploy(session=s, now=before, **kw)
        assert "(in 1 min)" in str(err.value)
        assert err.value.resets_at == midnight
        # Exactly at midnight the new day starts from zero.
        assert quotas.usage(session=s, now=midnight, **kw).deploys_used == 0
        assert quotas.reserve_deploy(session=s, now=midnight, **kw) == 1
        # The scheduler's reset for the new day runs late and twice: today's use survives.
        quotas.reset_day(session=s, day=midnight.date())
        quotas.reset_day(session=s, day=midnight.date())
        assert quotas.usage(session=s, now=midnight, **kw).deploys_used == 1
        assert quotas.usage(session=s, now=before, **kw).deploys_used == 1


def test_reset_prunes_old_days_only(session_factory: sessionmaker[Session]) -> None:
    today = dt.date(2026, 11, 6)
    with session_factory.begin() as s:
        for age in (0, 1, 35, 36, 90):
            s.add(QuotaUsage(team_id="T1", user_id="U1", day=today - dt.timedelta(days=age)))
    with session_factory.begin() as s:
        assert quotas.reset_day(session=s, day=today) == 2
        assert quotas.reset_day(session=s, day=today) == 0
        days = s.scalars(select(QuotaUsage.day).order_by(QuotaUsage.day)).all()
    assert days == [today - dt.timedelta(days=a) for a in (35, 1, 0)]


def test_refund_gives_a_deployment_back(session_factory: sessionmaker[Session]) -> None:
    project_id = _project(session_factory, daily_deploy_limit=1)
    kw: dict[str, Any] = {"team_id": "T1", "user_id": "U1", "project_id": project_id}
    settings = get_settings()
    with session_factory.begin() as s:
        quotas.reserve_deploy(session=s, settings=settings, **kw)
        quotas.refund_deploy(session=s, **kw)
        quotas.refund_deploy(session=s, **kw)  # never below zero
        assert quotas.usage(session=s, settings=settings, **kw).deploys_used == 0
        assert quotas.reserve_deploy(session=s, settings=settings, **kw) == 1


@pytest.fixture
def sqlite_factory(tmp_path: object) -> sessionmaker[Session]:
    engine: Engine = db.make_engine(f"sqlite:///{tmp_path}/q.sqlite3")
    Base.metadata.create_all(engine)
    return db.make_session_factory(engine)


def test_same_behaviour_on_embedded_sqlite(sqlite_factory: sessionmaker[Session]) -> None:
    settings = _settings(CLIXEN_DAILY_DEPLOYS="2")
    kw: dict[str, Any] = {
        "team_id": "T1",
        "user_id": "U1",
        "project_id": None,
        "settings": settings,
    }
    with sqlite_factory.begin() as s:
        assert quotas.reserve_deploy(session=s, **kw) == 1
        assert quotas.reserve_deploy(session=s, **kw) == 2
        with pytest.raises(QuotaExceeded):
            quotas.reserve_deploy(session=s, **kw)
        for _ in range(2):
            reservation = quotas.reserve_tokens(session=s, **kw, prompt_tokens=0, max_completion=10)
            quotas.settle_tokens(session=s, reservation=reservation, used=5)
        assert quotas.usage(session=s, **kw).tokens_used == 10


@pytest.fixture
def quota_limits(cli_env: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """`clixen` (cli_env) with daily limits of 50,000 tokens and 5 deployments."""
    monkeypatch.setenv("CLIXEN_DAILY_TOKENS", "50000")
    monkeypatch.setenv("CLIXEN_DAILY_DEPLOYS", "5")
    get_settings.cache_clear()


def test_quota_command_prints_use_limits_and_reset(
    session_factory: sessionmaker[Session], quota_limits: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with session_factory.begin() as s:
        spend_tokens(s, team_id="local", user_id="cli:alice", tokens=1234)
        quotas.reserve_deploy(
            session=s,
            team_id="local",
            user_id="cli:alice",
            project_id=None,
            settings=get_settings(),
        )
    assert main(["quota"]) == 0
    out = capsys.readouterr().out
    assert "LLM tokens:  1,234 of 50,000" in out
    assert "deployments: 1 of 5" in out
    assert f"Limits reset at {quotas.next_reset():%Y-%m-%d} 00:00 UTC." in out
