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

from common import add_pg_arguments, pct, throwaway_database

from core.deploy import create_workflow_record, delete_workflow, deploy_version, rollback_to
from core.kernel.settings import get_settings
from core.n8n import N8nClient
from core.workspace.projects import Actor
from tests.builders import new_project
from tests.workflows import labelled_schedule

ACTOR = Actor("bench", "bench-user")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--versions", type=int, default=20)
    add_pg_arguments(ap)
    args = ap.parse_args()

    with throwaway_database(args.pg, args.pg_url) as factory:
        project_id = new_project(
            factory,
            team_id=ACTOR.team_id,
            user_id=ACTOR.user_id,
            name="bench",
            daily_deploy_limit=args.versions + 10,
        )
        with factory.begin() as s:
            wid = create_workflow_record(
                session=s, project_id=project_id, name="bench", created_by=ACTOR.user_id
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
                        json_payload=labelled_schedule(f"v{i + 1}", "bench"),
                        source="edit",
                        actor=ACTOR,
                        settings=get_settings(),
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
                        settings=get_settings(),
                    )
                    times["rollback"].append(time.perf_counter() - t)
            finally:
                delete_workflow(session_factory=factory, n8n=n8n, workflow_id=wid, actor=ACTOR)
        for kind, xs in times.items():
            if xs:
                print(
                    f"{kind:<9} n={len(xs):<3} median {statistics.median(xs) * 1000:6.1f} ms"
                    f"   p95 {pct(xs, 0.95) * 1000:6.1f} ms"
                )


if __name__ == "__main__":
    main()
