"""Strict API parameters: ASCII digits only, documented ranges, each given once; JSON bodies with
unique keys and no NaN/Infinity. Anything else is `InvalidInput` (400), never a 500."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from core.deploy import workflows
from core.kernel.errors import ClixenError, InvalidInput

if TYPE_CHECKING:
    pass


# --- parameters: strict (ASCII digits only, documented ranges, each given once) ---------------

MAX_WORKFLOW_ID = 2**63 - 1  # workflow ids are Postgres bigints
MAX_VERSION = 2**31 - 1  # version numbers are Postgres integers
DEFAULT_PAGE_LIMIT = 20
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,120}")  # printable ASCII, no spaces


def whole_number(raw: str, *, low: int, high: int, error: str) -> int:
    """`raw` as an int when it is only ASCII digits and within [low, high]; InvalidInput with
    `error` otherwise (so "²", "-1", "1e3", " 5", "+5" and "" are all refused, never guessed)."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(high)):
        raise InvalidInput(error)
    value = int(raw)
    if not low <= value <= high:
        raise InvalidInput(error)
    return value


def query_param(request: Request, name: str) -> str | None:
    """The query parameter's one value (None when absent); InvalidInput when given twice."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise InvalidInput(f"Give {name} once.")
    return values[0] if values else None


def page_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE_LIMIT
    high = workflows.MAX_PAGE_SIZE
    return whole_number(raw, low=1, high=high, error=f"limit must be a whole number 1 to {high}.")


def page_cursor(raw: str | None) -> str | None:
    """The cursor as sent (core checks it is one of ours); an empty one is refused."""
    if raw == "":
        raise InvalidInput("cursor is empty: leave it out for the first page.")
    return raw


def workflow_id_of(request: Request) -> int:
    return whole_number(
        request.path_params["workflow_id"],
        low=1,
        high=MAX_WORKFLOW_ID,
        error="A workflow id is a whole number (1 or more), as in /api/v1/workflows/42/versions.",
    )


def rollback_version(body: dict[str, Any]) -> int:
    """`N` of the rollback body `{"version": N}`: a JSON integer (not true, "1" or 1.0)."""
    version = body.get("version")
    if set(body) != {"version"} or type(version) is not int or not 1 <= version <= MAX_VERSION:
        raise InvalidInput('Send {"version": N} with N a version number (1 or more).')
    return version


def idempotency_key_of(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidInput("Idempotency-Key must be 1 to 120 printable ASCII characters.")
    return key


class _MalformedJSON(ClixenError):
    code = "malformed_json"


class _UnsupportedMediaType(ClixenError):
    code = "unsupported_media_type"


async def json_body(request: Request) -> dict[str, Any]:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise _UnsupportedMediaType("Send the body as JSON (Content-Type: application/json).")
    raw = await request.body()
    try:
        body = json.loads(raw, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise _MalformedJSON(f"The body is not valid JSON: {getattr(e, 'msg', e)}.") from e
    except RecursionError as e:
        raise _MalformedJSON("The body's JSON is nested too deeply.") from e
    if not isinstance(body, dict):
        raise _MalformedJSON("The body must be a JSON object.")
    return body


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    body = dict(pairs)
    if len(body) != len(pairs):
        raise _MalformedJSON("The body's JSON gives a key twice.")
    return body


def _no_constant(name: str) -> Any:
    raise _MalformedJSON(f"The body's JSON has {name}, which JSON does not allow.")
