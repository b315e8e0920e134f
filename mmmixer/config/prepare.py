"""What a run changes in a checked config before mmengine's Runner is built from it: dataloader settings, the
checked image loader in every pipeline, and CPU distributed set-up. Imports torch only where a function needs it."""

from __future__ import annotations

import os.path as osp
import shlex

from mmengine.config import Config

from mmmixer.broken_images.scan import LOADER_TYPES
from mmmixer.config.checks import leaf_datasets, skip_switch

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


# ----------------------------------------------------------------------------- dataloaders
def use_fast_dataloaders(cfg: Config, pin_memory: bool = True, persistent_workers: bool = True) -> list[str]:
    """Pinned memory and persistent workers for every dataloader, unless the config says otherwise
    (``pin_memory`` / ``persistent_workers`` False turn them off whatever the config says). Memory is pinned
    only where there is a GPU to copy to: without one torch can only warn that it cannot pin.

    Returns what was changed, e.g. ``['persistent workers in train_dataloader']``.
    """
    import torch

    pin_memory = pin_memory and torch.cuda.is_available()
    changed = []
    for name in DATALOADERS:
        loader = cfg.get(name)
        if not isinstance(loader, dict):  # none, or a value the config checks refuse later in one line
            continue
        has_workers = _worker_count(loader) > 0  # torch refuses persistent workers without workers
        for key, allowed in (('pin_memory', pin_memory), ('persistent_workers', persistent_workers and has_workers)):
            if key not in loader and allowed:
                changed.append(f'{key.replace("_", " ")} in {name}')
            loader[key] = loader.get(key, True) and allowed
    return changed


def _worker_count(loader: dict) -> int:
    """``num_workers``, 0 where it is not a count (the config checks refuse such a value later, in one line)."""
    workers = loader.get('num_workers', 0)
    return workers if isinstance(workers, int) else 0


def use_named_collate(cfg: Config, dataloaders: tuple[str, ...]) -> None:
    """``mmmixer.default_collate`` in place of ``default_collate``: the same batches, and images of different sizes
    in one batch are one line naming the sizes and the dataloader (:mod:`mmmixer.engine.collate`)."""
    for name in dataloaders:
        loader = cfg.get(name)
        collate = loader.get('collate_fn') if isinstance(loader, dict) else None
        if isinstance(collate, dict) and collate.get('type') in ('default_collate', 'mmengine.default_collate'):
            loader['collate_fn'] = dict(collate, type='mmmixer.default_collate', loader=name)


def drop_persistent_workers_without_workers(cfg: Config) -> None:
    """torch refuses ``persistent_workers=True`` with ``num_workers=0`` (e.g. set by --cfg-options)."""
    for name in DATALOADERS:
        loader = cfg.get(name)
        if isinstance(loader, dict) and _worker_count(loader) == 0:
            loader.persistent_workers = False


def prepare_cpu_distributed(cfg: Config) -> None:
    """Let torchrun launches work without GPUs (gloo on CPU); with CUDA nothing changes.

    mmengine's pytorch launcher always calls ``torch.cuda.set_device`` and wraps the model with
    ``device_ids=[local_rank]``, both of which fail without CUDA. Here the process group is started
    with gloo (mmengine then skips its own set-up) and the model wrapped without device ids.
    """
    import torch
    import torch.distributed as dist

    if cfg.get('launcher') != 'pytorch' or torch.cuda.is_available():
        return
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False)


def use_data_root(cfg: Config, root: str | None) -> None:
    """``--data-root DIR``: the ``data_root`` of every data set of every dataloader (inside wrappers such as
    ``RepeatDataset`` too). A config's own ``data_root`` variable cannot be changed after the file was read: it was
    substituted into the data sets then, which is why this sets them."""
    if root is None:
        return
    for name in DATALOADERS:
        loader = cfg.get(name)
        if isinstance(loader, dict):
            for dataset in leaf_datasets(loader.get('dataset')):
                dataset['data_root'] = root
    if 'data_root' in cfg:
        cfg.data_root = root  # what the dumped config says, for whoever reads it


# ----------------------------------------------------------------------------- broken images
def data_set_name(loader_name: str, dataset: dict) -> str:
    """``train_dataloader (data/digits/train)``: how error lines name a data set."""
    root, prefix = dataset.get('data_root') or '', dataset.get('data_prefix') or dataset.get('split') or ''
    if isinstance(prefix, dict):
        prefix = prefix.get('img_path') or prefix.get('img') or next(iter(prefix.values()), '')
    where = osp.join(root, prefix) if isinstance(prefix, str) else root
    return f'{loader_name} ({where})' if where else loader_name


def _option_text(value) -> str:
    if isinstance(value, list | tuple):
        inner = ','.join(_option_text(v) for v in value)
        return f'[{inner}]' if isinstance(value, list) else f'({inner})'
    return str(value)


def check_data_command(config: str, split: str, cfg_options: dict | None, data_root: str | None = None) -> str:
    """The ``mmmixer check-data`` line that lists every broken image of one split (with the same --cfg-options)."""
    data_keys = ('train_dataloader', 'val_dataloader', 'test_dataloader', 'data_root')
    pairs = [f'{k}={_option_text(v)}' for k, v in (cfg_options or {}).items() if k.split('.')[0] in data_keys]
    options = f' --cfg-options {" ".join(shlex.quote(pair) for pair in pairs)}' if pairs else ''
    root = f' --data-root {shlex.quote(data_root)}' if data_root else ''
    return f'mmmixer check-data {shlex.quote(config)} --split {split}{root}{options}'


def use_checked_image_loading(
    cfg: Config, dataloaders: tuple[str, ...], config: str, cfg_options: dict | None, data_root: str | None = None
):
    """Put ``mmmixer.LoadImageChecked`` in place of ``LoadImageFromFile`` in the dataloaders' pipelines (same
    arguments), so that a broken image stops the run with one line, or, in the training set and with
    ``skip_broken_images=True``, is skipped.

    Returns, when training skips broken images, the hook that counts and logs them
    (:class:`~mmmixer.broken_images.report.BrokenImageReport`), else None.
    """
    skip = skip_switch(cfg)
    for name in dataloaders:
        loader = cfg.get(name)
        if not isinstance(loader, dict) or not isinstance(loader.get('dataset'), dict):
            continue
        split = name.split('_')[0]
        for dataset in leaf_datasets(loader['dataset']):
            pipeline = dataset.get('pipeline')
            for i, transform in enumerate(pipeline or []):
                kind = transform.get('type') if isinstance(transform, dict) else None
                if kind in LOADER_TYPES or kind == 'mmmixer.LoadImageTF':  # the latter is a checked loader too
                    pipeline[i] = dict(
                        transform,
                        type=kind if kind == 'mmmixer.LoadImageTF' else 'mmmixer.LoadImageChecked',
                        data_set=data_set_name(name, dataset),
                        find_all=check_data_command(config, split, cfg_options, data_root),
                        skip_broken=skip and name == 'train_dataloader',
                    )
    if not (skip and 'train_dataloader' in dataloaders and cfg.get('train_dataloader')):
        return None
    from mmmixer.broken_images.report import BrokenImageReport

    train = cfg.train_dataloader.dataset
    return BrokenImageReport(
        data_set=data_set_name('train_dataloader', next(leaf_datasets(train), train)),
        find_all=check_data_command(config, 'train', cfg_options, data_root),
    )
