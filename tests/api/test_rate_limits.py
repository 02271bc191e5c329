"""The HTTP API's rate limits: per token and per client address, 429 with Retry-After, and a
bounded number of tracked keys whatever is sent. Time is the test's own clock, never slept."""

from __future__ import annotations

from sqlalchemy.orm import sessionmaker
from starlette.testclient import TestClient

from api import create_api_app
from api.ratelimit import TokenBuckets
from core.kernel.settings import Settings
from core.n8n import N8nClient


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def api(clock: Clock, *, per_token: int, per_address: int) -> TestClient:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        CLIXEN_API_RATE_PER_TOKEN=per_token,
        CLIXEN_API_RATE_PER_ADDRESS=per_address,
    )
    app = create_api_app(
        session_factory=sessionmaker(),  # the paths below never reach the database
        settings=settings,
        n8n_factory=lambda: N8nClient("http://127.0.0.1:9", "unused"),
        clock=clock,
    )
    return TestClient(app)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_over_its_limit_gets_429_with_retry_after_until_it_refills() -> None:
    clock = Clock()
    http = api(clock, per_token=3, per_address=1000)
    for _ in range(3):
        assert http.get("/api/v1/nothing-here", headers=bearer("clx_a")).status_code == 404
    refused = http.get("/api/v1/nothing-here", headers=bearer("clx_a"))
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused.headers["retry-after"] == "20"  # 3 a minute: one every 20 s
    assert refused.headers["x-content-type-options"] == "nosniff"  # still a normal API answer
    assert http.get("/api/v1/nothing-here", headers=bearer("clx_b")).status_code == 404
    clock.now += 19
    assert http.get("/api/v1/nothing-here", headers=bearer("clx_a")).status_code == 429
    clock.now += 1
    assert http.get("/api/v1/nothing-here", headers=bearer("clx_a")).status_code == 404


def test_one_address_cycling_tokens_is_held_by_the_address_limit() -> None:
    clock = Clock()
    http = api(clock, per_token=100, per_address=5)
    for i in range(5):
        assert http.get("/x", headers=bearer(f"clx_{i}")).status_code == 404
    refused = http.get("/x", headers=bearer("clx_new"))
    assert refused.status_code == 429 and refused.headers["retry-after"] == "12"
    assert http.get("/x").status_code == 429  # without a token too


def test_the_tracked_keys_stay_bounded_whatever_is_sent() -> None:
    clock = Clock()
    buckets = TokenBuckets(1, max_keys=100, clock=clock)
    for i in range(10_000):
        buckets.take(f"made-up-{i}")
    assert len(buckets) == 100
    assert buckets.take("made-up-9999") > 0  # the recent ones are still held
