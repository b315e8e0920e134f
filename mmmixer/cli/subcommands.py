"""``PROG COMMAND [ARGS ...]`` parsing, shared by ``mmmixer`` and ``mmmixer convert``."""

from __future__ import annotations

import argparse


def choose_command(
    prog: str, description: str, summaries: dict[str, str], argv: list[str] | None
) -> tuple[str, list[str]]:
    """Parse ``COMMAND [ARGS ...]``: the command's name (one of ``summaries``) and its own arguments."""
    listing = '\n'.join(f'  {name:<25}{summary}' for name, summary in summaries.items())
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=f'commands:\n{listing}\n\n`{prog} COMMAND -h` shows the options of one command.',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument('command', choices=summaries, metavar='COMMAND', help='one of the commands below')
    parser.add_argument('args', nargs=argparse.REMAINDER, help="the command's arguments")
    args = parser.parse_args(argv)
    return args.command, args.args
