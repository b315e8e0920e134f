"""The parts a Runner builds for a run besides the model and the data (hooks, loops, metrics, optimizer, gradient
clipping, schedulers, visualizer, log processor), the sections a run needs, and the plain dicts it unpacks
(``randomness``, ``env_cfg``): walked for :func:`mmmixer.config.arguments.check_config_arguments`."""

from __future__ import annotations

from collections.abc import Iterator

from mmmixer.config.parts import CLIP_GRAD, Part, closest, describe_kinds, expect_dict, listing
from mmmixer.config.signatures import keywords_of
from mmmixer.errors import InputError

ENV_KEYS = {'cudnn_benchmark', 'mp_cfg', 'dist_cfg', 'resource_limit'}


def _metric_parts(key: str, evaluator) -> Iterator[Part]:
    from mmengine.registry import EVALUATOR, METRICS

    if isinstance(evaluator, list | tuple):
        for i, metric in enumerate(evaluator):
            if expect_dict(f'{key}.{i}', metric):
                yield Part(f'{key}.{i}', metric, (METRICS,), True)
    elif expect_dict(key, evaluator, may_be_none=True):
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
        if hooks is not None and expect_dict(f'default_hooks.{name}', hooks):
            yield Part(f'default_hooks.{name}', hooks, (HOOKS,), True)
    for i, hook in enumerate(cfg.get('custom_hooks') or ()):
        if expect_dict(f'custom_hooks.{i}', hook):
            yield Part(f'custom_hooks.{i}', hook, (HOOKS,), True)
    visualizer = cfg.get('visualizer')
    if isinstance(visualizer, dict):
        yield Part('visualizer', visualizer, (VISUALIZERS,), True, 'Visualizer')
        for i, backend in enumerate(visualizer.get('vis_backends') or ()):
            if expect_dict(f'visualizer.vis_backends.{i}', backend):
                yield Part(f'visualizer.vis_backends.{i}', backend, (VISBACKENDS,), True)
    if isinstance(cfg.get('log_processor'), dict):
        yield Part('log_processor', cfg.log_processor, (LOG_PROCESSORS,), True, 'LogProcessor')
    loops = [('test_cfg', 'TestLoop', 'test_evaluator')] if 'test_dataloader' in dataloaders else []
    if training:
        train_cfg = cfg.get('train_cfg')
        if expect_dict('train_cfg', train_cfg) and 'type' not in train_cfg and 'by_epoch' not in train_cfg:
            raise InputError('train_cfg has neither by_epoch nor type; add train_cfg.by_epoch=True (or False)')
        by_epoch = train_cfg.get('by_epoch', True)
        yield Part('train_cfg', train_cfg, (LOOPS,), True, 'EpochBasedTrainLoop' if by_epoch else 'IterBasedTrainLoop')
        loops += [('val_cfg', 'ValLoop', 'val_evaluator')] if 'val_dataloader' in dataloaders else []
        optim_wrapper = cfg.get('optim_wrapper')
        several = (
            isinstance(optim_wrapper, dict)
            and bool(optim_wrapper)
            and all(
                isinstance(value, dict) and ('optimizer' in value or 'type' in value)
                for value in optim_wrapper.values()
            )
        )
        if expect_dict('optim_wrapper', optim_wrapper) and ('optimizer' in optim_wrapper or not several):
            # one optimizer; a dict of wrapper dicts (one per part of the model, mmengine's multi-optimizer form) is not
            # checked here
            yield Part('optim_wrapper', optim_wrapper, (OPTIM_WRAPPERS,), True, 'OptimWrapper')
            if expect_dict('optim_wrapper.optimizer', optim_wrapper.get('optimizer'), may_be_none=True):
                yield Part('optim_wrapper.optimizer', optim_wrapper.optimizer, (OPTIMIZERS,), True)
            if expect_dict('optim_wrapper.clip_grad', optim_wrapper.get('clip_grad'), may_be_none=True):
                yield Part('optim_wrapper.clip_grad', optim_wrapper.clip_grad, (CLIP_GRAD,), True, 'norm')
        schedulers = cfg.get('param_scheduler')
        for i, scheduler in enumerate(schedulers if isinstance(schedulers, list | tuple) else [schedulers]):
            key = f'param_scheduler.{i}' if isinstance(schedulers, list | tuple) else 'param_scheduler'
            if expect_dict(key, scheduler, may_be_none=True):
                yield Part(key, scheduler, (PARAM_SCHEDULERS,), True)
    for name, default, evaluator in loops:
        if cfg.get(name) is not None and expect_dict(name, cfg[name]):
            yield Part(name, cfg[name], (LOOPS,), True, default)
        yield from _metric_parts(evaluator, cfg.get(evaluator))


