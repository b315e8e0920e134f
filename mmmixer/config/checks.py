"""Bad input in a config, found before a command starts its real work (nothing written, nothing logged yet).

Each check raises an :class:`~mmmixer.errors.InputError` whose message is one line (the command lines print it and
exit with code 2):

* config values that our backbone, neck or transforms reject (:class:`~mmmixer.errors.ConfigValueError`): those
  parts are built on the meta device (no memory, no weights) before mmengine's Runner exists, and the line names
  the config key (``model.backbone: ...``);
* ``load_from`` / ``--resume`` naming a directory or a missing file;
* a data set that is not on disk;
* ``skip_broken_images`` that is not a bool.
"""

from __future__ import annotations

import os.path as osp
import re
import warnings
from collections.abc import Iterator

from mmengine.config import Config

from mmmixer.config.arguments import check_config_arguments, leaf_datasets
from mmmixer.config.dry_build import dry_build_hooks, dry_build_model, dry_build_optimizer, dry_build_pipelines
from mmmixer.errors import ConfigValueError, InputError

SKIP_SWITCH = 'skip_broken_images'
URL = re.compile(r'[\w.+-]+://')


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
    """Check every key of the parts a run of ``dataloaders`` builds against their constructors
    (:func:`~mmmixer.config.arguments.check_config_arguments`: unknown, missing, misspelt), then build our parts
    of ``cfg.model`` (on the meta device) and of the dataloaders' pipelines; a value they reject raises
    ``ConfigValueError('<config key>: <why and the fix>')``. Other errors propagate."""
    import torch
    from mmengine.registry import HOOKS, MODELS, TRANSFORMS, init_default_scope

    scope = cfg.get('default_scope', 'mmpretrain')
    if scope:
        init_default_scope(scope)
    check_config_arguments(cfg, dataloaders)  # a misspelt or missing key: one line, before anything is built
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
                    raise type(error)(f'{key}: {error}') from None
    with MODELS.switch_scope_and_registry(scope) as registry:
        dry_build_model(cfg, registry, training='train_dataloader' in dataloaders)  # mmpretrain's, mmdet's parts too
        warn_single_scale_pyramid(cfg.get('model'), registry)
    with TRANSFORMS.switch_scope_and_registry(scope) as registry:
        dry_build_pipelines(cfg, dataloaders, registry)
    if dataloaders:
        with HOOKS.switch_scope_and_registry(scope) as registry:
            dry_build_hooks(cfg, registry)
    if 'train_dataloader' in dataloaders:
        dry_build_optimizer(cfg)


def warn_single_scale_pyramid(model, registry) -> None:
    """Warn when a multi-level neck (mmdet's ``FPN``, ...) takes a Mixer's outputs directly: every output of a Mixer
    has the patch grid's one stride, so the "pyramid" would have one scale; ``mmmixer.MixerPyramidNeck`` makes the
    levels first."""
    if not isinstance(model, dict) or not isinstance(model.get('backbone'), dict):
        return
    backbone, neck = model['backbone'], model.get('neck')
    first_neck = neck[0] if isinstance(neck, list | tuple) and neck else neck
    if _our_class(registry, backbone.get('type')) is None or not isinstance(first_neck, dict):
        return
    if _our_class(registry, first_neck.get('type')) is not None:
        return  # MixerPyramidNeck (or another of ours) makes the scales
    levels = first_neck.get('in_channels')
    if isinstance(levels, list | tuple) and len(levels) > 1:
        warnings.warn(
            f'model.neck: {first_neck.get("type")} takes {len(levels)} levels, but every output of '
            f'{backbone.get("type")} has the same stride (its patch size), so they would form a pyramid of one '
            "scale; put dict(type='mmmixer.MixerPyramidNeck', ...) first (see configs/detection/)",
            UserWarning,
            stacklevel=2,
        )


