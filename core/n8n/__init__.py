"""The n8n boundary: the public REST API client and its error hierarchy."""

from core.n8n.client import (
    ExecutionFailure,
    ExecutionPage,
    N8nClient,
    execution_failure,
)
from core.n8n.errors import (
    N8nAPIError,
    N8nBadRequest,
    N8nConflict,
    N8nConnectionError,
    N8nError,
    N8nNotFound,
    N8nRateLimited,
    N8nServerError,
    N8nTimeout,
    N8nUnanswered,
    N8nUnauthorized,
    error_for_status,
)
from core.n8n.payload import strip_read_only

__all__ = [
    "ExecutionFailure",
    "ExecutionPage",
    "N8nAPIError",
    "N8nBadRequest",
    "N8nClient",
    "N8nConflict",
    "N8nConnectionError",
    "N8nError",
    "N8nNotFound",
    "N8nRateLimited",
    "N8nServerError",
    "N8nTimeout",
    "N8nUnanswered",
    "N8nUnauthorized",
    "error_for_status",
    "execution_failure",
    "strip_read_only",
]
