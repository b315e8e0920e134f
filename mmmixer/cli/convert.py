"""``mmmixer convert CONVERSION SRC DST``: the three converters (tools/model_converters/*.py).

Bad input ends with exit code 2 and one line naming the problem and the fix; no output file is
left behind (outputs are written to a temporary file and renamed).
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from typing import NamedTuple

from mmmixer.cli.subcommands import choose_command
from mmmixer.converters import ConversionError, source_format, to_mmmixer, to_timm
from mmmixer.errors import InputError


def _parser(prog: str | None, description: str, src_help: str, dst_help: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument('src', help=src_help)
    parser.add_argument('dst', help=dst_help)
    parser.add_argument('--force', action='store_true', help='overwrite dst if it exists')
    parser.add_argument(
        '--verify', action='store_true', help='run the reference and the converted model on one batch (needs timm)'
    )
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')
    return parser


def _to_mmmixer_parser(source: str, prog: str | None) -> argparse.ArgumentParser:
    parser = _parser(
        prog,
        f'Convert {source} MLP-Mixer weights into an mmmixer (mmengine) checkpoint',
        f'{source} weights',
        'output .pth (mmengine checkpoint for configs/mixer-*_in1k.py)',
    )
    parser.add_argument('--arch', help="expected arch ('s', 'b', 'l', 'h'); an error if the file disagrees")
    parser.add_argument('--no-head', action='store_true', help='drop the classification head')
    parser.add_argument('--publish', action='store_true', help='append the sha256 prefix to the output name')
    parser.add_argument(
        '--preprocess',
        choices=['goog', 'miil'],
        help="eval preprocessing recorded in meta (default: 'miil' if the file name says so, else 'goog')",
    )
    return parser


def _run(program: str, convert) -> int:
    try:
        convert()
    except (InputError, OSError) as error:  # ConversionError, an existing dst (--force), a file that cannot be read
        message = str(error) if isinstance(error, InputError) else f'{error.strerror or error}: {error.filename}'
        print(f'{program}: error: {message}', file=sys.stderr)
        return 2
    except ImportError as error:
        print(f'{program}: error: {error}; install it (pip install "mmmixer[convert]")', file=sys.stderr)
        return 2
    return 0


class Source(NamedTuple):
    """What one to-mmmixer command reads, and the command for the other files."""

    formats: tuple[str, ...]  # as converters.source_format names them
    extensions: str  # for the error message
    other_tool: str  # tools/model_converters/<other_tool>, `mmmixer convert <other_conversion>`
    other_conversion: str


SOURCES = {
    'timm': Source(
        ('torch', 'safetensors'), '.pth/.pt/.bin/.pth.tar/.safetensors', 'jax_to_mmmixer.py', 'jax-to-mmmixer'
    ),
    'Google': Source(('npz',), '.npz', 'timm_to_mmmixer.py', 'timm-to-mmmixer'),
}


def to_mmmixer_main(source: str, argv: list[str] | None = None, prog: str | None = None) -> int:
    parser = _to_mmmixer_parser(source, prog)
    args = parser.parse_args(argv)
    program = parser.prog
    reads = SOURCES[source]

    def convert():
        if source_format(args.src) not in reads.formats:
            raise ConversionError(
                f'{args.src}: {program} reads {source} {reads.extensions} files; '
                f'use {reads.other_tool} (mmmixer convert {reads.other_conversion})'
            )
        to_mmmixer(
            args.src,
            args.dst,
            arch=args.arch,
            no_head=args.no_head,
            force=args.force,
            publish=args.publish,
            run_verify=args.verify,
            preprocess=args.preprocess,
            progress=not args.no_progress,
        )

    return _run(program, convert)


def to_timm_main(argv: list[str] | None = None, prog: str | None = None) -> int:
    parser = _parser(
        prog,
        'Convert an mmmixer (or mmpretrain) Mixer checkpoint into timm weights',
        'mmmixer / mmpretrain checkpoint (.pth)',
        'output timm weights (.pth or .safetensors)',
    )
    args = parser.parse_args(argv)
    return _run(
        parser.prog,
        lambda: to_timm(args.src, args.dst, force=args.force, run_verify=args.verify, progress=not args.no_progress),
    )


CONVERSIONS = {
    'timm-to-mmmixer': ('timm weights (.pth/.safetensors) to an mmmixer checkpoint', partial(to_mmmixer_main, 'timm')),
    'jax-to-mmmixer': ('Google vit_jax .npz weights to an mmmixer checkpoint', partial(to_mmmixer_main, 'Google')),
    'mmmixer-to-timm': ('an mmmixer (or mmpretrain) checkpoint to timm weights', to_timm_main),
}


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """``mmmixer convert CONVERSION SRC DST [options]``: one of :data:`CONVERSIONS`."""
    prog = prog or 'mmmixer convert'
    summaries = {name: summary for name, (summary, _) in CONVERSIONS.items()}
    name, args = choose_command(prog, 'Convert MLP-Mixer weights between timm, Google and mmmixer', summaries, argv)
    return CONVERSIONS[name][1](args, prog=f'{prog} {name}')
