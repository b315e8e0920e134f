"""The model's parts built on the meta device (shapes only: no memory, no weights, milliseconds) before the Runner
exists, so that a value a constructor refuses, or a model that cannot fit in memory, is one line naming the config
key, not a traceback (or an out-of-memory kill) after the Runner wrote its work dir.

A constructor refuses an argument by raising ``ValueError``, ``TypeError`` or (mmpretrain's and mmdet's habit)
``AssertionError`` (mmengine's registry a ``KeyError`` for a sub-part without a known ``type``, a pair that is too short
an ``IndexError``, torch a ``RuntimeError`` for a negative size); only those, raised while building one config part,
become a line. Anything else propagates.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterator

from mmmixer.config.arguments import MODEL_PARTS, data_preprocessor, leaf_datasets
from mmmixer.errors import ConfigValueError, InputError

REFUSALS = (ValueError, TypeError, AssertionError, KeyError, IndexError)  # Key/IndexError: a part's parts, pairs
# Bytes per float32 weight while training with Adam(W): the weight, its gradient and two moments.
TRAINING_BYTES_PER_WEIGHT_BYTE = 4


def _refusal_line(key: str, kind: str, error: BaseException) -> str:
    text = error.args[0] if isinstance(error, KeyError) and error.args else error  # KeyError's str() adds quotes
    message = (str(text).strip().splitlines() or [''])[0]
    if not message:  # a bare assert: show its line
        frame = traceback.extract_tb(error.__traceback__)[-1]
        message = f'{type(error).__name__} at {os.path.basename(frame.filename)}:{frame.lineno}: {frame.line}'
    return f'{key}: {kind} refused its arguments: {message}'


def model_parts(cfg) -> Iterator[tuple[str, dict]]:
    """``(config key, config)`` of the parts a model's constructor builds from MODELS (backbone, neck, head ...,
    and the data preprocessor)."""
    model = cfg.model
    preprocessor = data_preprocessor(cfg)
    if preprocessor is not None:
        yield preprocessor
    for name in MODEL_PARTS:
        if name == 'data_preprocessor':
            continue
        part = model.get(name)
        parts = part if isinstance(part, list | tuple) else [part]
        for i, one in enumerate(parts):
            if isinstance(one, dict) and 'type' in one:
                yield (f'model.{name}.{i}' if isinstance(part, list | tuple) else f'model.{name}'), one


def _check_normalisation_values(key: str, part: dict) -> None:
    for name in ('mean', 'std'):
        value = part.get(name)
        numbers = isinstance(value, list | tuple) and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value
        )
        if key.endswith('data_preprocessor') and value is not None and not numbers:
            raise InputError(f'{key}: {name}={value!r} must be a list of numbers, one per channel (or None)')


def _check_normalisation(built: dict) -> None:
    """``mean`` and ``std`` of an image preprocessor: one value, or one per channel (3), and as many of each."""
    for key, module in built.items():
        mean, std = getattr(module, 'mean', None), getattr(module, 'std', None)
        if key.endswith('data_preprocessor') and mean is not None and std is not None:
            counts = (mean.numel(), std.numel())
            if counts[0] != counts[1] or counts[0] not in (1, 3):
                raise InputError(
                    f'{key}: mean has {counts[0]} values and std {counts[1]}; give 3 of each (one per channel) or 1'
                )


def _check_head_width(model: dict, built: dict) -> None:
    """A classifier's ``head.in_channels`` against the channels its backbone gives (a Mixer's ``embed_dims``), where
    the neck keeps them (none, or a pooling): the first batch would otherwise fail in the head's matrix product."""
    backbone, head = built.get('model.backbone'), model.get('head')
    width = getattr(backbone, 'embed_dims', None)
    neck = model.get('neck')
    if not isinstance(width, int) or not isinstance(head, dict) or 'in_channels' not in head:
        return
    if neck is not None and not (isinstance(neck, dict) and 'Pool' in str(neck.get('type'))):
        return
    if head['in_channels'] != width:
        raise InputError(
            f'model.head: in_channels={head["in_channels"]!r} but the backbone gives {width} channels '
            f'(its embed_dims); set model.head.in_channels={width}'
        )


