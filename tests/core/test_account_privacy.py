"""Whose account a connected account is (its email) is shown only to the member who connected
it and to the project's owners; every member sees the service and who connected it — in App
Home (the dashboard) and `clixen accounts` alike. Real Postgres, no n8n call."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session, sessionmaker

from core.credentials.accounts import bind_account
from core.kernel.settings import get_settings
from core.kernel.vocabulary import Role
from core.usecases.accounts import accounts
from core.usecases.dashboard import dashboard
from core.workspace.projects import Actor, add_member, create_project

TEAM = "T1"
OWNER, CONNECTOR, EDITOR = Actor(TEAM, "U-owner"), Actor(TEAM, "U-con"), Actor(TEAM, "U-ed")
EMAIL = "connector.private@example.com"


def _project_with_an_account(factory: sessionmaker[Session]) -> int:
    with factory.begin() as s:
        project = create_project(
            session=s, team_id=TEAM, name="main", creator_user_id=OWNER.user_id
        )
        for who in (CONNECTOR, EDITOR):
            add_member(
                session=s,
                project_id=project.id,
                actor_user_id=OWNER.user_id,
                user_id=who.user_id,
                role=Role.editor,
            )
        bind_account(
            s,
            project_id=project.id,
            service="gmail",
            credential_type="gmailOAuth2",
            secret_base="GMAIL",
            user_id=CONNECTOR.user_id,
            n8n_credential_id="cred-1",
            account=EMAIL,
            allowed_hosts=(),
            key="k3y-for-the-privacy-tests-0123456789",
            now=dt.datetime.now(dt.UTC),
        )
        return project.id


def test_an_accounts_email_is_shown_to_whoever_connected_it_and_the_owners_only(
    session_factory: sessionmaker[Session],
) -> None:
    project_id = _project_with_an_account(session_factory)
    seen = {}
    for actor in (OWNER, CONNECTOR, EDITOR):
        _, listed = accounts(session_factory, actor=actor, project="main")
        home = dashboard(
            session_factory, settings=get_settings(), actor=actor, project_id=project_id
        )
        assert [a.account for a in listed] == [a.account for a in home.accounts]
        (seen[actor.user_id],) = listed
    assert seen[OWNER.user_id].account == EMAIL and not seen[OWNER.user_id].account_hidden
    assert seen[CONNECTOR.user_id].account == EMAIL
    other = seen[EDITOR.user_id]
    assert other.account is None and other.account_hidden
    # What every member still sees: the service and who connected it.
    assert (other.service, other.connected_by) == ("gmail", CONNECTOR.user_id)
