"""``mmmixer get-flops CONFIG [--shape H W]`` (``tools/analysis_tools/get_flops.py``).

Prints a config model's parameters and FLOPs (mmengine's counter), as mmpretrain's get_flops.py does.
"""

from __future__ import annotations

from mmmixer.analysis import measure_complexity
from mmmixer.cli.common import config_command_parser, usage_error
from mmmixer.cli.usage import reports_input_errors
from mmmixer.config.checks import check_config_values
from mmmixer.config.options import add_cfg_options, merge_options
from mmmixer.config.read import load_config
from mmmixer.environment import check_compiled_ops
from mmmixer.errors import InputSizeError


@reports_input_errors
def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    parser = config_command_parser(prog, 'Count the params and FLOPs of a config model', 'config')
    parser.add_argument(
        '--shape', type=int, nargs='+', help='input size: H W, or one side (default: the size the model was built for)'
    )
    parser.add_argument('--table', action='store_true', help='also print the per-module table')
    add_cfg_options(parser)
    args = parser.parse_args(argv)
    if args.shape is not None and len(args.shape) not in (1, 2):
        usage_error('--shape takes one or two integers (H W)')
    size = (args.shape[0], args.shape[-1]) if args.shape else None
    if size is not None and min(size) < 1:
        usage_error(f'--shape {size[0]} {size[1]}: the input sizes must be positive (e.g. --shape 224 224)')
    cfg = load_config(args.config)
    merge_options(cfg, args.cfg_options)
    check_compiled_ops(cfg)  # detection/segmentation configs need mmcv's ops (and mmseg)
    check_config_values(cfg)  # a value our backbone or neck rejects: error: model.backbone: ...
    try:
        result = measure_complexity(cfg, size)
    except InputSizeError as error:  # a global-mixing model measured at another --shape
        usage_error(f'--shape {size[0]} {size[1]}: {error}' if size else str(error))
    if args.table:
        print(result.table)
    print('=' * 30)
    print(result.summary())
    print('=' * 30)
