"""The n8n public REST API client (API v1 paths common to n8n 1.x and 2.x).

The one place that knows each n8n endpoint. Explicit timeouts; retries only on connection
errors, 429 and 5xx with capped exponential backoff (honouring a capped Retry-After).

A call that creates something (a workflow, a credential) is never sent twice blindly: it is
retried only when it surely did not reach n8n (no connection, 429); after a timeout or a dropped
connection it raises `N8nUnanswered` and the caller looks for what it would have created. A
`deadline` bounds everything one thread asks of n8n within it, retries and backoff included.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from core.kernel.settings import Settings
from core.kernel.transactions import outside_transaction
from core.n8n.errors import (
    N8nAPIError,
    N8nConnectionError,
    N8nNotFound,
    N8nTimeout,
    N8nUnanswered,
    error_for_status,
)
from core.n8n.metering import MeteredTransport, endpoint_of
from core.n8n.payload import strip_read_only

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
MAX_RETRIES = 3
MAX_BACKOFF_S = 8.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Failures after which a request surely never reached n8n: safe to send again, whatever it does.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Statuses after which a call that creates something surely created nothing.
NOT_DONE_STATUSES = frozenset({429})


@dataclass(frozen=True)
class ExecutionPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class ExecutionFailure:
    """Where and why an execution failed, in n8n's words."""

    execution_id: str
    node: str | None
    message: str
    status: str
    details: dict[str, Any] = field(default_factory=dict)


def execution_failure(execution: Mapping[str, Any]) -> ExecutionFailure | None:
    """The failure of an execution (fetched with includeData), or None if it did not fail."""
    status = str(execution.get("status") or "")
    result = ((execution.get("data") or {}).get("resultData")) or {}
    error = result.get("error")
    if status not in ("error", "crashed") and not error:
        return None
    node = result.get("lastNodeExecuted")
    message = "execution failed"
    if isinstance(error, Mapping):
        err_node = error.get("node")
        if isinstance(err_node, Mapping) and err_node.get("name"):
            node = err_node["name"]
        message = str(error.get("message") or error.get("description") or message)
        description = error.get("description")
        if description and str(description) not in message:
            message = f"{message} ({description})"
    elif error:
        message = str(error)
    return ExecutionFailure(
        execution_id=str(execution.get("id")),
        node=str(node) if node else None,
        message=message,
        status=status or "error",
    )


