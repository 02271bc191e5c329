"""Is this replica ready to take work? `ReadinessProbe` answers from named checks — the database
answers and its schema is at Alembic's head, n8n's API answers the configured key, Clixen's n8n
user signs in (when connecting accounts is set up), the n8n-mcp command starts — each run at
most once per its TTL (a probe every second costs nothing more), in `clixen serve` on a
background thread so a probe never waits on a slow check.

Contract: `status()` never raises; a failing check gives a one-line reason (redacted, no secret)
that is logged when it changes; `/readyz` shows only each check's name and whether it is ok.
`require_ready()` raises `NotReady`, whose message names only which parts are not ready (users
see it), never addresses or errors. Who asks: `GET /readyz`, the start of a run
(`core.pipeline.start_run`) and the scheduler's tick lock (`core.scheduler.locks`): a replica
that is not ready starts no run and takes no scheduled job.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, text

from core.kernel.db import alembic_config
from core.kernel.errors import ClixenError
from core.kernel.logging import redact
from core.kernel.metrics import READINESS_CHECK, READY
from core.n8n import N8nClient, N8nError, N8nUnauthorized
from core.n8n.session import N8nUserSession
from core.validation.mcp import McpValidator

if TYPE_CHECKING:
    from core.kernel.settings import Settings

logger = logging.getLogger(__name__)

# How long a check's answer is reused. Starting n8n-mcp costs about 2.7 s of CPU (measured
# here): checked every 5 minutes, i.e. under 1 % of a core.
DATABASE_TTL_S = 5.0
N8N_TTL_S = 5.0
MCP_TTL_S = 300.0
# A wrong password costs a sign-in per check: at most one a minute (n8n allows 5).
N8N_SIGN_IN_TTL_S = 60.0
N8N_TIMEOUT_S = 5.0
MCP_TIMEOUT_S = 30.0

# A check returns None when all is well, else what is wrong (it may also raise).
Check = Callable[[], str | None]


class NotReady(ClixenError):
    """This replica cannot take new work now (a dependency is down or out of date)."""

    code = "not_ready"

    def __init__(self, failing: list[str]) -> None:
        self.failing = failing
        super().__init__(
            "Clixen cannot start new requests right now: "
            + ", ".join(failing)
            + (" is" if len(failing) == 1 else " are")
            + " not available. Nothing was started; please try again in a few minutes, and "
            "tell whoever runs Clixen if it lasts."
        )


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    detail: str


@dataclass(frozen=True)
class Readiness:
    """The latest answer of every check."""

    checks: Mapping[str, CheckResult]

    @property
    def ready(self) -> bool:
        return all(c.ok for c in self.checks.values())

    @property
    def failing(self) -> list[str]:
        return [name for name, c in self.checks.items() if not c.ok]

    def body(self) -> dict[str, Any]:
        """The JSON of /readyz: status, and each check's name with ok or not. The details
        (addresses, errors) go to the log only: /readyz answers anyone who reaches the port."""
        return {
            "status": "ready" if self.ready else "not ready",
            "not_ready": self.failing,
            "checks": {n: {"ok": c.ok} for n, c in self.checks.items()},
        }


@dataclass
class _Cached:
    result: CheckResult
    at: float


class ReadinessProbe:
    """Named checks, each cached for its TTL (`ttl_s`: one for all, or per name).

    With `in_background`, an answer older than its TTL is still returned at once while one
    thread reruns the check (a probe never waits on a slow check, e.g. starting n8n-mcp takes
    seconds); only a check that never ran is run on the caller's thread (or `warm()` it first).
    """

    def __init__(
        self,
        checks: Mapping[str, Check],
        *,
        ttl_s: float | Mapping[str, float] = 5.0,
        in_background: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._checks = dict(checks)
        self._ttl = ttl_s
        self._in_background = in_background
        self._clock = clock
        self._cache: dict[str, _Cached] = {}
        self._locks = {name: threading.Lock() for name in self._checks}
        self._guard = threading.Lock()
        self._refreshing: set[str] = set()

    def status(self) -> Readiness:
        """Every check's answer, rerunning those older than their TTL (one at a time each)."""
        results = {name: self._result(name) for name in self._checks}
        readiness = Readiness(results)
        READY.set(1 if readiness.ready else 0)
        return readiness

    def is_ready(self) -> bool:
        return self.status().ready

    def require_ready(self) -> None:
        """Raise NotReady naming the parts that are not ready."""
        readiness = self.status()
        if not readiness.ready:
            raise NotReady(readiness.failing)

    def warm(self) -> None:
        """Run every check now on a background thread (at start-up: the first probe is fast)."""
        threading.Thread(target=self.status, name="readiness-warm", daemon=True).start()

    def _ttl_of(self, name: str) -> float:
        return self._ttl if isinstance(self._ttl, int | float) else self._ttl.get(name, 5.0)

    def _fresh(self, name: str) -> _Cached | None:
        cached = self._cache.get(name)
        if cached is not None and self._clock() - cached.at < self._ttl_of(name):
            return cached
        return None

    def _result(self, name: str) -> CheckResult:
        cached = self._cache.get(name)
        if not self._in_background or cached is None:
            return self._refresh(name)
        if self._fresh(name) is None:
            with self._guard:
                start = name not in self._refreshing
                self._refreshing.add(name)
            if start:
                threading.Thread(
                    target=self._refresh_in_background, args=(name,), daemon=True
                ).start()
        return cached.result

    def _refresh_in_background(self, name: str) -> None:
        try:
            self._refresh(name)
        finally:
            with self._guard:
                self._refreshing.discard(name)

    def _refresh(self, name: str) -> CheckResult:
        """The check's answer, rerun unless another thread just did (one run at a time)."""
        with self._locks[name]:
            fresh = self._fresh(name)
            return fresh.result if fresh is not None else self._rerun(name)

    def _rerun(self, name: str) -> CheckResult:
        previous = self._cache.get(name)
        result = _run(name, self._checks[name])
        # Each change is logged once, with its detail (the first answer only when failing).
        if (previous.result if previous is not None else CheckResult(True, "ok")) != result:
            log = logger.info if result.ok else logger.warning
            word = "ok" if result.ok else "failing"
            log("readiness: %s is %s (%s)", name, word, result.detail)
        self._cache[name] = _Cached(result, self._clock())
        READINESS_CHECK.labels(name).set(1 if result.ok else 0)
        return result


