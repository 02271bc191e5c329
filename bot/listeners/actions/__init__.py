from __future__ import annotations

import re

from slack_bolt import App

from bot.listeners.actions.home import handle_home_page, handle_home_project_select
from bot.listeners.actions.workflow import (
    handle_open_in_n8n,
    handle_rollback_confirm,
    handle_rollback_open,
    handle_rollback_select,
    handle_test_run,
    handle_versions,
)


def register(app: App) -> None:
    app.action("workflow_versions")(handle_versions)
    app.action("workflow_rollback")(handle_rollback_open)
    app.action("rollback_select")(handle_rollback_select)
    app.action("rollback_confirm")(handle_rollback_confirm)
    app.action("workflow_test_run")(handle_test_run)
    app.action("workflow_open_n8n")(handle_open_in_n8n)
    app.action("home_project_select")(handle_home_project_select)
    app.action(re.compile(r"^home_page_(next|prev)$"))(handle_home_page)
