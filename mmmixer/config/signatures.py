"""Which keyword arguments a registered class (or function) takes, read from its signature.

A constructor that takes ``**kwargs`` and only hands them on to its parent class's ``__init__`` (mmpretrain's
``LinearClsHead`` -> ``ClsHead``, mmdet's heads, ...) takes what the parent takes: the chain is followed through the
class's MRO, reading the ``__init__`` source to see where ``**kwargs`` go. Where they go anywhere else, or the
source cannot be read, the class takes any keyword (``None``), and nothing is reported for it.
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
from typing import NamedTuple

NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


class Keywords(NamedTuple):
    accepted: frozenset[str]  # every keyword the constructor takes
    required: frozenset[str]  # those without a default (of the class's own __init__)


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
    """The keywords ``target`` (a class or a function) takes, or None where it takes any."""
    if not inspect.isclass(target):
        parameters = _parameters(target)
        if parameters is None or any(p.kind is p.VAR_KEYWORD for p in parameters):
            return None
        named = [p for p in parameters if p.kind in NAMED]
        return Keywords(frozenset(p.name for p in named), frozenset(p.name for p in named if p.default is p.empty))
    accepted: set[str] = set()
    required: set[str] | None = None
    for klass in target.__mro__:
        if '__init__' not in vars(klass):
            continue
        if _stops_the_chain(klass):
            break
        init = vars(klass)['__init__']
        parameters = _parameters(init)
        if parameters is None:
            return None
        named = [p for p in parameters[1:] if p.kind in NAMED]  # [1:]: self
        accepted |= {p.name for p in named}
        if required is None:
            required = {p.name for p in named if p.default is p.empty}
        var_keyword = next((p.name for p in parameters if p.kind is p.VAR_KEYWORD), None)
        if var_keyword is None:
            break
        if not _forwards_only_to_parent(init, var_keyword):
            return None
    return Keywords(frozenset(accepted), frozenset(required or ()))
