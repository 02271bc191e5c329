from __future__ import annotations

import re

from slack_bolt import App

from bot.blocks.connect import CONNECT_ACTION, DISCONNECT_ACTION, OPEN_LINK_ACTION
from bot.blocks.credentials import CHOOSE_ACTION as CREDENTIAL_CHOOSE
from bot.blocks.credentials import OPEN_ACTION as CREDENTIAL_OPEN
from bot.blocks.credentials import USE_BOT_ACTION as CREDENTIAL_USE_BOT
from bot.blocks.reviews import APPROVE_ACTION, REJECT_ACTION
from bot.blocks.run_now import CANCEL_ACTION as TEST_RUN_CANCEL
from bot.blocks.run_now import CONFIRM_ACTION as TEST_RUN_CONFIRM
from bot.blocks.thread_replies import CANCEL_ACTION, CONFIRM_ACTION
from bot.blocks.triggers import RUN_ACTION
from bot.listeners.actions.connect import (
    handle_account_connect,
    handle_account_connect_open,
    handle_account_disconnect,
)
from bot.listeners.actions.credentials import (
    handle_credential_choose,
    handle_credential_open,
    handle_credential_use_bot,
)
from bot.listeners.actions.home import handle_home_page, handle_home_project_select
from bot.listeners.actions.insight import (
    handle_explain,
    handle_run_failure,
    handle_runs,
    handle_runs_page,
)
from bot.listeners.actions.lifecycle import (
    handle_delete,
    handle_home_menu,
    handle_pause,
    handle_rename_open,
    handle_resume,
)
from bot.listeners.actions.review import handle_review_approve, handle_review_reject
from bot.listeners.actions.run import handle_run_button
from bot.listeners.actions.thread_reply import handle_thread_edit_cancel, handle_thread_edit_confirm
from bot.listeners.actions.workflow import (
    handle_open_in_n8n,
    handle_rollback_confirm,
    handle_rollback_open,
    handle_rollback_select,
    handle_test_run,
    handle_test_run_cancel,
    handle_test_run_confirm,
    handle_versions,
)


def register(app: App) -> None:
    register_own(app)
    app.action("workflow_versions")(handle_versions)
    app.action("workflow_rollback")(handle_rollback_open)
    app.action("rollback_select")(handle_rollback_select)
    app.action("rollback_confirm")(handle_rollback_confirm)
    app.action("workflow_test_run")(handle_test_run)
    app.action(TEST_RUN_CONFIRM)(handle_test_run_confirm)
    app.action(TEST_RUN_CANCEL)(handle_test_run_cancel)
    app.action("workflow_open_n8n")(handle_open_in_n8n)
    app.action("home_project_select")(handle_home_project_select)
    app.action(re.compile(r"^home_page_(next|prev)$"))(handle_home_page)
    app.action(CONFIRM_ACTION)(handle_thread_edit_confirm)
    app.action(CANCEL_ACTION)(handle_thread_edit_cancel)
    app.action(CREDENTIAL_OPEN)(handle_credential_open)
    app.action(CREDENTIAL_CHOOSE)(handle_credential_choose)
    app.action(CREDENTIAL_USE_BOT)(handle_credential_use_bot)
    app.action(CONNECT_ACTION)(handle_account_connect)
    app.action(OPEN_LINK_ACTION)(handle_account_connect_open)
    app.action(DISCONNECT_ACTION)(handle_account_disconnect)
    app.action(RUN_ACTION)(handle_run_button)
    app.action(APPROVE_ACTION)(handle_review_approve)
    app.action(REJECT_ACTION)(handle_review_reject)


def register_own(app: App) -> None:
    """Owning a workflow: pause, resume, rename, delete, its runs, what it does."""
    app.action("workflow_pause")(handle_pause)
    app.action("workflow_resume")(handle_resume)
    app.action("workflow_rename")(handle_rename_open)
    app.action("workflow_delete")(handle_delete)
    app.action("workflow_runs")(handle_runs)
    app.action("workflow_runs_page")(handle_runs_page)
    app.action("workflow_run_failure")(handle_run_failure)
    app.action("workflow_explain")(handle_explain)
    app.action("home_workflow_menu")(handle_home_menu)
