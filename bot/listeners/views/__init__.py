from __future__ import annotations

from slack_bolt import App

from bot.blocks.credentials import SUBMIT_CALLBACK as CREDENTIAL_CALLBACK
from bot.blocks.lifecycle import DELETE_CALLBACK, RENAME_CALLBACK
from bot.blocks.modals import SECRET_CALLBACK
from bot.blocks.reviews import REJECT_CALLBACK
from bot.blocks.triggers import RUN_INPUTS_CALLBACK, RUN_PICK_CALLBACK
from bot.listeners.actions.lifecycle import handle_delete_submission, handle_rename_submission
from bot.listeners.actions.review import handle_review_reject_submission
from bot.listeners.views.credentials import handle_credential_submission
from bot.listeners.views.run import handle_run_inputs, handle_run_pick
from bot.listeners.views.secret import handle_secret_submission


def register(app: App) -> None:
    app.view(SECRET_CALLBACK)(handle_secret_submission)
    app.view(CREDENTIAL_CALLBACK)(handle_credential_submission)
    app.view(RUN_PICK_CALLBACK)(handle_run_pick)
    app.view(RUN_INPUTS_CALLBACK)(handle_run_inputs)
    app.view(RENAME_CALLBACK)(handle_rename_submission)
    app.view(DELETE_CALLBACK)(handle_delete_submission)
    app.view(REJECT_CALLBACK)(handle_review_reject_submission)
