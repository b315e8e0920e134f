"""Bad input, found before a command line starts its real work, and reported in one line (exit code 2).

* config files that do not parse: ``file:line: the parser's message``;
* config values that our backbone, neck or transforms reject (:class:`~mmmixer.errors.ConfigValueError`):
  those parts are built on the meta device (no memory, no weights) before mmengine's Runner exists, so
  nothing is written and nothing logged, and the line names the config key (``model.backbone: ...``);
* ``load_from`` / ``--resume`` naming a directory or a missing file;
* errors of ours raised later, during the run (a broken image, an input the model was not built for).

Only our own error types are caught; anything else keeps its traceback.
"""

from __future__ import annotations

import ast
import contextlib
import os.path as osp
import re
import shlex
from collections.abc import Callable, Iterator
from functools import partial

from mmengine.config import Config

from mmmixer.cli.usage import usage_error
from mmmixer.datasets.check import LOADER_TYPES
from mmmixer.errors import BrokenImageError, ConfigValueError, InputSizeError, one_line

SKIP_SWITCH = 'skip_broken_images'
URL = re.compile(r'[\w.+-]+://')
IMAGE_LOADERS = LOADER_TYPES  # the image loaders that mmmixer.LoadImageChecked takes the place of


# ----------------------------------------------------------------------------- config files
def syntax_error_line(error: SyntaxError, path: str) -> str:
    """``FILE:LINE: message`` for a config that does not parse (mmengine wraps the parser's error in its own)."""
    text = str(error)
    # mmengine: "There are syntax errors in config file FILE: MESSAGE (<unknown>, line N)"
    wrapped = re.match(r'There are syntax errors in config file (.+?): (.*) \(.*?, line (\d+)\)$', text, re.S)
    if wrapped:
        file, message, line = wrapped.groups()
    else:
        if error.filename in (None, '', '<unknown>', '<string>'):  # mmengine parsed it without naming the file
            try:
                with open(path, encoding='utf-8') as f:
                    ast.parse(f.read(), path)
            except SyntaxError as own:  # the config itself: name it
                error = own
            else:  # one of its _base_ files
                error.filename = f'{path} (or one of its _base_ files)'
        file, message, line = error.filename or path, error.msg or text, error.lineno
    where = f'{file}:{line}' if line else file
    return f'config {where}: {message}; fix the file (it is Python)'


def read_config(path: str) -> Config:
    """``Config.fromfile`` (custom imports deferred), with a syntax error in it or its bases as one line, and so a
    config that inherits ``mmseg::`` / ``mmdet::`` configs where that package is not installed."""
    try:
        return Config.fromfile(path, import_custom_modules=False)
    except SyntaxError as error:
        usage_error(syntax_error_line(error, path))
    except ModuleNotFoundError as error:
        from mmmixer.compiled_ops import missing_base_package

        missing = missing_base_package(error, osp.basename(path))
        if missing is None:
            raise
        usage_error(str(missing))


# ----------------------------------------------------------------------------- config values
def _our_class(registry, kind) -> type | None:
    """The class a config's ``type`` names, if it is one of ours. A name the registry cannot resolve is left to
    the real build, which reports it as it always has."""
    if isinstance(kind, str):
        try:
            kind = registry.get(kind)
        except (KeyError, RuntimeError, ImportError, AttributeError):
            return None
    return kind if isinstance(kind, type) and kind.__module__.startswith('mmmixer.') else None


def _our_parts(node, key: str, registry) -> Iterator[tuple[str, dict]]:
    """``(config key, config)`` of every part of ``node`` whose type is one of our classes (outermost ones)."""
    if isinstance(node, dict):
        if 'type' in node and _our_class(registry, node['type']) is not None:
            yield key, node
            return
        for name, value in node.items():
            yield from _our_parts(value, f'{key}.{name}' if key else str(name), registry)
    elif isinstance(node, list | tuple):
        for i, value in enumerate(node):
            yield from _our_parts(value, f'{key}.{i}', registry)


