"""`clixen review on|off`, `clixen reviews [show ID]`, `clixen approve ID`, `clixen reject ID`:
review before live from a terminal, through the same use cases as Slack
(`core.usecases.reviews`: owners decide, re-checked there)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from cli.context import cli_actor, cli_n8n, cli_session_factory

if TYPE_CHECKING:
    from core.scheduler.reviews import ReviewRequest
    from core.usecases.reviews import ReviewDecision, ReviewRow


def register(sub: Any) -> None:
    rv = sub.add_parser(
        "review", help="review before live: every new version waits for an owner (owners)"
    )
    rv.add_argument("setting", choices=["on", "off", "show"], nargs="?", default="show")
    rv.add_argument("--project", "-p", help="project name (default: your active project)")
    rv.set_defaults(func=_setting)

    rs = sub.add_parser("reviews", help="review requests of a project: who asked, who decided")
    rs.add_argument("show", nargs="?", choices=["show"], help="show one request in full")
    rs.add_argument("review_id", nargs="?", type=int, help="with `show`: the review's id")
    rs.add_argument("--all", action="store_true", help="decided ones too (the audit trail)")
    rs.add_argument("--project", "-p", help="project name (default: your active project)")
    rs.set_defaults(func=_reviews)

    ap = sub.add_parser("approve", help="approve a review: deploy exactly the version it shows")
    ap.add_argument("review_id", type=int)
    ap.add_argument("--digest", help="the version digest you were shown (checked)")
    ap.add_argument("--reason", help="a note kept in the audit trail")
    ap.set_defaults(func=_approve)

    rj = sub.add_parser("reject", help="reject a review: its version never goes live")
    rj.add_argument("review_id", type=int)
    rj.add_argument("--reason", help="why (the requester sees it)")
    rj.set_defaults(func=_reject)


def row_line(r: ReviewRow) -> str:
    """One audit line: who asked what, who decided, when, why."""
    line = (
        f"#{r.review_id:<4} {r.state:<9} {r.name!r} v{r.version} ({r.source}) asked by "
        f"{r.requested_by} {r.requested_at:%Y-%m-%d %H:%M}"
    )
    if r.decided_by:
        when = f" {r.decided_at:%Y-%m-%d %H:%M}" if r.decided_at else ""
        line += f"; {r.state} by {r.decided_by}{when}"
    return line + (f" ({r.reason})" if r.reason else "")


def _setting(args: argparse.Namespace) -> int:
    from core.usecases.reviews import review_setting, set_review

    with cli_session_factory() as factory:
        if args.setting == "show":
            done = review_setting(factory, actor=cli_actor(), project=args.project)
        else:
            done = set_review(
                factory, actor=cli_actor(), project=args.project, on=args.setting == "on"
            )
    state = "on: every new version waits for an owner's approval" if done.on else "off"
    print(f"Review before live in project {done.project} is {state}.")
    return 0


def _print_request(q: ReviewRequest) -> None:
    live = f"v{q.live_version} is live" if q.live_version else "nothing is live yet"
    print(f"review #{q.review_id}: {q.name!r} v{q.version} ({q.source}) in project {q.project}")
    print(f"  asked by {q.requested_by} {q.requested_at:%Y-%m-%d %H:%M} UTC; {live}")
    print(f"  version digest {q.digest}")
    print("  changes:")
    lines = q.diff.lines() if q.diff is not None else [f"a new workflow of {q.node_count} nodes"]
    for line in lines or ["no differences"]:
        print(f"    {line}")
    test = q.test_run
    where = f" at {test.node}" if test.node else ""
    print(f"  test run: {test.status}{where} {test.message}".rstrip())
    print(f"  accounts: {', '.join(q.accounts) or 'none'}")
    print(f"  hosts: {', '.join(q.hosts) or 'none'}")
    print(f"  approve: clixen approve {q.review_id} --digest {q.digest}")


def _reviews(args: argparse.Namespace) -> int:
    from core.kernel.errors import InvalidInput
    from core.kernel.settings import get_settings
    from core.usecases.reviews import review_overview, show_review

    if args.show:
        if args.review_id is None:
            raise InvalidInput("Name the review: clixen reviews show ID")
        with cli_session_factory() as factory, cli_n8n() as n8n:
            q = show_review(
                factory,
                n8n=n8n,
                settings=get_settings(),
                actor=cli_actor(),
                review_id=args.review_id,
            )
        _print_request(q)
        return 0
    with cli_session_factory() as factory:
        seen = review_overview(
            factory, actor=cli_actor(), project=args.project, pending_only=not args.all
        )
    state = "on" if seen.setting.on else "off"
    print(f"project {seen.setting.project}: review before live is {state}")
    if not seen.reviews:
        print("  (no requests)" if args.all else "  (nothing waits; --all for the audit trail)")
    for r in seen.reviews:
        print(f"  {row_line(r)}")
    return 0


def _decided(done: ReviewDecision) -> int:
    if done.state == "approved":
        print(f"review #{done.review_id}: {done.name!r} v{done.version} is approved and live.")
        return 0
    if done.state == "rejected":
        live = f"v{done.live_version} stays live" if done.live_version else "nothing deployed"
        print(f"review #{done.review_id}: {done.name!r} v{done.version} is rejected; {live}.")
        return 0
    print(f"review #{done.review_id}: {done.state}: {done.note}")
    return 1


def _approve(args: argparse.Namespace) -> int:
    from core.kernel.settings import get_settings
    from core.usecases.reviews import approve

    with cli_session_factory() as factory, cli_n8n() as n8n:
        done = approve(
            factory,
            n8n=n8n,
            settings=get_settings(),
            actor=cli_actor(),
            review_id=args.review_id,
            digest=args.digest,
            reason=args.reason,
        )
    return _decided(done)


def _reject(args: argparse.Namespace) -> int:
    from core.usecases.reviews import reject

    with cli_session_factory() as factory:
        done = reject(factory, actor=cli_actor(), review_id=args.review_id, reason=args.reason)
    return _decided(done)
