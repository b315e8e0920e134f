"""``mmmixer get-flops CONFIG [--shape H W]`` (``tools/analysis_tools/get_flops.py``).

Prints a config model's parameters and FLOPs (mmengine's counter), as mmpretrain's get_flops.py does.
"""

from __future__ import annotations

from mmengine.config import DictAction

from mmmixer.analysis import measure_complexity
from mmmixer.cli.common import config_command_parser, load_config
from mmmixer.compiled_ops import check_compiled_ops


def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    parser = config_command_parser(prog, 'Count the params and FLOPs of a config model', 'config')
    parser.add_argument('--shape', type=int, nargs='+', default=[224, 224], help='input size: H W, or one side')
    parser.add_argument('--table', action='store_true', help='also print the per-module table')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings: key=value')
    args = parser.parse_args(argv)
    if len(args.shape) not in (1, 2):
        parser.error('--shape takes one or two integers (H W)')
    size = (args.shape[0], args.shape[-1])
    cfg = load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    check_compiled_ops(cfg)  # detection configs need mmcv's compiled ops: one line, exit 2
    result = measure_complexity(cfg, size)
    if args.table:
        print(result.table)
    print('=' * 30)
    print(result.summary())
    print('=' * 30)
