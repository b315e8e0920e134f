"""Find a config by name from any directory: the checkout's ``configs/`` or the copy an install carries.

The repository's ``configs/`` is the source of truth. A non-editable install (``pip install .``) carries
a copy as package data in ``mmmixer/.mim/configs`` (where mmpretrain keeps its own), made by setup.py
at build time; a source checkout or an editable install reads ``configs/`` beside the package. Relative
``_base_`` files resolve inside whichever folder holds the config, so both work the same way.
"""

from __future__ import annotations

import difflib
import glob
import os.path as osp

from mmmixer.errors import ConfigNotFoundError

SCHEME = 'mmmixer::'  # _base_ = ['mmmixer::mixer-demo_digits.py']: one of mmmixer's configs, by name
PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))  # mmmixer/
PACKAGED_CONFIGS = osp.join(PACKAGE_DIR, '.mim', 'configs')


def configs_dir() -> str:
    """The checkout's ``configs/`` when mmmixer runs from its source tree, else the packaged copy."""
    checkout = osp.dirname(PACKAGE_DIR)
    if osp.isfile(osp.join(checkout, 'setup.py')) and osp.isdir(osp.join(checkout, 'configs')):
        return osp.join(checkout, 'configs')
    return PACKAGED_CONFIGS


def own_config(relative: str) -> str:
    """One of mmmixer's configs (``'mixer-b16_in1k.py'``, ``'detection/...'``), for mmmixer's own use:
    never a file of that name in the current directory, which :func:`find_config` would prefer."""
    return osp.join(configs_dir(), relative)


def config_names() -> list[str]:
    """Every runnable config among mmmixer's, relative to :func:`configs_dir` (``detection/...`` included)."""
    root = configs_dir()
    paths = glob.glob(osp.join(root, '**', '*.py'), recursive=True)
    return sorted(osp.relpath(path, root) for path in paths if '_base_' not in osp.relpath(path, root).split(osp.sep))


def closest_config_names(name: str, limit: int = 3) -> list[str]:
    """mmmixer's config names that look most like ``name`` (by the whole relative name, then by the file name)."""
    names = config_names()
    close = difflib.get_close_matches(name, names, n=limit, cutoff=0.7)
    by_file = {osp.basename(n): n for n in names}
    close += [by_file[n] for n in difflib.get_close_matches(osp.basename(name), by_file, n=limit, cutoff=0.7)]
    return list(dict.fromkeys(close))[:limit]


def _suggestion(name: str) -> str:
    close = closest_config_names(name)
    return f"; closest of mmmixer's configs: {', '.join(close)}" if close else ''


def find_config(name: str) -> str:
    """``name`` if it is a file; else the config of that name in mmmixer's configs.

    ``configs/mixer-b16_in1k.py`` (as the README names it) and ``mixer-b16_in1k.py`` both resolve to
    ``<configs>/mixer-b16_in1k.py``; ``detection/...`` names the detection configs. Raises
    :class:`~mmmixer.errors.ConfigNotFoundError` (a ``FileNotFoundError``) with one line that says where it looked
    and the closest names.
    """
    if osp.isfile(name):
        return name
    relative = osp.normpath(name)
    if relative.startswith('configs' + osp.sep):
        relative = relative[len('configs' + osp.sep) :]
    packaged = osp.join(configs_dir(), relative)
    if not osp.isabs(name) and osp.isfile(packaged):
        return packaged
    raise ConfigNotFoundError(
        f'config {name} not found: looked for {osp.abspath(name)}'
        + ('' if osp.isabs(name) else f' and {packaged}')
        + (_suggestion(relative) or " (name a config file, or one of mmmixer's configs such as mixer-b16_in1k.py)")
    )


def base_config_path(base: str, including: str, resolve) -> tuple[str, str | None]:
    """Where a ``_base_`` entry of the config file ``including`` is: ``(path, scope)``, as mmengine's
    ``Config._get_cfg_path`` answers (``resolve``), plus ``mmmixer::NAME`` for one of mmmixer's configs.

    ``mmmixer::NAME`` is read like a local base (no scope): mmmixer's configs name their own scope
    (``default_scope``), and ``mmmixer.``-prefixed types resolve under any. A plain relative name is read from the
    folder of ``including``, as mmengine does; where that file is missing the error says so, and names
    ``mmmixer::NAME`` when one of our configs has that name.
    """
    if base.startswith(SCHEME):
        name = base[len(SCHEME) :]
        path = own_config(name)
        if not osp.isfile(path):
            raise ConfigNotFoundError(
                f"config {including}: _base_ '{base}' is not one of mmmixer's configs (looked for {path})"
                + _suggestion(name)
            )
        return path, None
    path, scope = resolve(base, including)
    if scope is None and not osp.isfile(path):
        ours = osp.isfile(own_config(base))
        raise ConfigNotFoundError(
            f"config {including}: _base_ '{base}' not found at {osp.normpath(path)} (a relative _base_ is read from "
            'the folder of the config that names it)'
            + (f"; to inherit mmmixer's config of that name write '{SCHEME}{base}'" if ours else _suggestion(base))
        )
    return path, scope
