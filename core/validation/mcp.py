"""A second opinion on workflows from n8n-mcp's `validate_workflow` tool, and how it counts.

`McpValidator` keeps ONE n8n-mcp process alive over stdio (the design names the n8n MCP server's
validate-workflow tool). The mcp SDK is async; the validator runs it on a private thread with its
own event loop and offers a plain blocking `validate(workflow) -> McpVerdict`.

`combine(ours, mcp)` decides what the pipeline does with that second opinion; see its docstring for
the rule and the measurements behind it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import os
import shlex
import shutil
import sys
import tempfile
import threading
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from mcp import ClientSession, MCPError, StdioServerParameters, types
from mcp.client.stdio import stdio_client

from core.kernel.errors import ClixenError
from core.validation.report import MCP_ISSUE_CODE as MCP_ISSUE_CODE
from core.validation.report import Issue, ValidationReport

if TYPE_CHECKING:
    from core.kernel.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

# n8n-mcp reads these; the last one is not optional: without it the server sends usage data out.
MCP_ENV: dict[str, str] = {
    "MCP_MODE": "stdio",
    "LOG_LEVEL": "error",
    "DISABLE_CONSOLE_OUTPUT": "true",
    "N8N_MCP_TELEMETRY_DISABLED": "true",
}
_CONNECTION_CLOSED = -32000  # JSON-RPC code the SDK uses when the transport has gone away.

# n8n-mcp does not stop when its stdin closes, so a process of ours that dies without closing it
# (SIGKILL, a crash, an exit while a readiness check was starting it) would leave it running.
# On Linux the server is started through this guard: it asks the kernel to kill it when the
# thread that started it ends (PR_SET_PDEATHSIG, kept across exec), checks that this parent is
# still alive, then becomes the server (exec: no extra process).
_DIE_WITH_PARENT = (
    "import ctypes,os,signal,sys\n"
    "ctypes.CDLL(None,use_errno=True).prctl(1,signal.SIGKILL)\n"
    "os.getppid()==int(sys.argv[1]) or os._exit(1)\n"
    "os.execvp(sys.argv[2],sys.argv[2:])"
)


def guarded_argv(argv: list[str]) -> list[str]:
    """`argv` started so that it dies with this process (Linux; elsewhere `argv` as is). A
    program that is not there is started as is, so the start fails saying so."""
    if not sys.platform.startswith("linux") or shutil.which(argv[0]) is None:
        return argv
    return [sys.executable, "-c", _DIE_WITH_PARENT, str(os.getpid()), *argv]


class McpUnavailable(ClixenError):
    """n8n-mcp could not be started or did not answer in time."""

    code = "mcp_unavailable"


@dataclass(frozen=True)
class McpIssue:
    """One finding of n8n-mcp: the node it names ("workflow" or None for the whole workflow)."""

    node: str | None
    message: str


@dataclass(frozen=True)
class McpVerdict:
    """n8n-mcp's answer for one workflow; `raw` is its full JSON result (summary, suggestions)."""

    valid: bool
    errors: list[McpIssue] = field(default_factory=list)
    warnings: list[McpIssue] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)


def parse_verdict(result: types.CallToolResult) -> McpVerdict:
    """Read a `validate_workflow` tool result from its text content (never its structured part).

    n8n-mcp's structured content violates its own output schema (an issue's `details` is an
    object where the schema says string), so the text is the one reliable channel. A tool error
    (`is_error`) means n8n-mcp refused the workflow's shape (e.g. `nodes` is not a list): that is a
    verdict too, not an outage.
    """
    text = "".join(c.text for c in result.content if isinstance(c, types.TextContent))
    if result.is_error:
        return McpVerdict(
            valid=False,
            errors=[McpIssue(node=None, message=text.strip())],
            raw={"is_error": True, "text": text},
        )
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise McpUnavailable("n8n-mcp answered validate_workflow with something not JSON") from e
    if not isinstance(raw, dict):
        raise McpUnavailable("n8n-mcp answered validate_workflow with an unexpected shape")
    return McpVerdict(
        valid=bool(raw.get("valid")),
        errors=_issues(raw.get("errors")),
        warnings=_issues(raw.get("warnings")),
        raw=raw,
    )