# ----------------------------------------------------------------------------- checkpoints
def check_checkpoint_path(path, what: str) -> None:
    """A local checkpoint (``load_from``, ``--resume``, ``CHECKPOINT``) that is missing or a directory."""
    if not isinstance(path, str) or not path or URL.match(path):
        return
    if osp.isdir(path):
        latest, hint = osp.join(path, 'last_checkpoint'), ''
        if osp.isfile(latest):  # mmengine's CheckpointHook writes it: the path of the newest checkpoint
            with open(latest) as f:
                hint = f' ({latest} names {f.read().strip()})'
        latest_of_work_dir = "; --resume with no value resumes from the work dir's latest" if what == '--resume' else ''
        raise InputError(
            f'{what} {path} is a directory; name a checkpoint file in it (e.g. {path}/epoch_N.pth){hint}'
            + latest_of_work_dir
        )
    if not osp.exists(path):
        raise InputError(f'{what} {path} does not exist')


def check_checkpoints(cfg: Config) -> None:
    """``load_from`` (also set by ``--resume CKPT``) names a file that exists."""
    what = '--resume' if cfg.get('resume') and cfg.get('load_from') else 'load_from'
    check_checkpoint_path(cfg.get('load_from'), what)


# ----------------------------------------------------------------------------- data sets
def _leaf_dataset_paths(dataset: dict) -> list[str]:
    root = dataset.get('data_root') or ''
    paths = []
    prefix = dataset.get('data_prefix') or dataset.get('split')  # mmpretrain's ImageNet reads root/<split>
    prefixes = prefix.values() if isinstance(prefix, dict) else [prefix]
    paths += [osp.join(root, p) for p in prefixes if isinstance(p, str) and p]
    ann_file = dataset.get('ann_file')
    if isinstance(ann_file, str) and ann_file:
        paths.append(osp.join(root, ann_file))
    if not paths and root:
        paths.append(root)
    return paths


def check_datasets_exist(cfg: Config, dataloaders: tuple[str, ...]) -> None:
    """Fail in the first second, with the fix, when a configured dataset is not on disk (otherwise the error would
    surface later as a traceback from a dataloader worker)."""
    problems = []
    for name in dataloaders:
        loader = cfg.get(name)
        if not isinstance(loader, dict) or 'dataset' not in loader:  # a loader that is no dict: refused later
            continue
        for leaf in leaf_datasets(loader['dataset']):
            problems += [(name, path) for path in _leaf_dataset_paths(leaf) if not osp.exists(path)]
    if not problems:
        return
    lines = ['dataset not found:']
    lines += [f'  {name}: looked for {osp.abspath(path)}' for name, path in problems]
    lines.append(
        'Put the data there (mmpretrain ImageNet layout: data/imagenet/{train,val}, meta/{train,val}.txt), '
        'or point every dataloader elsewhere with: --data-root /path/to/data'
    )
    raise InputError('\n'.join(lines))


def skip_switch(cfg: Config) -> bool:
    """The config's ``skip_broken_images`` (top level; default False), which must be a bool."""
    value = cfg.get(SKIP_SWITCH, False)
    if not isinstance(value, bool):
        raise InputError(f'{SKIP_SWITCH}={value!r} must be True or False')
    return value


# ----------------------------------------------------------------------------- what the config imports
def import_config_modules(cfg: Config) -> None:
    """The heavy imports, done after the cheap checks so that bad input fails within a second: mmmixer (models,
    safe checkpoint loading) and the config's ``custom_imports``; a detection or segmentation config where mmcv's
    compiled ops or mmdet/mmseg are missing raises :class:`~mmmixer.environment.MissingCompiledOpsError`."""
    import mmmixer  # noqa: F401
    from mmmixer.environment import check_compiled_ops

    check_compiled_ops(cfg)
    if cfg.get('custom_imports'):
        from mmengine.utils import import_modules_from_strings

        import_modules_from_strings(**cfg.custom_imports)


def check_config(cfg: Config, dataloaders: tuple[str, ...]) -> None:
    """Every check above that applies to a run of ``dataloaders`` (train: train and val; test: test), the cheap ones
    first; the config's modules are imported before its parts are built."""
    check_checkpoints(cfg)
    check_datasets_exist(cfg, dataloaders)
    skip_switch(cfg)
    import_config_modules(cfg)
    check_config_values(cfg, dataloaders)