def check_config_values(cfg: Config, dataloaders: tuple[str, ...] = ()) -> None:
    """Build our parts of ``cfg.model`` (on the meta device) and of the dataloaders' pipelines; a value they
    reject ends the command with ``error: <config key>: <why and the fix>``. Other errors propagate."""
    import torch
    from mmengine.registry import MODELS, TRANSFORMS, init_default_scope

    scope = cfg.get('default_scope', 'mmpretrain')
    if scope:
        init_default_scope(scope)
    sections = [('model', cfg.get('model'), MODELS)]
    sections += [(f'{name}.dataset', (cfg.get(name) or {}).get('dataset'), TRANSFORMS) for name in dataloaders]
    for root, node, root_registry in sections:
        if not node:
            continue
        with root_registry.switch_scope_and_registry(scope) as registry:
            for key, part in _our_parts(node, root, registry):
                try:
                    with torch.device('meta'):
                        registry.build(part)
                except ConfigValueError as error:
                    usage_error(f'{key}: {error}')


@contextlib.contextmanager
def reported_bad_input(section: str = '') -> Iterator[None]:
    """Our errors raised while a command runs, as one line: a config value a module rejects, an image that
    cannot be read, an input of a size the model was not built for."""
    try:
        yield
    except ConfigValueError as error:
        usage_error(f'{section}: {one_line(error)}' if section else one_line(error))
    except (BrokenImageError, InputSizeError) as error:
        usage_error(one_line(error))


# ----------------------------------------------------------------------------- checkpoints
def check_checkpoint_path(path, what: str) -> None:
    """A local checkpoint (``load_from``, ``--resume``, ``CHECKPOINT``) that is missing or a directory: one line."""
    if not isinstance(path, str) or not path or URL.match(path):
        return
    if osp.isdir(path):
        latest, hint = osp.join(path, 'last_checkpoint'), ''
        if osp.isfile(latest):  # mmengine's CheckpointHook writes it: the path of the newest checkpoint
            with open(latest) as f:
                hint = f' ({latest} names {f.read().strip()})'
        latest_of_work_dir = "; --resume with no value resumes from the work dir's latest" if what == '--resume' else ''
        usage_error(
            f'{what} {path} is a directory; name a checkpoint file in it (e.g. {path}/epoch_N.pth){hint}'
            + latest_of_work_dir
        )
    if not osp.exists(path):
        usage_error(f'{what} {path} does not exist')


def check_checkpoints(cfg: Config) -> None:
    """``load_from`` (also set by ``--resume CKPT``) names a file that exists."""
    what = '--resume' if cfg.get('resume') and cfg.get('load_from') else 'load_from'
    check_checkpoint_path(cfg.get('load_from'), what)


# ----------------------------------------------------------------------------- broken images
def leaf_datasets(dataset: dict) -> Iterator[dict]:
    if not isinstance(dataset, dict):
        return
    if 'dataset' in dataset:  # RepeatDataset, ClassBalancedDataset, ...
        yield from leaf_datasets(dataset['dataset'])
    elif 'datasets' in dataset:  # ConcatDataset
        for child in dataset['datasets']:
            yield from leaf_datasets(child)
    else:
        yield dataset


def data_set_name(loader_name: str, dataset: dict) -> str:
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


def check_data_command(config: str, split: str, cfg_options: dict | None) -> str:
    """The ``mmmixer check-data`` line that lists every broken image of one split (with the same --cfg-options)."""
    data_keys = ('train_dataloader', 'val_dataloader', 'test_dataloader', 'data_root')
    pairs = [f'{k}={_option_text(v)}' for k, v in (cfg_options or {}).items() if k.split('.')[0] in data_keys]
    options = f' --cfg-options {" ".join(shlex.quote(pair) for pair in pairs)}' if pairs else ''
    return f'mmmixer check-data {shlex.quote(config)} --split {split}{options}'