def _run(name: str, check: Check) -> CheckResult:
    try:
        problem = check()
    except Exception as e:
        problem = f"{type(e).__name__}: {e}"
    if problem is None:
        return CheckResult(True, "ok")
    return CheckResult(False, redact(" ".join(problem.split()))[:500])


# --- the checks -------------------------------------------------------------------------------


def database_check(engine: Engine) -> Check:
    """The database answers and its Alembic revision is the migrations' head."""
    # Alembic loads when the check is built, not with the module (see `core.kernel.db`).
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())

    def check() -> str | None:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                current = set(MigrationContext.configure(conn).get_current_heads())
        except Exception as e:
            return f"the database does not answer ({type(e).__name__}: {_first_line(e)})"
        if current != heads:
            at = ", ".join(sorted(current)) or "no revision"
            return (
                f"the schema is at {at}, not at head {', '.join(sorted(heads))}: "
                "run `clixen db upgrade`"
            )
        return None

    return check


def n8n_check(url: str, api_key: str, *, timeout_s: float = N8N_TIMEOUT_S) -> Check:
    """n8n's public API answers a one-item workflow list with the configured key (no retries)."""

    def check() -> str | None:
        with N8nClient(url, api_key, timeout=timeout_s, max_retries=0) as client:
            try:
                client.list_workflows(limit=1)
            except N8nUnauthorized:
                return "n8n refused the API key (N8N_API_KEY): create a new one in n8n"
            except N8nError as e:
                return f"n8n's API does not answer: {_first_line(e)}"
        return None

    return check


def n8n_sign_in_check(session: N8nUserSession) -> Check:
    """Clixen's n8n user (N8N_OWNER_EMAIL / N8N_OWNER_PASSWORD) signs in: connecting accounts
    needs it. One long-lived session, so a check signs in again only when its cookie expired
    (n8n allows 5 sign-ins per minute and user)."""

    def check() -> str | None:
        try:
            session.check()
        except N8nError as e:
            return f"Clixen's n8n user cannot sign in: {_first_line(e)}"
        return None

    return check


def mcp_check(command: str, *, timeout_s: float = MCP_TIMEOUT_S) -> Check:
    """The n8n-mcp command (N8N_MCP_COMMAND) starts and completes the MCP handshake."""

    def check() -> str | None:
        with McpValidator(command, timeout_s=timeout_s) as validator:
            validator.start()
        return None

    return check


def probe_from_settings(settings: Settings, *, engine: Engine) -> ReadinessProbe:
    """The probe of `clixen serve`: the database always, n8n and n8n-mcp when configured."""
    checks: dict[str, Check] = {"database": database_check(engine)}
    if settings.n8n_url and settings.n8n_api_key:
        checks["n8n"] = n8n_check(settings.n8n_url, settings.n8n_api_key)
    if settings.n8n_url and settings.n8n_owner_email and settings.n8n_owner_password:
        checks["n8n_sign_in"] = n8n_sign_in_check(N8nUserSession.from_settings(settings))
    if (settings.n8n_mcp_command or "").strip():
        checks["mcp"] = mcp_check(str(settings.n8n_mcp_command))
    return ReadinessProbe(
        checks,
        ttl_s={
            "database": DATABASE_TTL_S,
            "n8n": N8N_TTL_S,
            "n8n_sign_in": N8N_SIGN_IN_TTL_S,
            "mcp": MCP_TTL_S,
        },
        in_background=True,
    )


def _first_line(e: BaseException) -> str:
    text_ = str(e).strip().splitlines()
    return text_[0][:300] if text_ else type(e).__name__
