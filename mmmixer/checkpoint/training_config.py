"""The config a checkpoint was trained with, as far as it can be read without running anything.

mmengine's Runner saves its config in every checkpoint (``meta['cfg']``, the ``Config.pretty_text``: Python source).
Running that source (``Config.fromstring``) would run whatever the file's author wrote into it, and undo safe
loading. Here it is only parsed (:mod:`ast`), and only literal assignments are read: numbers, strings, lists,
tuples, dicts and ``dict(...)`` calls of them. Anything else (a call, a name, an attribute) is left out, never run.
"""

from __future__ import annotations

import ast
import os.path as osp
import re

# mmengine's Runner names a run "<config file stem>_<YYYYMMDD_HHMMSS>" (Runner.experiment_name).
EXPERIMENT_NAME = re.compile(r'^(?P<stem>.+)_\d{8}_\d{6}$')


class NotLiteral(Exception):
    """A value in the source that only running it could give."""


def literal(node: ast.AST):
    """The value of a literal expression, ``dict(key=...)`` calls included; raises :class:`NotLiteral` otherwise."""
    if isinstance(node, ast.Constant):
        return node.value
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub | ast.UAdd)
        and isinstance(node.operand, ast.Constant)
    ):
        value = node.operand.value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.List | ast.Tuple):
        items = [literal(item) for item in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict) and None not in node.keys:
        return {literal(key): literal(value) for key, value in zip(node.keys, node.values, strict=True)}
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == 'dict'
        and not node.args
        and all(keyword.arg is not None for keyword in node.keywords)
    ):
        return {keyword.arg: literal(keyword.value) for keyword in node.keywords}
    raise NotLiteral(type(node).__name__)


def literal_settings(source: str) -> dict:
    """The top-level ``name = <literal>`` assignments of Python source, parsed, never run; {} if it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):  # ValueError: a NUL byte in the source
        return {}
    settings = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                settings[node.targets[0].id] = literal(node.value)
            except NotLiteral:
                continue
    return settings


def training_settings(checkpoint: dict) -> dict:
    """The literal settings of the config saved in a checkpoint's ``meta['cfg']``; {} when it has none."""
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    source = meta.get('cfg') if isinstance(meta, dict) else None
    return literal_settings(source) if isinstance(source, str) else {}


def describe_model(settings: dict) -> str:
    """``ImageClassifier, backbone mmmixer.MlpMixer, 10 classes``: the model of a config's literal settings."""
    model = settings.get('model')
    if not isinstance(model, dict):
        return ''
    parts = [str(model.get('type', 'a model'))]
    backbone, head = model.get('backbone'), model.get('head')
    if isinstance(backbone, dict) and 'type' in backbone:
        parts.append(f'backbone {backbone["type"]}')
    if isinstance(head, dict) and 'num_classes' in head:
        parts.append(f'{head["num_classes"]} classes')
    return ', '.join(parts)


def training_config_file(checkpoint: dict, checkpoint_path: str) -> str | None:
    """The config file a checkpoint was trained with, where it can be found: the copy mmengine's Runner saved beside
    it in its work dir (the file name from ``meta['experiment_name']``)."""
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    name = meta.get('experiment_name') if isinstance(meta, dict) else None
    match = EXPERIMENT_NAME.match(name) if isinstance(name, str) else None
    if match is None:
        return None
    # Only beside the checkpoint (where the Runner writes both): a folder named inside a stranger's checkpoint could
    # point the user at any Python file, which they would then run as a config.
    candidate = osp.join(osp.dirname(str(checkpoint_path)) or '.', f'{match["stem"]}.py')
    return candidate if osp.isfile(candidate) else None
