"""The HTTP API: project-scoped tokens, clear JSON errors, size limits, CORS and secure headers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from api import create_api_app
from core.deploy import create_workflow_record, deploy_version
from core.kernel.models import Workflow, WorkflowVersion
from core.kernel.settings import Settings, get_settings
from core.kernel.vocabulary import Role
from core.n8n import N8nClient
from core.usecases.reviews import set_review
from core.workspace import api_tokens
from core.workspace.projects import Actor, add_member, create_project, remove_member
from tests.builders import delete_deployed
from tests.conftest import N8nStack
from tests.workflows import label_of, labelled_schedule

ALLOWED = "https://ops.example.com"
OWNER_A, OWNER_B = Actor("T1", "U-alice"), Actor("T2", "U-bob")


@dataclass
class World:
    http: TestClient
    project_a: int
    project_b: int
    token_a: str
    token_b: str
    factory: sessionmaker[Session]

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token_a}"}


def _settings() -> Settings:
    return Settings(_env_file=None, CLIXEN_ALLOWED_ORIGINS=f"{ALLOWED}, https://b.example.com")  # type: ignore[call-arg]


@pytest.fixture
def n8n_client(n8n: N8nStack, session_factory: sessionmaker[Session]) -> Iterator[N8nClient]:
    with N8nClient(n8n.url, n8n.api_key) as c:
        yield c
        delete_deployed(session_factory, c)


def _world(factory: sessionmaker[Session], n8n: N8nClient | None) -> World:
    with factory.begin() as s:
        a = create_project(session=s, team_id="T1", name="alpha", creator_user_id=OWNER_A.user_id)
        b = create_project(session=s, team_id="T2", name="beta", creator_user_id=OWNER_B.user_id)
        s.flush()
        ta = api_tokens.create_token(session=s, project_id=a.id, name="ci", created_by="U-alice")
        tb = api_tokens.create_token(session=s, project_id=b.id, name="ci", created_by="U-bob")
        ids = (a.id, b.id)
    if n8n is None:
        # These tests never reach n8n; a client that points nowhere proves it.
        app = create_api_app(
            session_factory=factory,
            settings=_settings(),
            n8n_factory=lambda: N8nClient("http://127.0.0.1:9", "unused"),
        )
    else:
        app = create_api_app(session_factory=factory, settings=_settings(), n8n=n8n)
    return World(TestClient(app), ids[0], ids[1], ta.raw, tb.raw, factory)


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    return _world(session_factory, None)


def _add_workflows(w: World, project_id: int, *names: str) -> list[int]:
    with w.factory.begin() as s:
        return [
            create_workflow_record(
                session=s, project_id=project_id, name=n, created_by="U-alice"
            ).id
            for n in names
        ]


def _error(resp: Any) -> dict[str, Any]:
    body = resp.json()
    assert set(body) == {"error"}
    return dict(body["error"])


def test_requests_without_a_valid_token_are_refused(world: World) -> None:
    for headers in (
        {},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer clx_not-a-real-token"},
        {"Authorization": "Bearer clx_" + "A" * 43},
    ):
        resp = world.http.get("/api/v1/workflows", headers=headers)
        assert resp.status_code == 401
        assert _error(resp)["code"] == "unauthorized"
        assert resp.headers["www-authenticate"] == "Bearer"


def test_revoked_token_stops_working(world: World) -> None:
    assert world.http.get("/api/v1/workflows", headers=world.auth()).status_code == 200
    with world.factory.begin() as s:
        _, token = api_tokens.authenticate(session=s, raw_token=world.token_a)
        assert token.last_used_at is not None
        api_tokens.revoke(session=s, project_id=world.project_a, token_id=token.id)
        stored = [
            t.token_hash for t in api_tokens.list_tokens(session=s, project_id=world.project_a)
        ]
    assert world.token_a not in stored  # only the hash is kept
    assert world.http.get("/api/v1/workflows", headers=world.auth()).status_code == 401


def test_token_stops_working_when_its_creator_loses_access(world: World) -> None:
    """A token acts with its creator's rights: demoted below a route's need, or removed from the
    project, its creator's token is refused there, reads included."""
    (wf,) = _add_workflows(world, world.project_a, "one")
    with world.factory.begin() as s:
        add_member(
            session=s,
            project_id=world.project_a,
            actor_user_id=OWNER_A.user_id,
            user_id="U-carol",
            role=Role.editor,
        )
        carol = api_tokens.create_token(
            session=s, project_id=world.project_a, name="carol", created_by="U-carol"
        ).raw
    versions, rollback = f"/api/v1/workflows/{wf}/versions", f"/api/v1/workflows/{wf}/rollback"
    assert world.http.get("/api/v1/workflows", headers=world.auth(carol)).status_code == 200

    with world.factory.begin() as s:
        add_member(
            session=s,
            project_id=world.project_a,
            actor_user_id=OWNER_A.user_id,
            user_id="U-carol",
            role=Role.viewer,
        )
    assert world.http.get(versions, headers=world.auth(carol)).status_code == 200
    # A viewer's token cannot roll back; refused before the body is even read.
    denied = world.http.post(
        rollback, content=b"not json", headers=world.auth(carol) | {"Content-Type": "text/plain"}
    )
    assert denied.status_code == 403 and _error(denied)["code"] == "forbidden"
    assert "U-carol" in _error(denied)["message"]

    with world.factory.begin() as s:
        remove_member(
            session=s, project_id=world.project_a, actor_user_id=OWNER_A.user_id, user_id="U-carol"
        )
    for url in ("/api/v1/workflows", versions):
        resp = world.http.get(url, headers=world.auth(carol))
        assert resp.status_code == 403, url
        assert "no longer" in _error(resp)["message"]
    # The owner's token is untouched.
    assert world.http.get(versions, headers=world.auth()).status_code == 200


