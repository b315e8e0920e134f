"""A config's keys checked against the constructors that will receive them, before anything is built.

mmengine's Runner builds its parts lazily: the model and hooks when it starts, the dataloaders, optimizer, schedulers
and loops at ``train()``, the validation loop after the first epoch. A misspelt key then ends as ``TypeError:
X.__init__() got an unexpected keyword argument 'archh'``, perhaps minutes later, after the work dir was written,
and the message does not say which part of the config it came from (two heads of one class look the same).
Parsing that message would fix none of this, so the config is walked once instead: every dict with a ``type`` is
resolved through the registry and scope that will build it, and its keys compared with the constructor's signature
(:mod:`mmmixer.config.signatures`). One line comes back, naming the config key and the closest names::

    model.backbone: unknown argument 'archh'; did you mean 'arch'?

Where the registry that builds a part is certain (the model and its backbone/neck/head, data sets, pipelines,
samplers, metrics, hooks, optimizers, schedulers, loops), an unknown ``type`` and a missing required argument are
reported too. Deeper parts of a model (losses of a detector, its assigners, layers' ``norm_cfg``) are looked up in
the model and task-utility registries; a type found in neither is left to the build, which knows best.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import NamedTuple

from mmmixer.config.signatures import keywords_of
from mmmixer.errors import InputError

# Parts that a model's constructor builds itself from MODELS (the registry is certain).
MODEL_PARTS = ('backbone', 'neck', 'head', 'data_preprocessor', 'decode_head', 'auxiliary_head', 'rpn_head', 'roi_head')
# Keys a builder takes out before the constructor sees them, per registry name.
BUILDER_KEYS = {
    'optim_wrapper': {'constructor', 'paramwise_cfg'},
    'parameter scheduler': {'convert_to_iter_based'},
    'hook': {'priority'},
    'loop': {'by_epoch'},
    'model': {'requires_grad'},  # mmcv's build_norm_layer: norm_cfg=dict(type='BN', requires_grad=True)
}
# Arguments a builder passes itself (the config must not), per registry name.
INJECTED = {
    'data sampler': {'dataset', 'seed', 'sampler', 'batch_size'},
    'optimizer': {'params'},
    'parameter scheduler': {'optimizer', 'epoch_length'},
    'loop': {'runner', 'dataloader', 'evaluator'},
    'visualizer': {'name', 'save_dir'},
    'vis_backend': {'save_dir'},
}
DATALOADER_KEYS = {'dataset', 'sampler', 'batch_sampler', 'collate_fn', 'worker_init_fn', 'num_batch_per_epoch'}
ENV_KEYS = {'cudnn_benchmark', 'mp_cfg', 'dist_cfg', 'resource_limit'}


class Part(NamedTuple):
    key: str  # where it is in the config: model.backbone
    cfg: dict
    registries: tuple  # where its type is looked up, first match wins
    certain: bool  # whether the first registry is surely the one that builds it
    default_type: str | None = None  # the type a builder gives a dict without one


def closest(name: str, names) -> str:
    """``; did you mean 'arch'?``, or nothing."""
    match = difflib.get_close_matches(str(name), sorted(map(str, names)), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ''


def _known_types(registry) -> set[str]:
    names, node = set(registry.module_dict), registry.parent
    while node is not None:  # unprefixed names resolve through the parents
        names |= set(node.module_dict)
        node = node.parent
    for scope, child in registry._get_root_registry()._children.items():
        names |= {f'{scope}.{name}' for name in child.module_dict}
    return names


def _resolve(part: Part, scope: str | None):
    """The class or function ``part`` builds; None where the type is found in none of its registries."""
    kind = part.cfg.get('type', part.default_type)
    if kind is None:
        raise InputError(f"{part.key} has no type; add {part.key}.type='...' (or restore it in the config)")
    if not isinstance(kind, str):
        if callable(kind):
            return kind
        raise InputError(f"{part.key}: type={kind!r} is not a class name; name a registered type, e.g. type='...'")
    scope = part.cfg.get('_scope_', scope)
    for registry in part.registries:
        try:
            if registry.name == 'function':  # the Runner looks collate functions up in mmengine's, unscoped
                found = registry.get(kind)
            else:
                with registry.switch_scope_and_registry(scope) as scoped:
                    found = scoped.get(kind)
        except (KeyError, RuntimeError):  # mmengine's "Failed to get" for a dotted name that is no module
            found = None
        if found is not None:
            return found
    if part.certain:
        with part.registries[0].switch_scope_and_registry(scope) as scoped:
            raise InputError(f"{part.key}: unknown type '{kind}'{closest(kind, _known_types(scoped))}")
    return None


def check_part(part: Part, scope: str | None) -> None:
    """One part's keys against its constructor: unknown ones, and (where certain) missing required ones."""
    target = _resolve(part, scope)
    keywords = keywords_of(target) if target is not None else None
    if keywords is None:
        return
    name = getattr(part.registries[0], 'name', '')
    given = set(part.cfg) - {'type', '_scope_'} - BUILDER_KEYS.get(name, set())
    for key in sorted(given - keywords.accepted):
        hint = closest(key, keywords.accepted) or f' ({_name(target)} takes {_listing(keywords.accepted)})'
        raise InputError(f"{part.key}: unknown argument '{key}'{hint}")
    if part.certain:
        missing = sorted(keywords.required - given - INJECTED.get(name, set()))
        if missing:
            raise InputError(
                f'{part.key}: {_name(target)} needs {", ".join(missing)}; add {part.key}.{missing[0]}=... '
                '(or restore it in the config)'
            )


