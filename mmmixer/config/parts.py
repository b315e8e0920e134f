"""One part of a config (a dict with a ``type``) checked against the constructor that will receive it: the
registry and scope that resolve its type, its keys against the signature (:mod:`mmmixer.config.signatures`), its
values against the annotations, and (where the builder is certain) the arguments it lacks. The walks over a config
that find the parts are :mod:`mmmixer.config.arguments` (model, data) and :mod:`mmmixer.config.run_sections`.
"""

from __future__ import annotations

import contextlib
import difflib
from typing import NamedTuple

from mmmixer.config.signatures import keywords_of
from mmmixer.errors import InputError

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
    'clip_grad': {'parameters'},
    'function': {'data_batch'},  # a collate function's batch
}
# Data sets that give image paths, not pixels (mmpretrain's folders and ImageNet, mmdet's and mmseg's): their pipelines
# start with a loading transform.
FILE_DATASETS = {'CustomDataset', 'BaseDetDataset', 'BaseSegDataset'}


class _ClipGrad:
    """Where ``optim_wrapper.clip_grad`` goes: ``type='norm'`` (default) to torch's ``clip_grad_norm_``, ``'value'``
    to ``clip_grad_value_``; mmengine's OptimWrapper passes the parameters."""

    name = 'clip_grad'

    @staticmethod
    def switch_scope_and_registry(scope):
        return contextlib.nullcontext(_ClipGrad)

    @staticmethod
    def get(kind):
        from torch.nn.utils import clip_grad_norm_, clip_grad_value_

        return {'norm': clip_grad_norm_, 'value': clip_grad_value_}.get(kind)


CLIP_GRAD = _ClipGrad()


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
    if registry is CLIP_GRAD:
        return {'norm', 'value'}
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
    for key in sorted(given - keywords.accepted) if not keywords.takes_any else ():
        hint = closest(key, keywords.accepted) or f' ({name_of(target)} takes {listing(keywords.accepted)})'
        raise InputError(f"{part.key}: unknown argument '{key}'{hint}")
    for key in sorted(given & set(keywords.types)):
        value, kinds = part.cfg[key], keywords.types[key]
        if not isinstance(value, kinds) and not callable(value):
            raise InputError(f'{part.key}: {key}={value!r} must be {describe_kinds(kinds)}')
    if name == 'dataset' and FILE_DATASETS & {klass.__name__ for klass in getattr(target, '__mro__', ())}:
        types = [str(t.get('type')) for t in part.cfg.get('pipeline') or () if isinstance(t, dict)]
        if not any('Load' in kind for kind in types):
            raise InputError(
                f'{part.key}.pipeline does not load the images ({name_of(target)} gives their paths): start it with '
                "dict(type='LoadImageFromFile')"
            )
    if part.certain:
        missing = sorted(keywords.required - given - INJECTED.get(name, set()))
        if missing:
            raise InputError(
                f'{part.key}: {name_of(target)} needs {", ".join(missing)}; add {part.key}.{missing[0]}=... '
                '(or restore it in the config)'
            )


KIND_NAMES = {int: 'an int', float: 'a number', bool: 'True or False', str: 'a string', type(None): 'None',
    list: 'a list', tuple: 'a tuple', dict: 'a dict'}  # fmt: skip


def describe_kinds(kinds) -> str:
    names = [KIND_NAMES[kind] for kind in (bool, float, int, str, dict, list, tuple, type(None)) if kind in kinds]
    for wider, narrower in (('a number', 'an int'), ('an int', 'True or False'), ('a list', 'a tuple')):
        if wider in names and narrower in names:
            names.remove(narrower)
    return ', '.join(names[:-1]) + ' or ' + names[-1] if len(names) > 1 else names[0]


def name_of(target) -> str:
    return getattr(target, '__name__', str(target))


def listing(names) -> str:
    shown = sorted(names)
    return ', '.join(shown[:12]) + (', ...' if len(shown) > 12 else '')


def expect_dict(key: str, node, may_be_none: bool = False) -> bool:
    """Whether ``node`` is a config dict; a value of another kind is one line."""
    if isinstance(node, dict):
        return True
    if node is None and may_be_none:
        return False
    raise InputError(f'{key}={node!r} must be a dict (e.g. {key}=dict(type=...)); restore it in the config')
