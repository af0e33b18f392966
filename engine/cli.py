"""Provides the ``relaylab`` command line.

Every command has ``--help``; ``--json`` gives machine-readable output where a command prints
data. Exit codes: 0 success, 1 a failed check or validation, 2 a usage error. Errors are one
line on stderr; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from engine import __version__
from engine.commands import COMMAND_MODULES
from engine.errors import RelaylabError, UsageError

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    """Build the parser with every command."""
    parser = _Parser(
        prog="relaylab",
        description="Learn, practise and assess sending mail through Microsoft 365 / Exchange Online.",
        epilog="With no command, relaylab opens the course in the terminal app.",
    )
    parser.add_argument("--version", action="version", version=f"relaylab {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list or bool(os.environ.get("RELAYLAB_DEBUG"))
    try:
        parser = build_parser()
        args = parser.parse_args(args_list)
        if args.command is None:
            args = parser.parse_args([*args_list, "tui"])
        code = int(args.handler(args) or 0)
    except RelaylabError as exc:
        if debug:
            traceback.print_exc()
        print(f"relaylab: error: {exc.message}", file=sys.stderr)
        code = exc.exit_code
    except KeyboardInterrupt:
        print("relaylab: interrupted", file=sys.stderr)
        code = 130
    except BrokenPipeError:
        code = 0
    except Exception as exc:
        if debug:
            traceback.print_exc()
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"relaylab: internal error: {reason} (run with --debug for the traceback)", file=sys.stderr)
        code = 1
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
