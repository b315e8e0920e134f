"""``mmmixer publish IN OUT`` (``tools/publish_model.py``): strip training state, add a sha256 prefix to the name.

As mmpretrain does: ``mmmixer publish work_dirs/x/epoch_300.pth mixer-b16_in1k.pth`` writes
``mixer-b16_in1k-1a2b3c4d.pth``; an existing file of that name is overwritten only with ``--force``.
"""

from __future__ import annotations

import argparse

from mmmixer.checkpoint import publish_checkpoint
from mmmixer.cli.usage import reports_input_errors
from mmmixer.config.checks import check_checkpoint_path
from mmmixer.fileio import check_new_output


@reports_input_errors
def main(argv: list[str] | None = None, prog: str | None = None) -> str:
    parser = argparse.ArgumentParser(
        prog=prog, description='Publish a checkpoint: drop optimizer/scheduler/message hub'
    )
    parser.add_argument('in_file', help='training checkpoint')
    parser.add_argument('out_file', help='output name; the first 8 hex digits of its sha256 are appended')
    parser.add_argument('--force', action='store_true', help='overwrite a published file of the same name')
    args = parser.parse_args(argv)
    check_checkpoint_path(args.in_file, 'in_file')
    check_new_output(args.out_file, force=True)  # a folder, or a missing or read-only folder: refused before loading
    final = publish_checkpoint(args.in_file, args.out_file, force=args.force)
    print(f'published {final}')
    return final
