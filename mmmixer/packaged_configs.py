"""Find a config by name from any directory: the checkout's ``configs/`` or the copy an install carries.

The repository's ``configs/`` is the source of truth. A non-editable install (``pip install .``) carries
a copy as package data in ``mmmixer/.mim/configs`` (where mmpretrain keeps its own), made by setup.py
at build time; a source checkout or an editable install reads ``configs/`` beside the package. Relative
``_base_`` files resolve inside whichever folder holds the config, so both work the same way.
"""

from __future__ import annotations

import os.path as osp

PACKAGE_DIR = osp.dirname(osp.abspath(__file__))
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


def find_config(name: str) -> str:
    """``name`` if it is a file; else the config of that name in mmmixer's configs.

    ``configs/mixer-b16_in1k.py`` (as the README names it) and ``mixer-b16_in1k.py`` both resolve to
    ``<configs>/mixer-b16_in1k.py``; ``detection/...`` names the detection configs. Raises
    ``FileNotFoundError`` with one line that says where it looked.
    """
    if osp.isfile(name):
        return name
    relative = osp.normpath(name)
    if relative.startswith('configs' + osp.sep):
        relative = relative[len('configs' + osp.sep) :]
    packaged = osp.join(configs_dir(), relative)
    if not osp.isabs(name) and osp.isfile(packaged):
        return packaged
    raise FileNotFoundError(
        f'config {name} not found: looked for {osp.abspath(name)}'
        + ('' if osp.isabs(name) else f' and {packaged}')
        + " (name a config file, or one of mmmixer's configs such as configs/mixer-b16_in1k.py)"
    )
