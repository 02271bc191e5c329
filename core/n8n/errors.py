"""One error hierarchy for the n8n boundary, with a single status-to-exception map."""

from __future__ import annotations

from core.kernel.errors import ClixenError


class N8nError(ClixenError):
    """Anything that went wrong talking to n8n."""

    code = "n8n_error"


class N8nConnectionError(N8nError):
    """n8n could not be reached."""

    code = "n8n_unreachable"


class N8nTimeout(N8nConnectionError):
    code = "n8n_timeout"


class N8nUnanswered(N8nTimeout):
    """A call that is not safe to repeat (it creates something) was sent, and n8n did not answer
    it (a timeout, a dropped connection): n8n may or may not have done it. Never sent again
    blindly; the caller looks for what it would have created (`N8nClient.find_marked`)."""

    code = "n8n_unanswered"


class N8nAPIError(N8nError):
    """n8n answered with an error status; `message` is n8n's own explanation."""

    def __init__(self, status: int, message: str, *, method: str = "", path: str = "") -> None:
        self.status = status
        self.message = message
        self.method = method
        self.path = path
        super().__init__(f"n8n answered {status} to {method} {path}: {message}".strip())


class N8nBadRequest(N8nAPIError):
    code = "n8n_bad_request"


class N8nUnauthorized(N8nAPIError):
    code = "n8n_unauthorized"


class N8nNotFound(N8nAPIError):
    code = "n8n_not_found"


class N8nConflict(N8nAPIError):
    code = "n8n_conflict"


class N8nRateLimited(N8nAPIError):
    code = "n8n_rate_limited"


class N8nServerError(N8nAPIError):
    code = "n8n_server_error"


def error_for_status(status: int) -> type[N8nAPIError]:
    """The exception class for an HTTP error status (the one place that knows the mapping)."""
    if status in (401, 403):
        return N8nUnauthorized
    if status == 404:
        return N8nNotFound
    if status == 409:
        return N8nConflict
    if status == 429:
        return N8nRateLimited
    if status >= 500:
        return N8nServerError
    return N8nBadRequest