def _name(target) -> str:
    return getattr(target, '__name__', str(target))


def _listing(names) -> str:
    shown = sorted(names)
    return ', '.join(shown[:12]) + (', ...' if len(shown) > 12 else '')


def _expect_dict(key: str, node, may_be_none: bool = False) -> bool:
    """Whether ``node`` is a config dict; a value of another kind is one line."""
    if isinstance(node, dict):
        return True
    if node is None and may_be_none:
        return False
    raise InputError(f'{key}={node!r} must be a dict (e.g. {key}=dict(type=...)); restore it in the config')


def _model_parts(key: str, node, registries, certain: bool) -> Iterator[Part]:
    """Every dict with a type inside a model config (layers, losses, assigners ...)."""
    models, *others = registries
    if isinstance(node, dict):
        if 'type' in node:
            yield Part(key, node, registries, certain)
        for name, value in node.items():
            if name == 'init_cfg' or name == 'type':
                continue  # weight initialisers, built (and checked) by mmengine's initialiser
            child_certain = name in MODEL_PARTS and 'type' in node
            if child_certain and value is not None:
                _expect_dict(f'{key}.{name}', value)
            yield from _model_parts(f'{key}.{name}', value, registries, child_certain)
    elif isinstance(node, list | tuple):
        for i, value in enumerate(node):
            yield from _model_parts(f'{key}.{i}', value, registries, False)


def _dataset_parts(key: str, dataset) -> Iterator[Part]:
    from mmengine.registry import DATASETS, TRANSFORMS

    if not _expect_dict(key, dataset):
        return
    yield Part(key, dataset, (DATASETS,), True)
    for inner in ('dataset',):  # RepeatDataset, ClassBalancedDataset ...
        if isinstance(dataset.get(inner), dict):
            yield from _dataset_parts(f'{key}.{inner}', dataset[inner])
    for i, child in enumerate(dataset.get('datasets') or ()):  # ConcatDataset
        yield from _dataset_parts(f'{key}.datasets.{i}', child)
    yield from _pipeline_parts(f'{key}.pipeline', dataset.get('pipeline'), TRANSFORMS)


