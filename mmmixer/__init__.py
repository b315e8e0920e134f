"""MLP-Mixer for OpenMMLab: backbone, configs, weight converters, detection support.

Importing mmmixer registers its models and makes mmengine load checkpoints safely, whatever their
scheme (local, ``http(s)://``, ``torchvision://``, ``open-mmlab://`` ...): ``weights_only`` with an
explicit allow-list that is active only during those loads (see :mod:`mmmixer.checkpoint`).

The one process that defers this is the front door (``mmmixer COMMAND`` / ``python -m mmmixer
COMMAND``, see :mod:`mmmixer.cli.main`): it calls :func:`set_up` before running a command, so that
``mmmixer --help`` answers without loading torch.
"""

import os.path as osp
import sys

from .version import __version__


def set_up() -> None:
    """What importing mmmixer does: install the safe checkpoint loaders, then register the models."""
    from .checkpoint import install_safe_loaders

    install_safe_loaders()
    from . import models  # noqa: F401  (registers the models after the loader is installed)


def _started_by_the_front_door() -> bool:
    """Whether this interpreter was started as ``python [options] -m mmmixer`` or as the ``mmmixer`` script."""
    args = iter(sys.orig_argv[1:])
    for arg in args:
        if arg.startswith('-m'):
            return (arg[2:] or next(args, '')) == 'mmmixer'
        if arg in ('-W', '-X'):  # interpreter options with a separate value
            next(args, None)
        elif arg.startswith('-c') or not arg.startswith('-'):  # a command, or the script: its name
            return osp.basename(arg) == 'mmmixer'
    return False


if not _started_by_the_front_door():
    set_up()

__all__ = ['__version__', 'models', 'set_up']
