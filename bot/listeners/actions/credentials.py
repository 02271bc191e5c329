"""The buttons of a run waiting for credentials: "Add … credential" opens the form built from the
credential type's fields; the select uses one of the project's secrets of that type; "Post as
Clixen" lets an owner give the bot's token. Values are untrusted: core checks every id and role."""

from __future__ import annotations

from bot.blocks.credentials import credential_modal, parse_ask_value, parse_choice_value
from bot.channels import join_channels
from bot.listeners.context import SlackRequest, acked
from bot.run_threads import give_credentials
from core.credentials.needs import credential_fields
from core.pipeline.resume import credential_form_project, post_as_bot


@acked()
def handle_credential_open(request: SlackRequest) -> None:
    run_id, node, ctype = parse_ask_value(request.payload["value"])
    services = request.services
    project_name = credential_form_project(
        services.session_factory, run_id=run_id, team_id=request.team, user_id=request.user
    )
    fields = credential_fields(services.require_n8n(), ctype)  # from n8n itself
    request.client.views_open(
        trigger_id=request.body["trigger_id"],
        view=credential_modal(
            run_id=run_id,
            node=node,
            credential_type=ctype,
            project_name=project_name,
            fields=fields,
        ),
    )


@acked(pool="runs")
def handle_credential_use_bot(request: SlackRequest) -> None:
    """The owner allowed the project's workflows to post as the Clixen bot: its token becomes the
    project's slackApi secret, the bot joins the workflow's public channels, the run resumes."""
    run_id, node, _ = parse_ask_value(request.payload["value"])
    services = request.services
    given = post_as_bot(
        services.require_pipeline(),
        run_id=run_id,
        node=node,
        team_id=request.team,
        user_id=request.user,
        token=services.settings.slack_bot_token or "",
    )
    notes = join_channels(request.client, given.channels)
    if notes and given.channel:
        request.client.chat_postMessage(
            channel=given.channel, thread_ts=given.thread_ts, text="\n".join(notes)
        )
    give_credentials(
        services,
        request.client,
        run_id=run_id,
        team_id=request.team,
        user_id=request.user,
        chosen=given.chosen,
    )


@acked(pool="runs")
def handle_credential_choose(request: SlackRequest) -> None:
    run_id, node, secret = parse_choice_value(request.payload["selected_option"]["value"])
    give_credentials(
        request.services,
        request.client,
        run_id=run_id,
        team_id=request.team,
        user_id=request.user,
        chosen={node: secret},
    )