def _pipeline_parts(key: str, pipeline, transforms) -> Iterator[Part]:
    if pipeline is None:
        return
    if not isinstance(pipeline, list | tuple):
        raise InputError(f'{key}={pipeline!r} must be a list of transforms; restore it in the config')
    for i, transform in enumerate(pipeline):
        if callable(transform):
            continue
        _expect_dict(f'{key}.{i}', transform)
        yield Part(f'{key}.{i}', transform, (transforms,), True)
        for inner in ('transforms',):  # RandomApply, RandomChoice, KeyMapper ...
            nested = transform.get(inner)
            if isinstance(nested, list | tuple) and all(isinstance(t, dict) for t in nested):
                yield from _pipeline_parts(f'{key}.{i}.{inner}', nested, transforms)


def dataloader_parts(cfg, name: str) -> Iterator[Part]:
    from mmengine.registry import DATA_SAMPLERS, FUNCTIONS

    loader = cfg.get(name)
    if not _expect_dict(name, loader, may_be_none=True):
        return
    _check_dataloader_keys(name, loader)
    yield from _dataset_parts(f'{name}.dataset', loader.get('dataset'))
    for sampler in ('sampler', 'batch_sampler'):
        if loader.get(sampler) is not None and _expect_dict(f'{name}.{sampler}', loader[sampler]):
            yield Part(f'{name}.{sampler}', loader[sampler], (DATA_SAMPLERS,), True)
    collate = loader.get('collate_fn')
    if isinstance(collate, dict):
        yield Part(f'{name}.collate_fn', collate, (FUNCTIONS,), False, 'pseudo_collate')


def _check_dataloader_keys(name: str, loader: dict) -> None:
    from torch.utils.data import DataLoader

    accepted = (keywords_of(DataLoader).accepted if keywords_of(DataLoader) else set()) | DATALOADER_KEYS
    for key in sorted(set(loader) - accepted):
        raise InputError(f"{name}: unknown argument '{key}'{closest(key, accepted)}")
    for key in ('dataset', 'sampler'):
        if key not in loader:
            raise InputError(f'{name} has no {key}; restore {name}.{key} in the config')


def _metric_parts(key: str, evaluator) -> Iterator[Part]:
    from mmengine.registry import EVALUATOR, METRICS

    if isinstance(evaluator, list | tuple):
        for i, metric in enumerate(evaluator):
            if _expect_dict(f'{key}.{i}', metric):
                yield Part(f'{key}.{i}', metric, (METRICS,), True)
    elif _expect_dict(key, evaluator, may_be_none=True):
        if 'metrics' in evaluator:
            yield Part(key, evaluator, (EVALUATOR,), True, 'Evaluator')
            yield from _metric_parts(f'{key}.metrics', evaluator['metrics'])
        else:
            yield Part(key, evaluator, (METRICS,), True)


