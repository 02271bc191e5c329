"""Workflow pictures in a Slack thread: which picture each moment gets (a run's summary, a test
run, a rollback), gathered through core and drawn by `core.graph`, and the upload itself (also
of the pictures the scheduler draws, through `bot.notifier`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from core.deploy.workflows import get_version, list_versions
from core.graph import Layout, diff_marks, execution_marks, layout_workflow
from core.kernel.vocabulary import VersionStatus

log = logging.getLogger(__name__)


def version_layout(session: Session, *, workflow_id: int, version: int, title: str) -> Layout:
    """Version `version` of the workflow; when it replaced a deployed version (an edit, a
    rollback, a repair), the nodes added, removed and changed since that one are marked."""
    payload = dict(
        get_version(session=session, workflow_id=workflow_id, version=version).json_payload
    )
    earlier = [
        v
        for v in list_versions(session=session, workflow_id=workflow_id)
        if v.version < version and v.status in (VersionStatus.deployed, VersionStatus.superseded)
    ]
    if not earlier:
        return layout_workflow(payload, title=title)
    before = dict(max(earlier, key=lambda v: v.version).json_payload)
    picture, marks = diff_marks(before, payload)
    return layout_workflow(picture, marks=marks, title=title)


def execution_layout(
    workflow: Mapping[str, Any], execution: Mapping[str, Any], *, title: str
) -> Layout:
    """The workflow with what the execution did to each node: ran, failed (n8n's message), not
    reached."""
    return layout_workflow(workflow, marks=execution_marks(workflow, execution), title=title)


def post_picture(
    client: WebClient,
    *,
    channel: str,
    thread_ts: str | None,
    layout: Layout,
    filename: str,
    alt_text: str,
) -> None:
    """Draw the picture and upload it into the thread; a failure is logged, not raised (the
    message beside it already says what happened in text)."""
    from core.graph import render_png

    try:
        png = render_png(layout)
    except Exception:
        log.warning("could not draw the workflow picture", exc_info=True)
        return
    upload_png(
        client,
        channel=channel,
        thread_ts=thread_ts,
        png=png,
        filename=filename,
        title=" ".join(layout.title) or filename,
        alt_text=alt_text,
    )


def upload_png(
    client: WebClient,
    *,
    channel: str,
    thread_ts: str | None,
    png: bytes,
    filename: str,
    title: str,
    alt_text: str,
) -> None:
    """Upload a drawn picture into the thread (files upload v2); a failed upload is logged, not
    raised."""
    try:
        client.files_upload_v2(
            channel=channel,
            thread_ts=thread_ts,
            content=png,
            filename=filename,
            title=title or filename,
            alt_txt=alt_text[:1000],
        )
    except Exception:
        log.warning("could not upload the workflow picture", exc_info=True)