class N8nClient:
    """A synchronous client for one n8n instance, authenticated with its public-API key."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        max_retries: int = MAX_RETRIES,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self._timeout = httpx.Timeout(timeout)
        # Per thread: the monotonic time by which this thread's calls must end (see `deadline`).
        self._local = threading.local()
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"X-N8N-API-KEY": api_key, "Accept": "application/json"},
            timeout=timeout,
            transport=MeteredTransport(transport),
            event_hooks={"request": [guard_request]},
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> N8nClient:
        """A client for the configured n8n; fails fast naming N8N_URL / N8N_API_KEY if unset."""
        settings.require("N8N_URL", "N8N_API_KEY")
        assert settings.n8n_url and settings.n8n_api_key
        return cls(settings.n8n_url, settings.n8n_api_key)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> N8nClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transport -------------------------------------------------------------------------

    @contextlib.contextmanager
    def deadline(self, seconds: float | None) -> Iterator[None]:
        """Within the block, every call this thread makes ends within `seconds` from now,
        retries and backoff included; once it passed, calls raise N8nTimeout at once. None: no
        bound. A nested block never extends an outer one."""
        if seconds is None:
            yield
            return
        outer: float | None = getattr(self._local, "deadline", None)
        end = time.monotonic() + seconds
        self._local.deadline = end if outer is None else min(outer, end)
        try:
            yield
        finally:
            self._local.deadline = outer

    def time_left(self) -> float | None:
        """Seconds left before this thread's `deadline` (None: no deadline)."""
        end: float | None = getattr(self._local, "deadline", None)
        return None if end is None else end - time.monotonic()

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        retry: bool = True,
        idempotent: bool = True,
    ) -> Any:
        """One API call. `idempotent=False` (the call creates something): sent again only when
        it surely did not reach n8n; a timeout or dropped connection raises N8nUnanswered."""
        attempts = self.max_retries + 1 if retry else 1
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}
        for attempt in range(attempts):
            last = attempt == attempts - 1
            timeout = self._call_timeout(method, path)
            try:
                response = self._http.request(
                    method, path, json=json, params=clean_params, timeout=timeout
                )
            except NOT_SENT as e:
                if last or not self._sleep(attempt, None):
                    raise self._unreachable(method, path, e) from e
                continue
            except (httpx.TimeoutException, httpx.TransportError) as e:
                if not idempotent:
                    raise N8nUnanswered(
                        f"n8n at {self.base_url} did not answer {method} {path} "
                        f"({type(e).__name__}); it may or may not have done it"
                    ) from e
                if last or not self._sleep(attempt, None):
                    raise self._unreachable(method, path, e) from e
                continue
            if response.status_code < 400:
                if not response.content:
                    return None
                return response.json()
            may_retry = idempotent or response.status_code in NOT_DONE_STATUSES
            if (
                response.status_code in RETRY_STATUSES
                and may_retry
                and not last
                and self._sleep(attempt, response.headers.get("Retry-After"))
            ):
                continue
            message = _message_of(response)
            if response.status_code == 401:
                # Only the public API key is sent; n8n's own word alone ("unauthorized") does
                # not say which setting to fix.
                message = (
                    f"N8N_API_KEY was refused by n8n at {self.base_url} ({message}): create an "
                    "API key in n8n (Settings → n8n API) and set N8N_API_KEY to it. Nothing was "
                    "changed in n8n."
                )
            raise error_for_status(response.status_code)(
                response.status_code, message, method=method, path=path
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _call_timeout(self, method: str, path: str) -> httpx.Timeout:
        left = self.time_left()
        if left is None:
            return self._timeout
        if left <= 0:
            raise N8nTimeout(
                f"n8n at {self.base_url} did not answer in time (deadline passed before "
                f"{method} {path})"
            )
        read = min(self._timeout.read or left, left)
        return httpx.Timeout(read, connect=min(self._timeout.connect or left, left))

    def _unreachable(self, method: str, path: str, e: Exception) -> N8nConnectionError:
        if isinstance(e, httpx.TimeoutException):
            return N8nTimeout(f"n8n at {self.base_url} timed out on {method} {path}")
        return N8nConnectionError(
            f"cannot reach n8n at {self.base_url} ({type(e).__name__}: {e}); check that it is "
            "running and that N8N_URL points at it"
        )

    def _sleep(self, attempt: int, retry_after: str | None) -> bool:
        """Wait before retry `attempt + 1`; False (no wait) when the deadline comes first."""
        delay = min(MAX_BACKOFF_S, 0.25 * (2**attempt))
        if retry_after:
            with contextlib.suppress(ValueError):
                delay = min(MAX_BACKOFF_S, max(0.0, float(retry_after)))
        left = self.time_left()
        if left is not None and left <= delay:
            return False
        time.sleep(delay)
        return True

    # --- health ----------------------------------------------------------------------------

    def healthz(self) -> bool:
        """True when n8n answers its health check."""
        try:
            response = self._http.get("/healthz", timeout=5.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    # --- workflows -------------------------------------------------------------------------

    def create_workflow(self, workflow: Mapping[str, Any]) -> dict[str, Any]:
        """Create a workflow (inactive); read-only and unknown fields are stripped first.
        Raises N8nUnanswered when n8n may or may not have created it (never sent twice)."""
        result: dict[str, Any] = self._request(
            "POST", "/api/v1/workflows", json=strip_read_only(workflow), idempotent=False
        )
        return result

    def get_workflow(self, workflow_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", f"/api/v1/workflows/{workflow_id}")
        return result

    def update_workflow(self, workflow_id: str, workflow: Mapping[str, Any]) -> dict[str, Any]:
        """Replace a workflow's definition (same n8n id)."""
        result: dict[str, Any] = self._request(
            "PUT", f"/api/v1/workflows/{workflow_id}", json=strip_read_only(workflow)
        )
        return result

    def list_workflows(
        self, *, limit: int = 100, cursor: str | None = None, name: str | None = None
    ) -> dict[str, Any]:
        """One page of workflows (without pinned data); `name`: only those whose name contains
        it (n8n matches with SQL LIKE)."""
        result: dict[str, Any] = self._request(
            "GET",
            "/api/v1/workflows",
            params={"limit": limit, "cursor": cursor, "name": name, "excludePinnedData": "true"},
        )
        return result

    def iter_workflows(self, *, name: str | None = None) -> Iterator[dict[str, Any]]:
        """Every workflow (filtered like `list_workflows`), following the cursor."""
        cursor: str | None = None
        while True:
            page = self.list_workflows(limit=100, cursor=cursor, name=name)
            yield from page.get("data") or []
            cursor = page.get("nextCursor")
            if not cursor:
                return

    def activate(self, workflow_id: str) -> dict[str, Any]:
        """Activate (publish) a workflow; n8n refuses workflows with configuration issues."""
        result: dict[str, Any] = self._request("POST", f"/api/v1/workflows/{workflow_id}/activate")
        return result

    def deactivate(self, workflow_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request(
            "POST", f"/api/v1/workflows/{workflow_id}/deactivate"
        )
        return result

    def delete_workflow(self, workflow_id: str, *, settle_s: float = 20.0) -> None:
        """Delete a workflow, deactivating it first.

        n8n 2.x answers 409 for a published workflow and 500 / "still being unpublished" for a
        while right after deactivation, so this retries with backoff for up to `settle_s`.
        """
        try:
            workflow = self.get_workflow(workflow_id)
        except N8nNotFound:
            return
        if workflow.get("active"):
            self.deactivate(workflow_id)
        deadline = time.monotonic() + settle_s
        delay = 0.25
        while True:
            try:
                self._request("DELETE", f"/api/v1/workflows/{workflow_id}", retry=False)
                return
            except N8nNotFound:
                return
            except N8nAPIError as e:
                if e.status not in (409, 500, 502, 503) or time.monotonic() >= deadline:
                    raise
            time.sleep(delay)
            delay = min(2.0, delay * 2)

    # --- executions ------------------------------------------------------------------------

    def list_executions(
        self,
        *,
        workflow_id: str | None = None,
        status: str | None = None,
        include_data: bool = False,
        limit: int = 20,
        cursor: str | None = None,
    ) -> ExecutionPage:
        """One page of executions, newest first; `next_cursor` fetches the next page."""
        body = self._request(
            "GET",
            "/api/v1/executions",
            params={
                "workflowId": workflow_id,
                "status": status,
                "includeData": "true" if include_data else None,
                "limit": limit,
                "cursor": cursor,
            },
        )
        return ExecutionPage(items=list(body.get("data") or []), next_cursor=body.get("nextCursor"))

    def iter_executions(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every execution matching the filters of `list_executions`, following the cursor."""
        cursor: str | None = None
        while True:
            page = self.list_executions(cursor=cursor, **kwargs)
            yield from page.items
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def get_execution(self, execution_id: str, *, include_data: bool = True) -> dict[str, Any]:
        result: dict[str, Any] = self._request(
            "GET",
            f"/api/v1/executions/{execution_id}",
            params={"includeData": "true" if include_data else None},
        )
        return result

    def wait_for_execution(
        self,
        workflow_id: str,
        *,
        after_id: str | None = None,
        timeout_s: float = 30.0,
        poll_s: float = 0.25,
    ) -> dict[str, Any] | None:
        """The newest finished execution of `workflow_id` newer than `after_id`, with its data.

        Polls `GET /executions` until one finishes or `timeout_s` passes (then None).
        """
        deadline = time.monotonic() + timeout_s
        while True:
            page = self.list_executions(workflow_id=workflow_id, limit=5)
            for item in page.items:
                if after_id is not None and _id_le(str(item.get("id")), after_id):
                    continue
                if item.get("status") in ("running", "waiting", "new") and not item.get("finished"):
                    continue
                if item.get("stoppedAt") or item.get("status") in (
                    "error",
                    "success",
                    "crashed",
                    "canceled",
                ):
                    return self.get_execution(str(item["id"]))
            if time.monotonic() >= deadline:
                return None
            time.sleep(poll_s)

    # --- webhooks --------------------------------------------------------------------------

    def webhook_url(self, path: str) -> str:
        return f"{self.base_url}/webhook/{path.lstrip('/')}"

    def call_webhook(
        self,
        path: str,
        *,
        method: str = "POST",
        json: Any = None,
        wait_registered_s: float = 10.0,
    ) -> httpx.Response:
        """Call a production webhook, waiting out the registration lag right after activation."""
        deadline = time.monotonic() + wait_registered_s
        url = self.webhook_url(path)
        while True:
            outside_transaction("n8n", f"{method} /webhook")
            try:
                response = httpx.request(method, url, json=json, timeout=DEFAULT_TIMEOUT)
            except httpx.HTTPError as e:
                raise N8nConnectionError(f"cannot reach n8n webhook {url}: {e}") from e
            not_registered = response.status_code == 404 and "not registered" in response.text
            if not not_registered or time.monotonic() >= deadline:
                return response
            time.sleep(0.2)

    # --- credentials -----------------------------------------------------------------------

    def create_credential(self, *, name: str, type: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """Create an n8n credential; the returned dict has its `id` (never the data)."""
        result: dict[str, Any] = self._request(
            "POST",
            "/api/v1/credentials",
            json={"name": name, "type": type, "data": dict(data)},
            idempotent=False,
        )
        return result

    def update_credential(
        self,
        credential_id: str,
        *,
        name: str,
        type: str,
        data: Mapping[str, Any],
        partial: bool = False,
    ) -> dict[str, Any]:
        """Replace an n8n credential's name, type and data in place: its id stays, so every
        workflow bound to it uses the new data from its next execution. N8nNotFound if gone.
        `partial`: only the fields given change, the rest (an OAuth2 token n8n holds) is kept
        (n8n 2.x `isPartialData`; a full replace drops the token)."""
        body: dict[str, Any] = {"name": name, "type": type, "data": dict(data)}
        if partial:
            body["isPartialData"] = True
        result: dict[str, Any] = self._request(
            "PATCH", f"/api/v1/credentials/{credential_id}", json=body
        )
        return result

    def iter_credentials(self) -> Iterator[dict[str, Any]]:
        """Every credential n8n holds: `id`, `name`, `type`, `createdAt` (never its data),
        following the cursor."""
        cursor: str | None = None
        while True:
            page: dict[str, Any] = self._request(
                "GET", "/api/v1/credentials", params={"limit": 250, "cursor": cursor}
            )
            yield from page.get("data") or []
            cursor = page.get("nextCursor")
            if not cursor:
                return

    def rename_credential(self, credential_id: str, *, name: str) -> None:
        """Give an n8n credential another name; its data (an OAuth2 token too) is kept."""
        self._request("PATCH", f"/api/v1/credentials/{credential_id}", json={"name": name})

    def delete_credential(self, credential_id: str) -> None:
        try:
            self._request("DELETE", f"/api/v1/credentials/{credential_id}")
        except N8nNotFound:
            return

    def credential_schema(self, credential_type: str) -> dict[str, Any]:
        """The JSON schema of a credential type's data (`properties`, `required`)."""
        result: dict[str, Any] = self._request(
            "GET", f"/api/v1/credentials/schema/{credential_type}"
        )
        return result

    def test_credential(self, credential_id: str) -> dict[str, Any]:
        """n8n's test of a credential: `{"status": "OK"|"Error", "message": ...}`."""
        result: dict[str, Any] = self._request("POST", f"/api/v1/credentials/{credential_id}/test")
        return result


def _id_le(a: str, b: str) -> bool:
    if a.isdigit() and b.isdigit():
        return int(a) <= int(b)
    return a == b


def guard_request(request: httpx.Request) -> None:
    """Every request of an n8n client passes here first: never inside an open transaction."""
    outside_transaction("n8n", endpoint_of(request.method, request.url.path))


def _message_of(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500] or response.reason_phrase
    if isinstance(body, Mapping):
        return str(body.get("message") or body.get("error") or body)[:1000]
    return str(body)[:1000]