# torch's own words for tensors whose shapes do not fit (matmul, broadcasting, layer_norm, conv channels)
SHAPE_MISMATCH = (
    'cannot be multiplied',
    'must match the size',
    'size mismatch',
    'to have the same shape',
    'expected input with shape',
    'to have 3 channels',
    'but got input of size',
    'must have same reduction dim',
)


def _check_parts_fit(built: dict) -> None:
    """A classifier's backbone -> neck -> head run on one meta image of the backbone's size: parts whose shapes do
    not fit (a neck pooling the wrong dimension, a head of another width) are one line now, not a traceback at the
    first batch. Only a shape error becomes a line; an op without a meta kernel skips the check."""
    import torch

    from mmmixer.analysis.complexity import model_input_size

    backbone, neck, head = (built.get(f'model.{name}') for name in ('backbone', 'neck', 'head'))
    if backbone is None or head is None or not hasattr(backbone, 'img_size'):
        return
    image = torch.zeros(1, 3, *model_input_size(torch.nn.ModuleDict({'backbone': backbone})), device='meta')
    try:
        with torch.no_grad():
            features = backbone(image)
            head(neck(features) if neck is not None else features)
    except NotImplementedError:  # an op with no meta kernel: cannot tell here
        return
    except RuntimeError as error:
        message = (str(error).strip().splitlines() or [''])[0]
        if not any(sign in message for sign in SHAPE_MISMATCH):
            raise
        raise InputError(
            f"model: the backbone's output does not fit the neck and head ({message}); check model.neck and "
            'model.head.in_channels against the backbone'
        ) from None


def dry_build_pipelines(cfg, dataloaders: tuple[str, ...], registry) -> None:
    """Every transform of the dataloaders' pipelines, built (transforms hold settings only): a refused value is one
    line naming the transform's config key."""
    for name in dataloaders:
        loader = cfg.get(name)
        if not isinstance(loader, dict):
            continue
        for d, dataset in enumerate(leaf_datasets(loader.get('dataset'))):
            for i, transform in enumerate(dataset.get('pipeline') or ()):
                if not isinstance(transform, dict):
                    continue
                try:
                    registry.build(transform)
                except ConfigValueError as error:
                    raise type(error)(f'{name}.dataset.pipeline.{i}: {error}') from None
                except REFUSALS as error:
                    key = f'{name}.dataset.pipeline.{i}' if d == 0 else f'{name} (data set {d}) pipeline.{i}'
                    raise InputError(_refusal_line(key, str(transform.get('type')), error)) from None


def dry_build_hooks(cfg, registry) -> None:
    """``default_hooks`` and ``custom_hooks``, built (a hook holds settings; the Runner builds them when it starts):
    a refused value (``interval=-1``) is one line. A hook that asks for the Runner's visualizer cannot be built before
    the Runner exists; it is left to the Runner."""
    hooks = [(f'default_hooks.{name}', hook) for name, hook in (cfg.get('default_hooks') or {}).items()]
    hooks += [(f'custom_hooks.{i}', hook) for i, hook in enumerate(cfg.get('custom_hooks') or ())]
    for key, hook in hooks:
        if not isinstance(hook, dict):
            continue
        try:
            registry.build({k: v for k, v in hook.items() if k != 'priority'})
        except REFUSALS as error:
            raise InputError(_refusal_line(key, str(hook.get('type')), error)) from None
        except RuntimeError as error:
            if 'get_current_instance' not in str(error):  # mmengine's ManagerMixin: no visualizer yet
                raise


