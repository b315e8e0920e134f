"""Print a model's parameters and FLOPs (mmengine's counter), as mmpretrain's get_flops.py does.

python tools/analysis_tools/get_flops.py configs/mixer-b16_in1k.py [--shape H W]
"""

import argparse

from mmengine.config import Config, DictAction

from mmmixer.analysis import measure_complexity
from mmmixer.compiled_ops import check_compiled_ops


def parse_args():
    parser = argparse.ArgumentParser(description='Count the params and FLOPs of a config model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--shape', type=int, nargs='+', default=[224, 224], help='input size: H W, or one side')
    parser.add_argument('--table', action='store_true', help='also print the per-module table')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings: key=value')
    return parser.parse_args()


def main():
    args = parse_args()
    if len(args.shape) not in (1, 2):
        raise SystemExit('get_flops: --shape takes one or two integers (H W)')
    size = (args.shape[0], args.shape[-1])
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    check_compiled_ops(cfg)  # detection configs need mmcv's compiled ops: one line, exit 2
    result = measure_complexity(cfg, size)
    if args.table:
        print(result.table)
    print('=' * 30)
    print(result.summary())
    print('=' * 30)


if __name__ == '__main__':
    main()
