"""``--cfg-options KEY=VALUE ...``: mmengine's syntax, read without losing the spaces inside a value.

mmengine's ``DictAction`` deletes every space of a value (``data_root=/data/my set`` becomes ``/data/myset``), so a
path with a space could not be given. :class:`DictAction` here reads the same syntax otherwise: ``[a,b]`` is a
list, ``(a,b)`` a tuple (nested as deep as needed), ``a,b`` a list, quotes around a value or an element are
dropped, ``1`` / ``1.5`` / ``true`` / ``None`` become numbers, booleans and None; spaces around list elements are
dropped, spaces inside an element are kept. Every command that takes ``--cfg-options`` uses it, and merges the
result with :func:`merge_options`, which refuses a key that cannot be set in one line.
"""

from __future__ import annotations

import argparse

from mmmixer.errors import InputError

HOW = 'write each override as KEY=VALUE, e.g. model.head.num_classes=5 (lists: KEY=[a,b])'
BRACKETS = {'(': ')', '[': ']'}


class OptionError(InputError):
    """A ``--cfg-options`` item that is not ``KEY=VALUE``, or a key that cannot be set."""


def _scalar(text: str):
    for number in (int, float):
        try:
            return number(text)
        except ValueError:
            pass
    if text.lower() in ('true', 'false'):
        return text.lower() == 'true'
    return None if text == 'None' else text


def _top_level_items(text: str, item: str) -> list[str]:
    """``text`` split at the commas outside brackets; unbalanced brackets are an :class:`OptionError`."""
    items, depth, start = [], [], 0
    for i, char in enumerate(text):
        if char in BRACKETS:
            depth.append(BRACKETS[char])
        elif char in BRACKETS.values():
            if not depth or depth.pop() != char:
                raise OptionError(f'--cfg-options {item}: unbalanced brackets; {HOW}')
        elif char == ',' and not depth:
            items.append(text[start:i])
            start = i + 1
    if depth:
        raise OptionError(f'--cfg-options {item}: unbalanced brackets; {HOW}')
    return [*items, text[start:]]


def parse_value(text: str, item: str = ''):
    """One value of ``--cfg-options`` (``item`` names the whole ``KEY=VALUE`` in errors)."""
    text = text.strip().strip('\'"')
    if text[:1] in BRACKETS and text[-1:] == BRACKETS[text[0]] and len(text) >= 2:
        inner = text[1:-1]
        values = [parse_value(part, item or text) for part in _top_level_items(inner, item or text)] if inner else []
        return tuple(values) if text[0] == '(' else values
    parts = _top_level_items(text, item or text)
    if len(parts) > 1:
        return [parse_value(part, item or text) for part in parts]
    return _scalar(text)


def parse_options(items: list[str]) -> dict:
    """``['a.b=1', 'c=[x,y]']`` -> ``{'a.b': 1, 'c': ['x', 'y']}``."""
    options = {}
    for item in items:
        key, equals, value = item.partition('=')
        if not equals or not key.strip():
            raise OptionError(f'--cfg-options {item}: not KEY=VALUE; {HOW}')
        options[key.strip()] = parse_value(value, item)
    return options


class DictAction(argparse.Action):
    """``--cfg-options``, as mmengine's ``DictAction`` reads it, but keeping the spaces inside values."""

    def __call__(self, parser, namespace, values, option_string=None):
        options = dict(getattr(namespace, self.dest, None) or {})
        options.update(parse_options(list(values or [])))
        setattr(namespace, self.dest, options)


def add_cfg_options(parser: argparse.ArgumentParser, help: str = 'override config settings: KEY=VALUE') -> None:
    """The ``--cfg-options`` argument, read by :class:`DictAction`."""
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE', help=help)


def add_data_root(parser: argparse.ArgumentParser) -> None:
    """``--data-root DIR``: the root of every dataloader's data set (:func:`mmmixer.config.prepare.use_data_root`)."""
    parser.add_argument(
        '--data-root',
        metavar='DIR',
        help="the data set folder: sets data_root of every dataloader's data set (its data_prefix / ann_file stay "
        'relative to it)',
    )


# ----------------------------------------------------------------------------- merging
def _check_key_path(cfg, key: str, value) -> None:
    """A dotted key must walk through dicts (created where missing) and existing list indices."""
    node, walked = cfg, []
    for part in key.split('.')[:-1]:
        walked.append(part)
        if isinstance(node, list | tuple):
            if not part.isdigit() or int(part) >= len(node):
                raise OptionError(
                    f'--cfg-options {key}={value}: {".".join(walked[:-1])} is a list of {len(node)}; '
                    f'index it with 0..{len(node) - 1}'
                )
            node = node[int(part)]
        elif isinstance(node, dict) or hasattr(node, 'merge_from_dict'):  # a dict, or the Config itself
            if part not in node:
                return  # merging creates the missing dicts
            node = node[part]
        else:
            parent = '.'.join(walked[:-1])
            raise OptionError(
                f'--cfg-options {key}={value}: {parent} is {node!r}, not a dict; set it whole ({parent}=...)'
            )
    last, parent = key.split('.')[-1], '.'.join(walked)
    if isinstance(node, list | tuple) and (not last.isdigit() or int(last) >= len(node)):
        raise OptionError(
            f'--cfg-options {key}={value}: {parent} is a list of {len(node)}; index it with 0..{len(node) - 1}'
        )
    if walked and not isinstance(node, list | tuple | dict):
        raise OptionError(f'--cfg-options {key}={value}: {parent} is {node!r}, not a dict; set it whole ({parent}=...)')


def merge_options(cfg, options: dict | None) -> None:
    """``cfg.merge_from_dict(options)``, after refusing in one line what it would crash on or silently ignore.

    ``data_root`` is refused: a config's ``data_root`` variable was substituted into its data sets when the file
    was read, so setting it afterwards changes nothing; ``--data-root`` sets every dataloader's root instead.
    """
    for key, value in (options or {}).items():
        if key == 'data_root':
            raise OptionError(
                f'--cfg-options data_root={value} would change nothing (the config used its data_root when it was '
                f'read); use --data-root {value}, which sets the data_root of every dataloader'
            )
        _check_key_path(cfg, key, value)
    if options:
        cfg.merge_from_dict(options)
