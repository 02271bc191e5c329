"""Every API parameter is parsed strictly: anything but the documented form answers 400 with the
API's JSON error, never a 500 and never a silently different request."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.api.test_api import World, _add_workflows, _error, _world


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    return _world(session_factory, None)


def _cursor(payload: object) -> str:
    raw = json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _invalid(resp: object, what: str) -> None:
    assert resp.status_code == 400, (what, resp.status_code, resp.text)  # type: ignore[attr-defined]
    error = _error(resp)
    assert error["code"] == "invalid_input", what
    assert error["message"], what


@pytest.mark.parametrize(
    "query",
    [
        "limit=%C2%B2",  # "²": a Unicode digit (str.isdigit() says yes, int() says no)
        "limit=%D9%A3",  # "٣": an Arabic-Indic digit, which int() would accept
        "limit=-1",
        "limit=0",
        "limit=101",
        "limit=1e3",
        "limit=",
        "limit=+5",
        "limit=%205",
        "limit=5.0",
        "limit=99999999999999999999999",
        "limit=5&limit=6",
        "cursor=",
        "cursor=garbage",
        "cursor=%E2%82%AC%E2%82%AC",
        "cursor=" + _cursor({"d": "next", "i": 10**30}),
        "cursor=" + _cursor({"d": "next", "i": -5}),
        "cursor=" + _cursor({"d": "next", "i": True}),
        "cursor=" + _cursor({"d": "next", "i": 1.5}),
        "cursor=" + _cursor({"d": "next", "i": "7"}),
        "cursor=" + _cursor({"d": "sideways", "i": 7}),
        "cursor=" + _cursor([1, 2]),
    ],
)
def test_bad_list_parameters_answer_400(world: World, query: str) -> None:
    _add_workflows(world, world.project_a, "one", "two")
    _invalid(world.http.get(f"/api/v1/workflows?{query}", headers=world.auth()), query)


def test_good_list_parameters_still_work(world: World) -> None:
    _add_workflows(world, world.project_a, "one", "two", "three")
    page = world.http.get("/api/v1/workflows?limit=100", headers=world.auth())
    assert page.status_code == 200 and len(page.json()["items"]) == 3
    first = world.http.get("/api/v1/workflows?limit=1", headers=world.auth()).json()
    nxt = world.http.get(
        "/api/v1/workflows",
        params={"limit": "1", "cursor": first["next_cursor"]},
        headers=world.auth(),
    )
    assert [w["name"] for w in nxt.json()["items"]] == ["two"]


@pytest.mark.parametrize(
    "ident",
    ["abc", "1.0", "-1", "0", "%C2%B2", "%D9%A3", "1e3", "99999999999999999999999", "+1", "%201"],
)
@pytest.mark.parametrize("endpoint", ["versions", "rollback"])
def test_a_workflow_id_that_is_no_id_answers_400(world: World, ident: str, endpoint: str) -> None:
    url = f"/api/v1/workflows/{ident}/{endpoint}"
    if endpoint == "versions":
        resp = world.http.get(url, headers=world.auth())
    else:
        resp = world.http.post(url, json={"version": 1}, headers=world.auth())
    _invalid(resp, url)


@pytest.mark.parametrize(
    "body",
    [
        b'{"version": true}',
        b'{"version": "1"}',
        b'{"version": 1.0}',
        b'{"version": 0}',
        b'{"version": -3}',
        b'{"version": 99999999999999999999999}',
        b'{"version": null}',
        b"{}",
        b'{"version": NaN}',
        b'{"version": 1, "version": 2}',
        b"[" * 5000 + b"]" * 5000,
        b'{"a":' * 5000 + b"1" + b"}" * 5000,
    ],
)
def test_a_bad_rollback_body_answers_400(world: World, body: bytes) -> None:
    (wf,) = _add_workflows(world, world.project_a, "one")
    resp = world.http.post(
        f"/api/v1/workflows/{wf}/rollback",
        content=body,
        headers=world.auth() | {"Content-Type": "application/json"},
    )
    assert resp.status_code == 400, (body[:40], resp.status_code, resp.text)
    assert _error(resp)["code"] in ("invalid_input", "malformed_json")


@pytest.mark.parametrize("key", ["", "x" * 121, "two words", "caf\u00e9"])
def test_a_bad_idempotency_key_answers_400(world: World, key: str) -> None:
    (wf,) = _add_workflows(world, world.project_a, "one")
    resp = world.http.post(
        f"/api/v1/workflows/{wf}/rollback",
        json={"version": 1},
        headers=world.auth() | {"Idempotency-Key": key.encode()},  # type: ignore[dict-item]
    )
    _invalid(resp, repr(key))
