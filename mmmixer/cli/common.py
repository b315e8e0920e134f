"""The arguments that the config commands (train, test, ...) share, in mmpretrain's ``tools/`` spelling."""

from __future__ import annotations

import argparse

from mmmixer.cli.usage import usage_error  # noqa: F401 (the command lines import it from here)
from mmmixer.config.options import add_cfg_options, add_data_root


def config_command_parser(prog: str | None, description: str, config_help: str) -> argparse.ArgumentParser:
    """A parser whose first argument is a config: a file, or the name of one of mmmixer's configs."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument('config', help=f"{config_help}: a file, or one of mmmixer's (configs/mixer-b16_in1k.py)")
    return parser


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--work-dir', help='directory for logs and checkpoints')
    add_data_root(parser)
    add_cfg_options(
        parser,
        'override config settings, KEY=VALUE (lists: KEY="[a,b]"; spaces in a value are kept); merged '
        'after the other flags',
    )
    parser.add_argument(
        '--compile',
        action='store_true',
        help='torch.compile the backbone, neck and head in place (same as --cfg-options compile=True; '
        'compile=dict(...) passes torch.compile arguments)',
    )
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def runner_from_args(args: argparse.Namespace, edit, dataloaders: tuple[str, ...]):
    """:func:`mmmixer.engine.runner.runner_from_config` with the arguments above; ``edit(cfg, args)`` applies the
    command's own flags and then ``--cfg-options`` (so those win)."""
    from mmmixer.engine.runner import runner_from_config, set_local_rank

    set_local_rank(args.local_rank)
    return runner_from_config(
        args.config,
        dataloaders,
        work_dir=args.work_dir,
        launcher=args.launcher,
        compile=args.compile,
        edit=lambda cfg: edit(cfg, args),
        cfg_options=args.cfg_options,
        data_root=args.data_root,
    )
