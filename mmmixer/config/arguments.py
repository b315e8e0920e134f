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

import os
from collections.abc import Iterator

from mmmixer.config.parts import Part, check_part, closest, describe_kinds, expect_dict
from mmmixer.config.run_sections import check_plain_sections, check_sections, runtime_parts
from mmmixer.config.signatures import keywords_of
from mmmixer.errors import InputError

# Parts that a model's constructor builds itself from MODELS (the registry is certain).
MODEL_PARTS = (
    'backbone', 'neck', 'head', 'data_preprocessor', 'decode_head', 'auxiliary_head', 'rpn_head', 'roi_head',
    'bbox_head',
)  # fmt: skip
DATALOADER_KEYS = {'dataset', 'sampler', 'batch_sampler', 'collate_fn', 'worker_init_fn', 'num_batch_per_epoch'}


def _model_parts(key: str, node, registries, certain: bool) -> Iterator[Part]:
    """Every dict with a type inside a model config (layers, losses, assigners ...)."""
    if isinstance(node, dict):
        if 'type' in node:
            yield Part(key, node, registries, certain)
        for name, value in node.items():
            if name == 'init_cfg' or name == 'type':
                continue  # weight initialisers, built (and checked) by mmengine's initialiser
            child_certain = name in MODEL_PARTS and 'type' in node and not isinstance(value, list | tuple)  # Cascade's
            typed = child_certain and value is not None and expect_dict(f'{key}.{name}', value) and 'type' in value
            if child_certain and value is not None and not typed and name != 'data_preprocessor':  # (default type)
                raise InputError(
                    f"{key}.{name} has no type; add {key}.{name}.type='...' (or {key}.{name}=None for none)"
                )
            yield from _model_parts(f'{key}.{name}', value, registries, child_certain)
    elif isinstance(node, list | tuple):
        for i, value in enumerate(node):
            yield from _model_parts(f'{key}.{i}', value, registries, False)


def leaf_datasets(dataset: dict) -> Iterator[dict]:
    """The data sets inside a dataset config's wrappers (``RepeatDataset``, ``ConcatDataset`` ...), or itself."""
    if not isinstance(dataset, dict):
        return
    if 'dataset' in dataset:  # RepeatDataset, ClassBalancedDataset, ...
        yield from leaf_datasets(dataset['dataset'])
    elif 'datasets' in dataset:  # ConcatDataset
        for child in dataset['datasets']:
            yield from leaf_datasets(child)
    else:
        yield dataset


def data_preprocessor(cfg) -> tuple[str, dict] | None:
    """``(config key, config with its type)`` of the model's data preprocessor: ``model.data_preprocessor``, or the
    top-level ``data_preprocessor`` that the Runner puts there; without a type, mmpretrain's classifiers make it a
    ``ClsDataPreprocessor`` (other scopes' models need the type written)."""
    model = cfg.get('model')
    key = 'model.data_preprocessor' if isinstance(model, dict) and 'data_preprocessor' in model else 'data_preprocessor'
    preprocessor = model.get('data_preprocessor') if key.startswith('model.') else cfg.get('data_preprocessor')
    if not isinstance(preprocessor, dict):
        return None
    if 'type' not in preprocessor and cfg.get('default_scope', 'mmpretrain') == 'mmpretrain':
        preprocessor = dict(preprocessor, type='mmpretrain.ClsDataPreprocessor')
    return (key, preprocessor) if 'type' in preprocessor else None


def _dataset_parts(key: str, dataset) -> Iterator[Part]:
    from mmengine.registry import DATASETS, TRANSFORMS

    if not expect_dict(key, dataset):
        return
    yield Part(key, dataset, (DATASETS,), True)
    for inner in ('dataset',):  # RepeatDataset, ClassBalancedDataset ...
        if isinstance(dataset.get(inner), dict):
            yield from _dataset_parts(f'{key}.{inner}', dataset[inner])
    for i, child in enumerate(dataset.get('datasets') or ()):  # ConcatDataset
        yield from _dataset_parts(f'{key}.datasets.{i}', child)
    if 'dataset' not in dataset and 'datasets' not in dataset:  # a wrapper's pipeline is its inner data set's
        yield from _pipeline_parts(f'{key}.pipeline', dataset.get('pipeline'), TRANSFORMS)


