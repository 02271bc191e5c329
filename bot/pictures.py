"""Workflow pictures in a Slack thread: a layout core chose (a run's summary, a test run, a
rollback: `core.usecases`) drawn by `core.graph` and uploaded, and the upload of the pictures the
scheduler draws (through `bot.notifier`)."""

from __future__ import annotations

import logging

from slack_sdk import WebClient

from core.graph import Layout

log = logging.getLogger(__name__)


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