def runtime_parts(cfg, dataloaders: tuple[str, ...]) -> Iterator[Part]:
    """The parts a Runner builds for a run of ``dataloaders`` besides the model and the dataloaders."""
    from mmengine.registry import (
        HOOKS,
        LOG_PROCESSORS,
        LOOPS,
        OPTIM_WRAPPERS,
        OPTIMIZERS,
        PARAM_SCHEDULERS,
        VISBACKENDS,
        VISUALIZERS,
    )

    training = 'train_dataloader' in dataloaders
    for name, hooks in (cfg.get('default_hooks') or {}).items():
        if hooks is not None and _expect_dict(f'default_hooks.{name}', hooks):
            yield Part(f'default_hooks.{name}', hooks, (HOOKS,), True)
    for i, hook in enumerate(cfg.get('custom_hooks') or ()):
        if _expect_dict(f'custom_hooks.{i}', hook):
            yield Part(f'custom_hooks.{i}', hook, (HOOKS,), True)
    visualizer = cfg.get('visualizer')
    if isinstance(visualizer, dict):
        yield Part('visualizer', visualizer, (VISUALIZERS,), True, 'Visualizer')
        for i, backend in enumerate(visualizer.get('vis_backends') or ()):
            if _expect_dict(f'visualizer.vis_backends.{i}', backend):
                yield Part(f'visualizer.vis_backends.{i}', backend, (VISBACKENDS,), True)
    if isinstance(cfg.get('log_processor'), dict):
        yield Part('log_processor', cfg.log_processor, (LOG_PROCESSORS,), True, 'LogProcessor')
    loops = [('test_cfg', 'TestLoop', 'test_evaluator')] if 'test_dataloader' in dataloaders else []
    if training:
        train_cfg = cfg.get('train_cfg')
        if _expect_dict('train_cfg', train_cfg) and 'type' not in train_cfg and 'by_epoch' not in train_cfg:
            raise InputError('train_cfg has neither by_epoch nor type; add train_cfg.by_epoch=True (or False)')
        by_epoch = train_cfg.get('by_epoch', True)
        yield Part('train_cfg', train_cfg, (LOOPS,), True, 'EpochBasedTrainLoop' if by_epoch else 'IterBasedTrainLoop')
        loops += [('val_cfg', 'ValLoop', 'val_evaluator')] if 'val_dataloader' in dataloaders else []
        optim_wrapper = cfg.get('optim_wrapper')
        if _expect_dict('optim_wrapper', optim_wrapper) and 'optimizer' in optim_wrapper:
            yield Part('optim_wrapper', optim_wrapper, (OPTIM_WRAPPERS,), True, 'OptimWrapper')
            if _expect_dict('optim_wrapper.optimizer', optim_wrapper.optimizer):
                yield Part('optim_wrapper.optimizer', optim_wrapper.optimizer, (OPTIMIZERS,), True)
        schedulers = cfg.get('param_scheduler')
        for i, scheduler in enumerate(schedulers if isinstance(schedulers, list | tuple) else [schedulers]):
            key = f'param_scheduler.{i}' if isinstance(schedulers, list | tuple) else 'param_scheduler'
            if _expect_dict(key, scheduler, may_be_none=True):
                yield Part(key, scheduler, (PARAM_SCHEDULERS,), True)
    for name, default, evaluator in loops:
        if cfg.get(name) is not None and _expect_dict(name, cfg[name]):
            yield Part(name, cfg[name], (LOOPS,), True, default)
        yield from _metric_parts(evaluator, cfg.get(evaluator))


def _check_plain_sections(cfg) -> None:
    """``randomness`` (the Runner's ``set_randomness`` arguments) and ``env_cfg`` (whose unknown keys mmengine
    would ignore without a word)."""
    from mmengine.runner import Runner

    randomness = cfg.get('randomness')
    if _expect_dict('randomness', randomness, may_be_none=True):
        accepted = keywords_of(Runner.set_randomness).accepted - {'self'}
        for key in sorted(set(randomness) - accepted):
            raise InputError(f"randomness: unknown argument '{key}'{closest(key, accepted)}")
    env_cfg = cfg.get('env_cfg')
    if _expect_dict('env_cfg', env_cfg, may_be_none=True):
        for key in sorted(set(env_cfg) - ENV_KEYS):
            raise InputError(f"env_cfg: unknown key '{key}'{closest(key, ENV_KEYS)} (env_cfg takes {_listing(ENV_KEYS)})")


def check_config_arguments(cfg, dataloaders: tuple[str, ...] = ()) -> None:
    """Every part of ``cfg`` that a run of ``dataloaders`` builds (only the model for ``()``): an unknown argument,
    an unknown type or (where the builder is certain) a missing argument raises :class:`InputError`."""
    from mmengine.registry import MODELS, TASK_UTILS

    scope = cfg.get('default_scope', 'mmpretrain')
    if 'model' not in cfg or not _expect_dict('model', cfg.model):
        raise InputError("the config has no model; add model=dict(type=...) (or inherit a config that has one)")
    parts = list(_model_parts('model', cfg.model, (MODELS, TASK_UTILS), True))
    for name in dataloaders:
        parts += list(dataloader_parts(cfg, name))
    if dataloaders:
        parts += list(runtime_parts(cfg, dataloaders))
        _check_plain_sections(cfg)
    for part in parts:
        check_part(part, scope)