def _pipeline_parts(key: str, pipeline, transforms) -> Iterator[Part]:
    if not isinstance(pipeline, list | tuple):
        raise InputError(f'{key}={pipeline!r} must be a list of transforms; restore it in the config')
    types = [t.get('type') for t in pipeline if isinstance(t, dict)]
    if key.endswith('.dataset.pipeline') and not any(isinstance(t, str) and 'Pack' in t for t in types):
        # OpenMMLab's models read packed samples ({'inputs', 'data_samples'}); without a Pack*Inputs transform the
        # first batch fails deep inside the data preprocessor.
        raise InputError(
            f"{key} has no Pack*Inputs transform (mmpretrain: dict(type='PackInputs')) to end it; the model reads "
            'packed samples: restore it in the config'
        )
    for i, transform in enumerate(pipeline):
        if callable(transform):
            continue
        expect_dict(f'{key}.{i}', transform)
        yield Part(f'{key}.{i}', transform, (transforms,), True)
        for inner in ('transforms',):  # RandomApply, RandomChoice, KeyMapper ...
            nested = transform.get(inner)
            if isinstance(nested, list | tuple) and all(isinstance(t, dict) for t in nested):
                yield from _pipeline_parts(f'{key}.{i}.{inner}', nested, transforms)


def dataloader_parts(cfg, name: str) -> Iterator[Part]:
    from mmengine.registry import DATA_SAMPLERS, FUNCTIONS

    loader = cfg.get(name)
    if not expect_dict(name, loader, may_be_none=True):
        return
    _check_dataloader_keys(name, loader)
    yield from _dataset_parts(f'{name}.dataset', loader.get('dataset'))
    for sampler in ('sampler', 'batch_sampler'):
        if loader.get(sampler) is not None and expect_dict(f'{name}.{sampler}', loader[sampler]):
            yield Part(f'{name}.{sampler}', loader[sampler], (DATA_SAMPLERS,), True)
    collate = loader.get('collate_fn')
    if collate is not None and not callable(collate):
        expect_dict(f'{name}.collate_fn', collate)
    if isinstance(collate, dict):
        yield Part(f'{name}.collate_fn', collate, (FUNCTIONS,), True)  # a dict needs its type


def _check_dataloader_keys(name: str, loader: dict) -> None:
    from torch.utils.data import DataLoader

    keywords = keywords_of(DataLoader)
    accepted = keywords.accepted | DATALOADER_KEYS
    for key in sorted(set(loader) - accepted):
        raise InputError(f"{name}: unknown argument '{key}'{closest(key, accepted)}")
    for key in sorted(set(loader) & set(keywords.types)):
        if not isinstance(loader[key], keywords.types[key]) and not callable(loader[key]):
            raise InputError(f'{name}: {key}={loader[key]!r} must be {describe_kinds(keywords.types[key])}')
    batch, workers, most = loader.get('batch_size', 1), loader.get('num_workers', 0), 16 * (os.cpu_count() or 1)
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
        raise InputError(f'{name}: batch_size={batch!r} must be a positive int')
    if isinstance(workers, bool) or not isinstance(workers, int) or not 0 <= workers <= most:
        raise InputError(
            f'{name}: num_workers={workers!r} must be between 0 (load in the main process) and {most} '
            f'(16 per CPU of this machine)'
        )
    for key in ('dataset', 'sampler'):
        if key not in loader:
            raise InputError(f'{name} has no {key}; restore {name}.{key} in the config')


def check_config_arguments(cfg, dataloaders: tuple[str, ...] = ()) -> None:
    """Every part of ``cfg`` that a run of ``dataloaders`` builds (only the model for ``()``): an unknown argument,
    an unknown type or (where the builder is certain) a missing argument raises :class:`InputError`."""
    from mmengine.registry import MODELS, TASK_UTILS

    scope = cfg.get('default_scope', 'mmpretrain')
    if 'model' not in cfg or not expect_dict('model', cfg.model):
        raise InputError('the config has no model; add model=dict(type=...) (or inherit a config that has one)')
    if 'type' not in cfg.model:
        raise InputError("model has no type; add model.type='...' (e.g. 'ImageClassifier'), or restore it")
    parts = list(_model_parts('model', cfg.model, (MODELS, TASK_UTILS), True))
    preprocessor = data_preprocessor(cfg)
    if preprocessor is not None and 'type' not in (cfg.model.get('data_preprocessor') or {}):  # typed: done above
        parts.append(Part(*preprocessor, (MODELS,), True))
    for name in dataloaders:
        parts += list(dataloader_parts(cfg, name))
    if (
        'train_dataloader' in dataloaders
        and cfg.model.get('head') is None
        and 'Classifier' in str(cfg.model.get('type'))
    ):
        raise InputError('model.head=None: a classifier trains its head; restore model.head in the config')
    if dataloaders:
        check_sections(cfg, dataloaders)
        parts += list(runtime_parts(cfg, dataloaders))
        check_plain_sections(cfg)
    for part in parts:
        check_part(part, scope)