def _check_plain_keys(key: str, given: dict, keywords, not_for_configs: set) -> None:
    """A plain dict whose keys are the keywords of a function the Runner calls with it."""
    accepted = keywords.accepted - not_for_configs
    for name in sorted(keywords.required - not_for_configs - set(given)):
        raise InputError(f'{key} has no {name}; add {key}.{name}=... (or restore it in the config)')
    for name in sorted(set(given) - accepted):
        raise InputError(f"{key}: unknown argument '{name}'{closest(name, accepted)}")
    for name in sorted(set(given) & set(keywords.types)):
        if not isinstance(given[name], keywords.types[name]):
            raise InputError(f'{key}: {name}={given[name]!r} must be {describe_kinds(keywords.types[name])}')


def check_plain_sections(cfg) -> None:
    """``randomness`` (the Runner's ``set_randomness`` arguments) and ``env_cfg`` (whose unknown keys mmengine
    would ignore without a word)."""
    from mmengine.runner import Runner
    from mmengine.utils.dl_utils import set_multi_processing

    for name in ('randomness', 'env_cfg'):  # the Runner unpacks these: None is no dict (leave the key out instead)
        if name in cfg:
            expect_dict(name, cfg[name])
    randomness = cfg.get('randomness')
    if expect_dict('randomness', randomness, may_be_none=True):
        _check_plain_keys('randomness', randomness, keywords_of(Runner.set_randomness), {'self'})
        seed = randomness.get('seed')
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32):
            raise InputError(f'randomness: seed={seed!r} must be an int from 0 to 2**32 - 1 (numpy takes no other)')
    mp_cfg = (cfg.get('env_cfg') or {}).get('mp_cfg') if isinstance(cfg.get('env_cfg'), dict) else None
    if isinstance(mp_cfg, dict):
        _check_plain_keys('env_cfg.mp_cfg', mp_cfg, keywords_of(set_multi_processing), {'distributed'})
    env_cfg = cfg.get('env_cfg')
    if expect_dict('env_cfg', env_cfg, may_be_none=True):
        for key in sorted(set(env_cfg) - ENV_KEYS):
            raise InputError(
                f"env_cfg: unknown key '{key}'{closest(key, ENV_KEYS)} (env_cfg takes {listing(ENV_KEYS)})"
            )
        for key in ('mp_cfg', 'dist_cfg'):
            expect_dict(f'env_cfg.{key}', env_cfg.get(key), may_be_none=True)
        threads = (env_cfg.get('mp_cfg') or {}).get('opencv_num_threads', 0)
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
            raise InputError(f'env_cfg.mp_cfg: opencv_num_threads={threads!r} must be an int, 0 or more')
        method = (env_cfg.get('mp_cfg') or {}).get('mp_start_method', 'fork')
        if method not in ('fork', 'spawn', 'forkserver'):
            raise InputError(f"env_cfg.mp_cfg: mp_start_method={method!r} must be 'fork', 'spawn' or 'forkserver'")


def check_sections(cfg, dataloaders: tuple[str, ...]) -> None:
    """The sections a run needs, all or none of each trio, each a dict (mmengine's Runner asks the same, later, in a
    traceback)."""
    trios = []
    if 'train_dataloader' in dataloaders:
        trios.append(('train_dataloader', 'train_cfg', 'optim_wrapper'))
    if 'val_dataloader' in dataloaders:
        trios.append(('val_dataloader', 'val_cfg', 'val_evaluator'))
    if 'test_dataloader' in dataloaders:
        trios.append(('test_dataloader', 'test_cfg', 'test_evaluator'))
    for trio in trios:
        missing = [name for name in trio if cfg.get(name) is None]
        if missing and (len(missing) < 3 or trio[0] != 'val_dataloader'):  # validation may be off as a whole
            given = [name for name in trio if name not in missing]
            raise InputError(
                f'{" and ".join(missing)} missing or None{f" while {given[0]} is set" if given else ""}: a run needs '
                f'all of {", ".join(trio)}'
                + ('; or none of them (no validation)' if trio[0] == 'val_dataloader' else '')
            )
        for name in trio[:2]:
            expect_dict(name, cfg.get(name), may_be_none=True)
    for name in ('default_hooks', 'data_preprocessor', 'visualizer', 'log_processor', 'randomness', 'env_cfg'):
        expect_dict(name, cfg.get(name), may_be_none=True)
    if not isinstance(cfg.get('custom_hooks') or [], list | tuple):
        raise InputError(f'custom_hooks={cfg.custom_hooks!r} must be a list of hook dicts')
