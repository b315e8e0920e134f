"""``mmmixer get-flops CONFIG [--shape H W]`` (``tools/analysis_tools/get_flops.py``).

Prints a config model's parameters and FLOPs (mmengine's counter), as mmpretrain's get_flops.py does.
"""

from __future__ import annotations

from mmengine.config import DictAction

from mmmixer.analysis import measure_complexity
from mmmixer.cli.common import config_command_parser, load_config, usage_error
from mmmixer.compiled_ops import MissingCompiledOpsError, check_compiled_ops


def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    parser = config_command_parser(prog, 'Count the params and FLOPs of a config model', 'config')
    parser.add_argument('--shape', type=int, nargs='+', default=[224, 224], help='input size: H W, or one side')
    parser.add_argument('--table', action='store_true', help='also print the per-module table')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings: key=value')
    args = parser.parse_args(argv)
    if len(args.shape) not in (1, 2):
        parser.error('--shape takes one or two integers (H W)')
    size = (args.shape[0], args.shape[-1])
    if min(size) < 1:
        usage_error(f'--shape {size[0]} {size[1]}: the input sizes must be positive (e.g. --shape 224 224)')
    cfg = load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    try:
        check_compiled_ops(cfg)
    except MissingCompiledOpsError as error:  # detection/segmentation configs need mmcv's ops (and mmseg)
        usage_error(str(error))
    from mmmixer.cli.config_checks import check_config_values
    from mmmixer.errors import InputSizeError

    check_config_values(cfg)  # a value our backbone or neck rejects: error: model.backbone: ..., exit 2
    try:
        result = measure_complexity(cfg, size)
    except InputSizeError as error:  # a global-mixing model measured at another size
        usage_error(f'--shape {size[0]} {size[1]}: {error}')
    if args.table:
        print(result.table)
    print('=' * 30)
    print(result.summary())
    print('=' * 30)
