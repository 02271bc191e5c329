"""Time of connecting an account on the real n8n and Postgres, with the local OAuth2 provider:
opening a link (`open_link`: state checked and used, n8n credential written, consent URL from
n8n), the consent round trip (provider → n8n's callback, n8n exchanges the code), and noticing
it (`finish_connections`: n8n asked, the account bound as a project secret).

    .venv/bin/python benchmarks/connect_bench.py [--runs N]

Uses N8N_URL / N8N_API_KEY and N8N_OWNER_EMAIL / N8N_OWNER_PASSWORD (or .stack/n8n.env); n8n
must run with N8N_SKIP_AUTH_ON_OAUTH_CALLBACK=true. Links are made on a throwaway Postgres
database (created and dropped; CLIXEN_TEST_PG). Prints median and p95 of each step.
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import add_pg_arguments, throwaway_database

from core.connect import create_link, finish_connections, open_link
from core.connect.apps import set_oauth_app
from core.kernel.models import ConnectRequest
from core.kernel.settings import get_settings
from core.n8n import N8nClient
from core.n8n.session import N8nUserSession
from tests.builders import new_project
from tests.doubles.oauth_provider import OAuthProvider

KEY = "k3y-for-the-connect-benchmark-0a1b"


def _stats(label: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    print(
        f"{label}: n={len(samples)} median={statistics.median(samples) * 1000:.0f} ms "
        f"p95={p95 * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    add_pg_arguments(parser)
    args = parser.parse_args()
    settings = get_settings()
    steps: dict[str, list[float]] = {"open link": [], "consent round trip": [], "notice": []}
    with (
        N8nClient.from_settings(settings) as n8n,
        N8nUserSession.from_settings(settings) as n8n_session,
        OAuthProvider() as provider,
        throwaway_database(args.pg, args.pg_url) as factory,
    ):
        with factory.begin() as s:
            set_oauth_app(
                session=s, provider="oauth2", client_id=provider.client_id,
                client_secret=provider.client_secret, key=KEY, actor="bench",
                auth_url=f"{provider.base_url}/authorize", token_url=f"{provider.base_url}/token",
            )  # fmt: skip
        try:
            for i in range(args.runs):
                # A project each: every connection is a first one (a new n8n credential).
                project_id = new_project(factory, team_id="T1", user_id="U1", name=f"p{i}")
                with factory.begin() as s:
                    link = create_link(
                        session=s, team_id="T1", user_id="U1", project_id=project_id,
                        service="oauth2", public_url="https://clixen.example.test",
                    )  # fmt: skip
                t0 = time.perf_counter()
                consent_url = open_link(
                    session_factory=factory, n8n=n8n, n8n_session=n8n_session,
                    state=link.url.split("state=", 1)[1], key=KEY,
                )  # fmt: skip
                t1 = time.perf_counter()
                provider.consent(consent_url)
                t2 = time.perf_counter()
                [done] = finish_connections(
                    session_factory=factory, n8n=n8n, n8n_session=n8n_session, key=KEY
                )
                t3 = time.perf_counter()
                assert done.account.account == provider.email
                steps["open link"].append(t1 - t0)
                steps["consent round trip"].append(t2 - t1)
                steps["notice"].append(t3 - t2)
        finally:
            with factory() as s:
                ids = [c for (c,) in s.query(ConnectRequest.n8n_credential_id) if c]
            for cid in ids:
                n8n.delete_credential(cid)
    for label, samples in steps.items():
        _stats(label, samples)


if __name__ == "__main__":
    main()
