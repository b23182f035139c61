"""`handoff-bot`: the runtime's commands, plus the demo from the sandbox. The one place both meet."""
from __future__ import annotations

import argparse

from bot.runtime.cli import build_parser


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.sandbox.demo import run_demo  # the stand-in is for the demo only: `run` and friends start lean

    return run_demo(verbose=args.verbose)


def main(argv: list[str] | None = None) -> int:
    parser, sub = build_parser()
    demo = sub.add_parser("demo", help="play the whole story against the built-in Slack stand-in")
    demo.add_argument("--verbose", action="store_true", help="show the bot's logs too")
    demo.set_defaults(fn=cmd_demo)
    args = parser.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    raise SystemExit(main())
