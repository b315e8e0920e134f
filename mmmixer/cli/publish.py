"""``mmmixer publish IN OUT`` (``tools/publish_model.py``): strip training state, add a sha256 prefix to the name.

As mmpretrain does: ``mmmixer publish work_dirs/x/epoch_300.pth mixer-b16_in1k.pth`` writes
``mixer-b16_in1k-1a2b3c4d.pth``.
"""

from __future__ import annotations

import argparse

from mmmixer.checkpoint import publish_checkpoint
from mmmixer.cli.common import usage_error


def main(argv: list[str] | None = None, prog: str | None = None) -> str:
    parser = argparse.ArgumentParser(
        prog=prog, description='Publish a checkpoint: drop optimizer/scheduler/message hub'
    )
    parser.add_argument('in_file', help='training checkpoint')
    parser.add_argument('out_file', help='output name; the first 8 hex digits of its sha256 are appended')
    args = parser.parse_args(argv)
    try:
        final = publish_checkpoint(args.in_file, args.out_file)
    except (OSError, ValueError, RuntimeError) as error:
        usage_error(str(error), parser.prog)
    print(f'published {final}')
    return final
