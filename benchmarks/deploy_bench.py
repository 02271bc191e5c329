"""Time of `deploy_version` (first create, then updates) and `rollback_to` on the real n8n.

    .venv/bin/python benchmarks/deploy_bench.py [--versions N] [--pg "host=127.0.0.1 user=postgres"]

Uses N8N_URL / N8N_API_KEY (or .stack/n8n.env) and a throwaway Postgres database it creates and
drops. Each deploy is the full path: validation, quota, version row, n8n create/update, activate,
read-back check, bookkeeping. Prints median and p95 per kind; the n8n workflow is deleted after.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from typing import Any

import psycopg

from core import db
from core.deploy import create_workflow_record, delete_workflow, deploy_version, rollback_to
from core.n8n import N8nClient
from core.projects import Actor, create_project
from core.settings import get_settings

ACTOR = Actor("bench", "bench-user")


def workflow(label: str) -> dict[str, Any]:
    return {
        "name": "bench",
        "nodes": [
            {
                "name": "Every hour",
                "type": "n8n-nodes-base.scheduleTrigger",
                "typeVersion": 1.2,
                "position": [0, 0],
                "parameters": {"rule": {"interval": [{"field": "hours"}]}},
            },
            {
                "name": "Label",
                "type": "n8n-nodes-base.set",
                "typeVersion": 3.4,
                "position": [220, 0],
                "parameters": {
                    "assignments": {
                        "assignments": [{"id": "a", "name": "l", "value": label, "type": "string"}]
                    },
                    "options": {},
                },
            },
        ],
        "connections": {"Every hour": {"main": [[{"node": "Label", "type": "main", "index": 0}]]}},
        "settings": {"executionOrder": "v1"},
    }


def p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--versions", type=int, default=20)
    ap.add_argument("--pg", default="host=127.0.0.1 port=5432 user=postgres dbname=postgres")
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    args = ap.parse_args()

    name = f"clixen_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{args.pg_url}/{name}"
    engine = db.make_engine(url)
    try:
        db.upgrade(url)
        factory = db.make_session_factory(engine)
        with factory.begin() as s:
            project = create_project(
                session=s, team_id=ACTOR.team_id, name="bench", creator_user_id=ACTOR.user_id
            )
            project.daily_deploy_limit = args.versions + 10
            wid = create_workflow_record(
                session=s, project_id=project.id, name="bench", created_by=ACTOR.user_id
            ).id
        times: dict[str, list[float]] = {"create": [], "update": [], "rollback": []}
        with N8nClient.from_settings(get_settings()) as n8n:
            try:
                for i in range(args.versions):
                    t = time.perf_counter()
                    deploy_version(
                        session_factory=factory,
                        n8n=n8n,
                        workflow_id=wid,
                        json_payload=workflow(f"v{i + 1}"),
                        source="edit",
                        actor=ACTOR,
                    )
                    times["create" if i == 0 else "update"].append(time.perf_counter() - t)
                for i in range(min(10, args.versions - 1)):
                    t = time.perf_counter()
                    rollback_to(
                        session_factory=factory,
                        n8n=n8n,
                        workflow_id=wid,
                        version=i + 1,
                        actor=ACTOR,
                    )
                    times["rollback"].append(time.perf_counter() - t)
            finally:
                delete_workflow(session_factory=factory, n8n=n8n, workflow_id=wid, actor=ACTOR)
        for kind, xs in times.items():
            if xs:
                print(
                    f"{kind:<9} n={len(xs):<3} median {statistics.median(xs) * 1000:6.1f} ms"
                    f"   p95 {p95(xs) * 1000:6.1f} ms"
                )
    finally:
        engine.dispose()
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