def _issues(items: object) -> list[McpIssue]:
    if not isinstance(items, list):
        return []
    out: list[McpIssue] = []
    for item in items:
        if isinstance(item, dict):
            node = item.get("node")
            out.append(
                McpIssue(
                    node=node if isinstance(node, str) else None,
                    message=str(item.get("message", "")),
                )
            )
    return out


class McpValidator:
    """One long-lived n8n-mcp stdio session with a blocking `validate(workflow)`.

    `command` is the server's argv (a list, or a string split like a shell would). The process is
    started lazily on the first call, restarted once if it died, and stopped by `close()` (or by
    leaving a `with` block). Calls are serialised; each waits at most `timeout_s` seconds.
    """

    def __init__(
        self,
        command: list[str] | str,
        *,
        timeout_s: float = 30.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        if not argv:
            raise McpUnavailable("The n8n-mcp command is empty (N8N_MCP_COMMAND).")
        self._argv = argv
        self._timeout_s = timeout_s
        # Caller env first, then ours: telemetry stays off whatever the caller passes.
        self._env = {**(env or {}), **MCP_ENV}
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="n8n-mcp-client", daemon=True
        )
        self._thread.start()
        self._session: ClientSession | None = None
        self._stop: asyncio.Event | None = None
        self._holder: asyncio.Task[None] | None = None
        self._stderr: TextIO | None = None
        self._closed = False

    @classmethod
    def from_settings(cls, settings: Settings, *, timeout_s: float = 30.0) -> McpValidator | None:
        """A validator for `settings.n8n_mcp_command` (env N8N_MCP_COMMAND), or None if unset."""
        command = (settings.n8n_mcp_command or "").strip()
        return cls(command, timeout_s=timeout_s) if command else None

    def __enter__(self) -> McpValidator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public, blocking ------------------------------------------------------------------

    def validate(self, workflow: Mapping[str, Any]) -> McpVerdict:
        """n8n-mcp's verdict on `workflow` (n8n workflow JSON). Raises McpUnavailable."""
        result = self.call_tool("validate_workflow", {"workflow": dict(workflow)})
        return parse_verdict(result)

    def second_opinion(
        self, workflow: Mapping[str, Any], ours: ValidationReport
    ) -> ValidationReport:
        """`ours` combined with n8n-mcp's verdict on `workflow` (the rule `combine` documents);
        when n8n-mcp is unavailable, `ours` alone (logged)."""
        try:
            verdict = self.validate(workflow)
        except McpUnavailable:
            log.warning("n8n-mcp unavailable; our validator alone")
            verdict = None
        return combine(ours, verdict)

    def call_tool(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        """Call any n8n-mcp tool; the raw result, without output-schema validation."""
        with self._lock:
            if self._closed:
                raise McpUnavailable("This n8n-mcp validator is closed.")
            try:
                return self._run(self._call(name, arguments, retry=True))
            except concurrent.futures.TimeoutError as e:
                self._run(self._stop_session())
                raise McpUnavailable(
                    f"n8n-mcp did not answer {name} within {self._timeout_s:g} s."
                ) from e

    def start(self) -> None:
        """Start the n8n-mcp process now instead of on the first call (fails fast if broken)."""
        with self._lock:
            self._run(self._ensure_session())

    def close(self) -> None:
        """Stop the n8n-mcp process and the client thread. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(Exception):
                self._run(self._stop_session())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            if not self._thread.is_alive():
                self._loop.close()

    # -- the event-loop side --------------------------------------------------------------

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            # Margin over the per-request timeout so the SDK's own timeout normally fires first.
            return future.result(timeout=self._timeout_s * 2 + 5)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    async def _call(
        self, name: str, arguments: dict[str, Any], *, retry: bool
    ) -> types.CallToolResult:
        session = await self._ensure_session()
        request = types.CallToolRequest(
            params=types.CallToolRequestParams(name=name, arguments=arguments)
        )
        try:
            # send_request with the plain result type skips call_tool's output-schema check, which
            # n8n-mcp's validate_workflow fails ("Invalid structured content …").
            return await session.send_request(
                request, types.CallToolResult, request_read_timeout_seconds=self._timeout_s
            )
        except MCPError as e:
            if e.code == _CONNECTION_CLOSED:
                await self._stop_session()
                if retry:
                    log.warning("n8n-mcp connection closed; restarting it once")
                    return await self._call(name, arguments, retry=False)
                raise McpUnavailable(f"n8n-mcp stopped while answering {name}.") from e
            if "timed out" in e.message.lower():
                await self._stop_session()
                raise McpUnavailable(
                    f"n8n-mcp did not answer {name} within {self._timeout_s:g} s."
                ) from e
            raise McpUnavailable(f"n8n-mcp refused {name}: {e.message}") from e

    async def _ensure_session(self) -> ClientSession:
        if self._session is not None and self._holder is not None and not self._holder.done():
            return self._session
        await self._stop_session()
        ready: asyncio.Future[ClientSession] = self._loop.create_future()
        self._stop = asyncio.Event()
        self._holder = self._loop.create_task(self._hold_session(ready, self._stop))
        try:
            self._session = await asyncio.wait_for(asyncio.shield(ready), self._timeout_s)
        except (TimeoutError, OSError, MCPError) as e:
            await self._stop_session()
            raise McpUnavailable(
                f"n8n-mcp could not be started ({self._argv[0]}): {type(e).__name__} {e}"
            ) from e
        return self._session

    async def _hold_session(
        self, ready: asyncio.Future[ClientSession], stop: asyncio.Event
    ) -> None:
        """Own the stdio transport and the session for their whole life (anyio wants one task)."""
        argv = guarded_argv(self._argv)
        params = StdioServerParameters(command=argv[0], args=argv[1:], env=self._env)
        # n8n-mcp's stderr goes to a temp file: kept out of our logs, read back when it fails.
        self._stderr = tempfile.TemporaryFile("w+", prefix="n8n-mcp-", suffix=".log")  # noqa: SIM115
        try:
            async with (
                stdio_client(params, errlog=self._stderr) as (read, write),
                ClientSession(read, write, read_timeout_seconds=self._timeout_s) as session,
            ):
                await session.initialize()
                ready.set_result(session)
                await stop.wait()
        except BaseException as e:
            if not ready.done():
                ready.set_exception(e if isinstance(e, Exception) else RuntimeError(str(e)))
            if not isinstance(e, Exception | asyncio.CancelledError):
                raise
            if not isinstance(e, asyncio.CancelledError):
                log.warning("n8n-mcp session ended: %s; stderr: %s", e, self._stderr_tail())

    async def _stop_session(self) -> None:
        holder, stop = self._holder, self._stop
        self._session = self._holder = self._stop = None
        if holder is not None and stop is not None:
            stop.set()
            try:
                await asyncio.wait_for(holder, 10)
            except (TimeoutError, asyncio.CancelledError, Exception):
                holder.cancel()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        try:
            self._stderr.seek(0, os.SEEK_END)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - 2000))
            return self._stderr.read()
        except (OSError, ValueError):
            return ""


def combine(ours: ValidationReport, mcp: McpVerdict | None) -> ValidationReport:
    """Our report plus n8n-mcp's findings; what blocks a deploy is decided by our validator.

    The rule, from benchmarks/validator_bench.py (300 real templates checked against the real
    n8n 2.40.7, 4,131 single-defect copies; numbers in benchmarks/README.md):

    - Our errors always block. On all 1,105 templates n8n creates and activates, ours flags
      0.7 % (real run-time defects n8n does not check at activation); on the 657 it rejects,
      97 %; it catches ≥ 99.9 % of every mutant class (duplicate node ids included).
    - n8n-mcp's errors do NOT block: they flag 12 % of templates n8n accepts (sure false alarms:
      "Code must return data", "Mixed literal text and expression", "requires = prefix", ...),
      catch only 26 % of the templates n8n rejects, 62 % of no-trigger and 16 % of broken
      expressions. Blocking on "ours or n8n-mcp" would add ~11 points of false alarms (each one
      a paid, pointless LLM repair) for no extra catch.
    - They are kept as warnings (code `mcp_finding`, message prefixed "n8n-mcp: "), so the repair
      prompt can show them next to our errors when our validator already failed the workflow.

    `mcp=None` (n8n-mcp not configured or unavailable) returns our issues unchanged.
    """
    issues = list(ours.issues)
    if mcp is None:
        return ValidationReport(issues)
    seen = {(i.node, i.message) for i in issues}
    for finding in mcp.errors:
        node = finding.node if finding.node != "workflow" else None
        if (finding.node, finding.message) in seen:
            continue
        issues.append(
            Issue(
                code=MCP_ISSUE_CODE,
                message=f"n8n-mcp: {finding.message}",
                node=node,
                severity="warning",
            )
        )
    return ValidationReport(issues)