def test_a_read_only_token_lists_but_cannot_roll_back(world: World) -> None:
    """An owner's read-only token (`clixen token create --read-only`) acts as a viewer."""
    (wf,) = _add_workflows(world, world.project_a, "one")
    with world.factory.begin() as s:
        reader = api_tokens.create_token(
            session=s, project_id=world.project_a, name="dashboard", created_by="U-alice",
            read_only=True,
        )  # fmt: skip
    assert reader.read_only
    assert world.http.get("/api/v1/workflows", headers=world.auth(reader.raw)).status_code == 200
    versions = world.http.get(f"/api/v1/workflows/{wf}/versions", headers=world.auth(reader.raw))
    assert versions.status_code == 200
    denied = world.http.post(
        f"/api/v1/workflows/{wf}/rollback", json={"version": 1}, headers=world.auth(reader.raw)
    )
    assert denied.status_code == 403 and _error(denied)["code"] == "forbidden"
    assert "read-only" in _error(denied)["message"]
    # The same owner's ordinary token is not read-only: it gets past the scope check.
    allowed = world.http.post(
        f"/api/v1/workflows/{wf}/rollback", json={"version": 1}, headers=world.auth()
    )
    assert allowed.status_code != 403


def test_workflow_list_is_cursor_paged_and_project_scoped(world: World) -> None:
    _add_workflows(world, world.project_a, "one", "two", "three")
    _add_workflows(world, world.project_b, "secret beta flow")
    first = world.http.get("/api/v1/workflows?limit=2", headers=world.auth())
    assert first.status_code == 200
    page = first.json()
    assert [w["name"] for w in page["items"]] == ["three", "two"]
    assert page["prev_cursor"] is None and page["next_cursor"]
    second = world.http.get(
        "/api/v1/workflows",
        params={"limit": 2, "cursor": page["next_cursor"]},
        headers=world.auth(),
    ).json()
    assert [w["name"] for w in second["items"]] == ["one"]
    assert second["next_cursor"] is None
    b_page = world.http.get("/api/v1/workflows", headers=world.auth(world.token_b)).json()
    assert [w["name"] for w in b_page["items"]] == ["secret beta flow"]
    bad = world.http.get("/api/v1/workflows?cursor=garbage", headers=world.auth())
    assert bad.status_code == 400 and _error(bad)["code"] == "invalid_input"
    assert world.http.get("/api/v1/workflows?limit=x", headers=world.auth()).status_code == 400


def test_another_projects_workflow_looks_like_it_does_not_exist(world: World) -> None:
    (b_wf,) = _add_workflows(world, world.project_b, "beta flow")
    missing = world.http.get("/api/v1/workflows/999999/versions", headers=world.auth())
    foreign = world.http.get(f"/api/v1/workflows/{b_wf}/versions", headers=world.auth())
    assert missing.status_code == foreign.status_code == 404
    assert _error(foreign)["code"] == "not_found"
    assert _error(foreign)["message"] == f"There is no workflow #{b_wf}."
    post = world.http.post(
        f"/api/v1/workflows/{b_wf}/rollback", json={"version": 1}, headers=world.auth()
    )
    assert post.status_code == 404 and _error(post)["code"] == "not_found"
    own = world.http.get(f"/api/v1/workflows/{b_wf}/versions", headers=world.auth(world.token_b))
    assert own.status_code == 200 and own.json()["items"] == []


