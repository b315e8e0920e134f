"""``mmmixer check-data CONFIG [--split train|val|test]`` (``tools/misc/check_data.py``).

Decodes every image of a config's data set with the settings of its pipeline's image loader, with a
progress bar, and lists the files that do not decode, so that a data set can be cleaned before a long run.
Exit code 0 when every image decodes, 1 when some do not (they are listed on stdout), 2 on bad input.
"""

from __future__ import annotations

import os
import sys
import time

from mmmixer.cli.common import config_command_parser, usage_error
from mmmixer.cli.usage import reports_input_errors
from mmmixer.config.checks import check_datasets_exist, import_config_modules, leaf_datasets
from mmmixer.config.options import add_cfg_options, add_data_root, merge_options
from mmmixer.config.prepare import data_set_name, use_data_root
from mmmixer.config.read import load_config

SPLITS = ('train', 'val', 'test')


class Progress:
    """A one-line progress bar on stderr (redrawn in place on a terminal; every 10% otherwise)."""

    def __init__(self, total: int, label: str, stream=None):
        stream = stream or sys.stderr  # the stderr of now (a default argument would keep the one of import time)
        self.total, self.label, self.stream = total, label, stream
        self.tty = stream.isatty()
        self.started = self.last_draw = time.monotonic()
        self.last_tenth = -1

    def __call__(self, checked: int, broken: int) -> None:
        now = time.monotonic()
        tenth = checked * 10 // max(self.total, 1)
        done = checked == self.total
        if self.tty and (now - self.last_draw > 0.2 or done):
            self.last_draw = now
            self.stream.write(f'\r{self._line(checked, broken, now)}' + ('\n' if done else ''))
            self.stream.flush()
        elif not self.tty and (tenth != self.last_tenth or done):
            self.last_tenth = tenth
            self.stream.write(self._line(checked, broken, now) + '\n')

    def _line(self, checked: int, broken: int, now: float) -> str:
        width = 30
        filled = width * checked // max(self.total, 1)
        rate = checked / max(now - self.started, 1e-6)
        eta = (self.total - checked) / rate if rate else 0
        return (
            f'{self.label} [{"#" * filled}{"." * (width - filled)}] {checked:,}/{self.total:,} '
            f'{broken:,} broken, {rate:,.0f} img/s, ETA {eta:,.0f} s'
        )


def image_paths(dataset) -> list[str]:
    """The image file of every sample of a built data set (``img_path`` of its data infos)."""
    paths = []
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        path = info.get('img_path') if isinstance(info, dict) else None
        if path is None:
            usage_error(f'{type(dataset).__name__} gives no img_path for its samples; check-data reads image files')
        paths.append(path)
    return paths


@reports_input_errors
def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    parser = config_command_parser(prog, 'List the images of a data set that cannot be decoded', 'config')
    parser.add_argument('--split', choices=SPLITS, default='train', help='which dataloader: train, val or test')
    parser.add_argument(
        '--workers', type=int, default=0, help='decoding processes (default: 1 for small sets, else up to 8)'
    )
    add_data_root(parser)
    add_cfg_options(parser)
    args = parser.parse_args(argv)
    if args.workers < 0:
        usage_error('--workers must be 0 (automatic) or more', prog)
    loader_name = f'{args.split}_dataloader'
    cfg = load_config(args.config)
    merge_options(cfg, args.cfg_options)
    use_data_root(cfg, args.data_root)
    loader = cfg.get(loader_name)
    if not loader or not loader.get('dataset'):
        usage_error(f'{args.config} has no {loader_name}; choose another --split')
    check_datasets_exist(cfg, (loader_name,))
    import_config_modules(cfg)

    from mmengine.registry import DATASETS, init_default_scope

    from mmmixer.broken_images import find_broken_images, loader_args

    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    broken_total = checked_total = 0
    for dataset_cfg in leaf_datasets(loader.dataset):
        name = data_set_name(loader_name, dataset_cfg)
        args_of_loader = loader_args(dataset_cfg.get('pipeline'))
        dataset = DATASETS.build(dict(dataset_cfg, pipeline=[], lazy_init=False))
        paths = image_paths(dataset)
        workers = args.workers or (1 if len(paths) < 5000 else min(8, os.cpu_count() or 1))
        progress = Progress(len(paths), f'checking {name}')
        for path, problem in find_broken_images(paths, args_of_loader, workers, progress):
            broken_total += 1
            print(f'{path}: {problem}', flush=True)
        checked_total += len(paths)
    if broken_total:
        print(
            f'{broken_total:,} of {checked_total:,} images in {loader_name} do not decode (listed above): delete or '
            'replace them, or let training skip them with --cfg-options skip_broken_images=True'
        )
        return 1
    print(f'all {checked_total:,} images in {loader_name} decode')
    return 0
