"""Rate limits of the HTTP API: per client address and per token, each a token bucket (a burst
of `per_minute` requests, refilled evenly over a minute). A request over a limit gets 429
`rate_limited` with `Retry-After` (whole seconds until the next request would pass).

Memory stays bounded whatever the internet sends: each limiter tracks at most `max_keys` keys
(least recently seen dropped first), and a token is tracked by a digest of the Authorization
header, never its value. A dropped key starts again with a full bucket, so an attacker who cycles
through made-up tokens is still held by the per-address limit.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from api.middleware import error_response

MAX_KEYS = 10_000


@dataclass
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    """One token bucket per key, `per_minute` deep, at most `max_keys` keys."""

    def __init__(
        self,
        per_minute: int,
        *,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # per second
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str) -> float:
        """Spend one request of `key`: 0 when allowed, else the seconds until one would be."""
        now = self._clock()
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = _Bucket(self.capacity, now)
        else:
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
        self._buckets[key] = bucket  # most recently seen last
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate


class RateLimit:
    """ASGI middleware: the per-address limit first, then the per-token one (for requests that
    carry an Authorization header). CORS preflights are not counted."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        per_address: int,
        per_token: int,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.addresses = TokenBuckets(per_address, max_keys=max_keys, clock=clock)
        self.tokens = TokenBuckets(per_token, max_keys=max_keys, clock=clock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = str(client[0]) if client else "unknown"
        wait = self.addresses.take(address)
        if not wait:
            authorization = _header(scope, b"authorization")
            if authorization:
                wait = self.tokens.take(hashlib.sha256(authorization).hexdigest()[:32])
        if wait:
            retry_after = str(max(1, math.ceil(wait)))
            refused = error_response(
                "rate_limited",
                f"Too many requests; try again in {retry_after} s.",
                headers={"Retry-After": retry_after},
            )
            await refused(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value)
    return b""