def dry_build_optimizer(cfg) -> None:
    """The optimizer over one stand-in weight, and the parameter schedulers on it, as the Runner builds them: values
    they refuse (a negative learning rate, a scheduler that cannot be converted) are one line."""
    import copy

    import torch
    from mmengine.registry import OPTIMIZERS, PARAM_SCHEDULERS

    optim_wrapper = cfg.get('optim_wrapper')
    if not isinstance(optim_wrapper, dict) or not isinstance(optim_wrapper.get('optimizer'), dict):
        return
    optimizer_cfg = dict(optim_wrapper.optimizer, params=[torch.nn.Parameter(torch.zeros(1))])
    try:
        optimizer = OPTIMIZERS.build(optimizer_cfg)
    except REFUSALS as error:
        raise InputError(_refusal_line('optim_wrapper.optimizer', str(optimizer_cfg.get('type')), error)) from None
    schedulers = cfg.get('param_scheduler')
    schedulers = schedulers if isinstance(schedulers, list | tuple) else [schedulers] if schedulers else []
    train_cfg = cfg.get('train_cfg') if isinstance(cfg.get('train_cfg'), dict) else {}
    for i, scheduler in enumerate(schedulers):
        if not isinstance(scheduler, dict):
            continue
        key = f'param_scheduler.{i}' if isinstance(cfg.param_scheduler, list | tuple) else 'param_scheduler'
        scheduler = copy.deepcopy(dict(scheduler))
        length = train_cfg.get('max_epochs') if scheduler.get('by_epoch', True) else train_cfg.get('max_iters')
        if isinstance(length, int):
            scheduler.setdefault('end', length)  # as the Runner does
        try:
            if scheduler.pop('convert_to_iter_based', False):
                kind = PARAM_SCHEDULERS.get(scheduler.pop('type'))
                kind.build_iter_from_epoch(optimizer, epoch_length=1, **scheduler)
            else:
                PARAM_SCHEDULERS.build(dict(scheduler, optimizer=optimizer))
        except REFUSALS as error:
            raise InputError(_refusal_line(key, str(cfg_type(cfg, i)), error)) from None


def cfg_type(cfg, i: int):
    schedulers = cfg.param_scheduler
    return (schedulers[i] if isinstance(schedulers, list | tuple) else schedulers).get('type')


def physical_memory() -> int | None:
    try:
        return os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')
    except (ValueError, OSError, AttributeError):  # not on this platform
        return None


def dry_build_model(cfg, registry, training: bool) -> None:
    """Build each part of ``cfg.model`` on the meta device; a refused argument, or weights that cannot fit in this
    machine's memory (with their gradients and Adam's moments when ``training``), raise one line."""
    import torch

    model = cfg.get('model')
    if not isinstance(model, dict):
        return
    sizes, built = {}, {}
    for key, part in model_parts(cfg):
        _check_normalisation_values(key, part)
        try:
            with torch.device('meta'):
                module = registry.build(part)
        except ConfigValueError as error:
            raise type(error)(f'{key}: {error}') from None
        except REFUSALS as error:
            raise InputError(_refusal_line(key, str(part.get('type')), error)) from None
        except RuntimeError as error:  # torch refusing a size (a negative dimension) as it would on any device
            if 'meta' in str(error):
                raise  # something the meta device cannot do: not the config's fault
            raise InputError(_refusal_line(key, str(part.get('type')), error)) from None
        built[key] = module
        if isinstance(module, torch.nn.Module):
            tensors = [*module.parameters(), *module.buffers()]
            sizes[key] = (sum(t.numel() for t in tensors), sum(t.numel() * t.element_size() for t in tensors))
    _check_normalisation(built)
    _check_head_width(model, built)
    _check_parts_fit(built)
    memory = physical_memory()
    weights = sum(size for _, size in sizes.values())
    needed = weights * (TRAINING_BYTES_PER_WEIGHT_BYTE if training else 1)
    if memory and needed > memory:
        largest = max(sizes, key=lambda key: sizes[key][1])
        count = sum(n for n, _ in sizes.values())
        raise InputError(
            f'model: {count:,} weights ({weights / 2**30:,.1f} GiB'
            + (f', {needed / 2**30:,.1f} GiB to train' if training else '')
            + f") do not fit in this machine's {memory / 2**30:,.1f} GiB; the largest part is {largest} "
            f'({sizes[largest][0]:,} weights): check its sizes'
        )
