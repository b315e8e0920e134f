"""``PROG COMMAND [ARGS ...]`` parsing, shared by ``mmmixer`` and ``mmmixer convert``."""

from __future__ import annotations

import argparse
from collections.abc import Callable


class _Version(argparse.Action):
    """``-V`` / ``--version``: print what ``describe()`` says, exit 0 (computed only when asked)."""

    def __init__(self, option_strings, dest, describe, **kwargs):
        super().__init__(option_strings, dest, nargs=0, **kwargs)
        self.describe = describe

    def __call__(self, parser, namespace, values, option_string=None):
        print('\n'.join(self.describe()))
        parser.exit()


def command_listing(summaries: dict[str, str]) -> str:
    """One line per command, the summaries aligned two spaces after the longest name."""
    width = max(map(len, summaries), default=0) + 2
    return '\n'.join(f'  {name:<{width}}{summary}' for name, summary in summaries.items())


def choose_command(
    prog: str,
    description: str,
    summaries: dict[str, str],
    argv: list[str] | None,
    version: Callable[[], list[str]] | None = None,
) -> tuple[str, list[str]]:
    """Parse ``COMMAND [ARGS ...]``: the command's name (one of ``summaries``) and its own arguments. With
    ``version``, ``-V`` / ``--version`` print its lines."""
    listing = command_listing(summaries)
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=f'commands:\n{listing}\n\n`{prog} COMMAND -h` shows the options of one command.',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if version is not None:
        parser.add_argument('-V', '--version', action=_Version, describe=version, help='print the versions and exit')
    parser.add_argument('command', choices=summaries, metavar='COMMAND', help='one of the commands below')
    parser.add_argument('args', nargs=argparse.REMAINDER, help="the command's arguments")
    args = parser.parse_args(argv)
    return args.command, args.args
