"""``mmmixer env`` (also ``mmmixer --version``): the versions of mmmixer and its OpenMMLab stack, and what
``import mmmixer`` changed in them, for a bug report."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0]).parse_args(argv)
    from mmmixer.environment import describe_environment

    print('\n'.join(describe_environment()))