def test_oversized_bodies_get_413(world: World) -> None:
    (wf,) = _add_workflows(world, world.project_a, "one")
    url = f"/api/v1/workflows/{wf}/rollback"
    big = b'{"version": 1, "pad": "' + b"x" * 70_000 + b'"}'
    headers = world.auth() | {"Content-Type": "application/json"}
    resp = world.http.post(url, content=big, headers=headers)
    assert resp.status_code == 413
    assert _error(resp)["code"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while streaming
        for _ in range(20):
            yield b"x" * 8192

    streamed = world.http.post(url, content=chunks(), headers=headers)
    assert streamed.status_code == 413
    assert _error(streamed)["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("content", "ctype", "status", "code"),
    [
        (b'{"version": 1', "application/json", 400, "malformed_json"),
        (b"[1]", "application/json", 400, "malformed_json"),
        (b"\xff\xfe", "application/json", 400, "malformed_json"),
        (b'{"version": "1"}', "application/json", 400, "invalid_input"),
        (b'{"version": true}', "application/json", 400, "invalid_input"),
        (b"version=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ],
)
def test_bad_rollback_bodies_get_clear_4xx(
    world: World, content: bytes, ctype: str, status: int, code: str
) -> None:
    (wf,) = _add_workflows(world, world.project_a, "one")
    resp = world.http.post(
        f"/api/v1/workflows/{wf}/rollback",
        content=content,
        headers=world.auth() | {"Content-Type": ctype},
    )
    assert resp.status_code == status
    assert _error(resp)["code"] == code


def test_unknown_routes_and_methods_answer_json(world: World) -> None:
    resp = world.http.get("/api/v1/nope", headers=world.auth())
    assert resp.status_code == 404 and _error(resp)["code"] == "not_found"
    resp = world.http.delete("/api/v1/workflows", headers=world.auth())
    assert resp.status_code == 405 and _error(resp)["code"] == "method_not_allowed"


def _preflight(w: World, origin: str) -> Any:
    return w.http.options(
        "/api/v1/workflows",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "Authorization",
        },
    )


def test_cors_preflight_from_an_allowed_origin(world: World) -> None:
    resp = _preflight(world, ALLOWED)
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == ALLOWED
    assert "GET" in resp.headers["access-control-allow-methods"]
    assert "authorization" in resp.headers["access-control-allow-headers"].lower()
    simple = world.http.get("/api/v1/workflows", headers=world.auth() | {"Origin": ALLOWED})
    assert simple.headers["access-control-allow-origin"] == ALLOWED


def test_cors_preflight_from_a_refused_origin(world: World) -> None:
    resp = _preflight(world, "https://evil.example.net")
    assert resp.status_code == 400
    assert "access-control-allow-origin" not in resp.headers
    simple = world.http.get(
        "/api/v1/workflows", headers=world.auth() | {"Origin": "https://evil.example.net"}
    )
    assert "access-control-allow-origin" not in simple.headers


def test_secure_headers_on_every_response(world: World) -> None:
    for resp in (
        world.http.get("/api/v1/workflows", headers=world.auth()),
        world.http.get("/api/v1/workflows"),
        world.http.get("/api/v1/nope"),
        _preflight(world, ALLOWED),
        _preflight(world, "https://evil.example.net"),
    ):
        h = resp.headers
        assert h["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert h["strict-transport-security"].startswith("max-age=")
        assert h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "no-referrer"
        assert h["x-frame-options"] == "DENY"


def test_rollback_through_the_api_redeploys_an_earlier_version(
    session_factory: sessionmaker[Session], n8n_client: N8nClient
) -> None:
    w = _world(session_factory, n8n_client)
    (wf_id,) = _add_workflows(w, w.project_a, "digest")
    for label in ("first", "second"):
        deploy_version(
            session_factory=session_factory,
            n8n=n8n_client,
            workflow_id=wf_id,
            json_payload=labelled_schedule(label, "api rollback"),
            source="import",
            actor=OWNER_A,
            settings=get_settings(),
        )
    versions = w.http.get(f"/api/v1/workflows/{wf_id}/versions", headers=w.auth()).json()
    assert [(v["version"], v["status"]) for v in versions["items"]] == [
        (1, "superseded"),
        (2, "deployed"),
    ]
    url = f"/api/v1/workflows/{wf_id}/rollback"
    headers = w.auth() | {"Idempotency-Key": "click-1"}
    resp = w.http.post(url, json={"version": 1}, headers=headers)
    assert resp.status_code == 200, resp.text
    assert resp.json()["version"]["version"] == 3
    assert resp.json()["version"]["rolled_back_from"] == 1
    # A retried request with the same key does not deploy again.
    again = w.http.post(url, json={"version": 1}, headers=headers)
    assert again.json()["version"]["version"] == 3
    with session_factory() as s:
        wf = s.get(Workflow, wf_id)
        assert wf is not None and wf.head_version == 3
        n8n_id = wf.n8n_workflow_id
        count = len(
            list(s.scalars(select(WorkflowVersion).where(WorkflowVersion.workflow_id == wf_id)))
        )
    assert count == 3
    assert n8n_id is not None
    assert label_of(n8n_client.get_workflow(n8n_id)) == "first"
    # Rolling back to the running version is refused plainly.
    same = w.http.post(url, json={"version": 3}, headers=w.auth())
    assert same.status_code == 400 and "already the running version" in _error(same)["message"]
    # Project B's token cannot roll back project A's workflow.
    other = w.http.post(url, json={"version": 2}, headers=w.auth(w.token_b))
    assert other.status_code == 404
    # With review before live on, a rollback is accepted and waits for an owner: n8n unchanged.
    set_review(session_factory, actor=OWNER_A, project=w.project_a, on=True)
    waits = w.http.post(url, json={"version": 2}, headers=w.auth())
    assert waits.status_code == 202 and _error(waits)["code"] == "review_pending"
    assert "waits for a project owner's approval (review #" in _error(waits)["message"]
    assert label_of(n8n_client.get_workflow(n8n_id)) == "first"
