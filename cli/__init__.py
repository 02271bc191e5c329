"""The `clixen` command line. Each subcommand module exposes `register(subparsers)`.

Front ends outside core (the Slack bot's `serve`) plug in through the `clixen.commands` entry-point
group, so core never imports them.

Registering is cheap, so that `clixen --help` and `clixen validate` start at once: a subcommand
module imports only light modules at its top (argparse, `core.kernel.errors`,
`core.kernel.vocabulary`,
`cli.context`) and each handler imports what it uses when it runs (SQLAlchemy, openai and the
MCP SDK cost seconds; tests/cli/test_startup.py, benchmarks/cli_startup.py). A command that reads
no settings says so with `set_defaults(uses_settings=False)`; then logging is set up only for -v.
Log lines reach the terminal only with -v, or from a long-running service that says so with
`set_defaults(service=True)` (`serve`, `scheduler run`).
"""

from __future__ import annotations

import argparse
import atexit
import gc
import importlib
import logging
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

from core.kernel.errors import ClixenError, SettingsError, user_message
from core.kernel.logging import configure_logging

log = logging.getLogger(__name__)

# Subcommand modules inside core, in the order they appear in --help.
COMMAND_MODULES: list[str] = [
    "cli.pipeline",
    "cli.prompt",
    "cli.spec",
    "cli.search",
    "cli.eval",
    "cli.workflows",
    "cli.own",
    "cli.reviews",
    "cli.run_now",
    "cli.graph",
    "cli.projects",
    "cli.validate",
    "cli.workspace",
    "cli.connect",
    "cli.scheduler",
    "cli.catalog",
    "cli.db",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clixen",
        description="Clixen: plain-language requests in, tested running n8n workflows out.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    for ep in entry_points(group="clixen.commands"):
        ep.load()(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (0 ok, 1 failure, 2 usage or configuration)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # What a command built dies with the process: frozen, it is skipped by the collections the
    # interpreter runs while it exits (a quarter second after `clixen prompt` loaded templates).
    atexit.register(gc.freeze)
    if args.verbose or getattr(args, "uses_settings", True):
        # Reading the log level loads the settings, which costs more than a whole `validate`.
        # A command's answer is for a person: log lines only with -v, or from a service
        # (`serve`, `scheduler run`), whose log is what it says.
        configure_logging(
            logging.DEBUG if args.verbose else None,
            quiet=not (args.verbose or getattr(args, "service", False)),
        )
    try:
        code = args.func(args)
    except SettingsError as e:
        print(str(e), file=sys.stderr)
        return 2
    except ClixenError as e:
        if e.code == "review_pending":
            # Review before live: done as the project wants it, nothing live until approved.
            print(str(e))
            return 0
        print(f"error: {user_message(e, log=log, where=str(args.command)).text}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
