"""Which keyword arguments a registered class (or function) takes, read from its signature.

A constructor that takes ``**kwargs`` and only hands them on to its parent class's ``__init__`` (mmpretrain's
``LinearClsHead`` -> ``ClsHead``, mmdet's heads, ...) takes what the parent takes: the chain is followed through the
class's MRO, reading the ``__init__`` source to see where ``**kwargs`` go. Where they go anywhere else, or the
source cannot be read, the class takes any keyword (``None``), and nothing is reported for it.
"""

from __future__ import annotations

import ast
import collections.abc
import functools
import inspect
import numbers
import textwrap
import types
import typing
from typing import NamedTuple

NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


class Keywords(NamedTuple):
    accepted: frozenset[str]  # every keyword the constructor takes
    required: frozenset[str]  # those without a default (of the class's own __init__)
    types: dict  # keyword -> the kinds of config value its annotation allows (absent: any)
    takes_any: bool = False  # **kwargs that go elsewhere than the parent class: any other keyword is taken too


# What a config value can be, per annotation: configs hold only Python's plain values, and dicts that a
# constructor builds into objects (so a class annotation allows a dict).
PLAIN = {int: (int,), float: (int, float), bool: (bool, int), str: (str,), type(None): (type(None),)}
SEQUENCES = (list, tuple, collections.abc.Sequence, collections.abc.Iterable)
MAPPINGS = (dict, collections.abc.Mapping)
CONTAINERS = {list, tuple, dict}


def config_kinds(annotation) -> tuple[type, ...] | None:
    """The kinds of config value that ``annotation`` allows, or None where it cannot be told (Any, a TypeVar, a
    callable, a Literal, an annotation that did not resolve)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Union or origin is types.UnionType:
        kinds = [config_kinds(arg) for arg in args]
        return None if any(kind is None for kind in kinds) else tuple({k for kind in kinds for k in kind})
    target = origin or annotation
    if target in PLAIN:
        return PLAIN[target]
    if target is numbers.Number or target is numbers.Real:
        return (int, float)
    if target in SEQUENCES:
        return (list, tuple)
    if target in MAPPINGS:
        return (dict,)
    if inspect.isclass(target) and target.__module__ not in ('builtins', 'typing', 'collections.abc', 'abc'):
        return (dict,)  # a part the constructor builds from its config dict
    return None


def _config_types(init, parameters) -> dict:
    try:
        hints = typing.get_type_hints(init)
    except Exception:  # noqa: BLE001  (annotations that do not resolve only mean no type check for this class)
        return {}
    kinds = {}
    for p in parameters:
        kind = config_kinds(hints[p.name]) if p.name in hints else None
        if kind is None:
            continue
        kind = set(kind) | ({type(p.default)} if p.default is not p.empty else set())  # `x: dict = None`
        if kind & CONTAINERS and not kind - CONTAINERS - {type(None)}:
            kind |= CONTAINERS  # `vis_backends: Optional[Dict]` takes a list: OpenMMLab's annotations mix them up
        kinds[p.name] = tuple(kind)
    return kinds


def _forwards_only_to_parent(init, kwargs_name: str) -> bool:
    """Whether ``init`` uses ``**kwargs_name`` only as ``super().__init__(..., **kwargs_name)`` (or
    ``Base.__init__(self, ..., **kwargs_name)``)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(init)))
    except (OSError, TypeError, SyntaxError):
        return False
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    uses = [node for node in ast.walk(tree) if isinstance(node, ast.Name) and node.id == kwargs_name]
    if not uses:
        return False  # swallowed: takes anything
    for use in uses:
        keyword, call = parents.get(use), parents.get(parents.get(use))
        if not (isinstance(keyword, ast.keyword) and keyword.arg is None and isinstance(call, ast.Call)):
            return False
        if not (isinstance(call.func, ast.Attribute) and call.func.attr == '__init__'):
            return False
    return True


def _parameters(function) -> list[inspect.Parameter] | None:
    try:
        return list(inspect.signature(inspect.unwrap(function)).parameters.values())
    except (TypeError, ValueError):  # a builtin or C extension without a signature
        return None


def _stops_the_chain(klass) -> bool:
    """``object`` and ``torch.nn.Module`` take no constructor arguments of a config's (nn.Module's ``*args,
    **kwargs`` only raise)."""
    return klass is object or (klass.__module__, klass.__qualname__) == ('torch.nn.modules.module', 'Module')


@functools.cache
def keywords_of(target) -> Keywords | None:
    """The keywords ``target`` (a class or a function) takes (``takes_any``: and any other), or None where its
    signature cannot be read."""
    if not inspect.isclass(target):
        parameters = _parameters(target)
        if parameters is None:
            return None
        named = [p for p in parameters if p.kind in NAMED]
        required = frozenset(p.name for p in named if p.default is p.empty)
        takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters)
        return Keywords(frozenset(p.name for p in named), required, _config_types(target, named), takes_any)
    accepted: set[str] = set()
    required: set[str] | None = None
    kinds: dict = {}
    for klass in target.__mro__:
        if '__init__' not in vars(klass):
            continue
        if _stops_the_chain(klass):
            break
        init = vars(klass)['__init__']
        parameters = _parameters(init)
        if parameters is None:
            return Keywords(frozenset(accepted), frozenset(required or ()), kinds, takes_any=True)
        named = [p for p in parameters[1:] if p.kind in NAMED]  # [1:]: self
        accepted |= {p.name for p in named}
        kinds = {**_config_types(init, named), **kinds}  # a subclass's annotation wins
        if required is None:
            required = {p.name for p in named if p.default is p.empty}
        var_keyword = next((p.name for p in parameters if p.kind is p.VAR_KEYWORD), None)
        if var_keyword is None:
            break
        if not _forwards_only_to_parent(init, var_keyword):
            return Keywords(frozenset(accepted), frozenset(required or ()), kinds, takes_any=True)
    return Keywords(frozenset(accepted), frozenset(required or ()), kinds)