def skip_switch(cfg: Config) -> bool:
    """The config's ``skip_broken_images`` (top level; default False), which must be a bool."""
    value = cfg.get(SKIP_SWITCH, False)
    if not isinstance(value, bool):
        usage_error(f'{SKIP_SWITCH}={value!r} must be True or False')
    return value


def use_checked_image_loading(cfg: Config, dataloaders: tuple[str, ...], config: str, cfg_options: dict | None) -> bool:
    """Put ``mmmixer.LoadImageChecked`` in place of ``LoadImageFromFile`` in the dataloaders' pipelines (same
    arguments), so that a broken image stops the run with one line, or, in the training set and with
    ``skip_broken_images=True``, is skipped. Returns whether training skips them."""
    skip = skip_switch(cfg)
    for name in dataloaders:
        loader = cfg.get(name)
        if not loader or not isinstance(loader.get('dataset'), dict):
            continue
        split = name.split('_')[0]
        for dataset in leaf_datasets(loader['dataset']):
            pipeline = dataset.get('pipeline')
            for i, transform in enumerate(pipeline or []):
                if isinstance(transform, dict) and transform.get('type') in IMAGE_LOADERS:
                    pipeline[i] = dict(
                        transform,
                        type='mmmixer.LoadImageChecked',
                        data_set=data_set_name(name, dataset),
                        find_all=check_data_command(config, split, cfg_options),
                        skip_broken=skip and name == 'train_dataloader',
                    )
    return skip and 'train_dataloader' in dataloaders and bool(cfg.get('train_dataloader'))


# ----------------------------------------------------------------------------- all of it, for train and test
def check_bad_input(cfg: Config, args, dataloaders: tuple[str, ...]) -> Callable[[], object] | None:
    """Everything above that a config of ``mmmixer train`` / ``test`` can get wrong, checked before the Runner
    is built; then the checked image loader put in the pipelines. Returns, when training skips broken images,
    the maker of the hook that reports them (:class:`~mmmixer.datasets.report.BrokenImageReport`)."""
    check_checkpoints(cfg)
    check_config_values(cfg, dataloaders)
    if not use_checked_image_loading(cfg, dataloaders, args.config, args.cfg_options):
        return None
    from mmmixer.datasets.report import BrokenImageReport

    train = cfg.train_dataloader.dataset
    data_set = data_set_name('train_dataloader', next(leaf_datasets(train), train))
    find_all = check_data_command(args.config, 'train', args.cfg_options)
    return partial(BrokenImageReport, data_set=data_set, find_all=find_all)


# ----------------------------------------------------------------------------- nothing left behind
NEW_WORK_DIR = '_mmmixer_new_work_dir'  # set on the Runner by the command lines: whether this run created it


def _trained(runner) -> bool:
    """Whether the run trained at least one iteration (``runner.iter`` would build a train loop that a test
    run never needed, so the loop is looked at only if it exists)."""
    from mmengine.runner import BaseLoop

    loop = runner._train_loop
    return isinstance(loop, BaseLoop) and loop.iter > 0


@contextlib.contextmanager
def nothing_left_by_a_refused_run(runner) -> Iterator[None]:
    """When one of our errors (a refused checkpoint, a config value, a broken image, an input of the wrong size)
    ends a run before it trained a single iteration, remove what the Runner wrote for it: its timestamped log
    folder, and the work dir if this run created it. A run that trained keeps its logs and checkpoints."""
    from mmmixer.checkpoint import CheckpointError

    try:
        yield
    except (CheckpointError, ConfigValueError, InputSizeError, BrokenImageError):
        if not _trained(runner) and runner.rank == 0:
            import logging
            import shutil

            for handler in runner.logger.handlers:  # close the log file before removing it
                if isinstance(handler, logging.FileHandler):
                    handler.close()
            work_dir = runner.work_dir
            shutil.rmtree(work_dir if getattr(runner, NEW_WORK_DIR, False) else runner.log_dir, ignore_errors=True)
        raise
