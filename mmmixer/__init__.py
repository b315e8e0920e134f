"""MLP-Mixer for OpenMMLab: backbone, configs, weight converters, detection support.

Importing mmmixer registers its models and makes mmengine load checkpoints safely, whatever their
scheme (local, ``http(s)://``, ``torchvision://``, ``open-mmlab://`` ...): ``weights_only`` with an
explicit allow-list that is active only during those loads (see :mod:`mmmixer.checkpoint`).
"""

from .checkpoint import install_safe_loaders
from .version import __version__

install_safe_loaders()

from . import models  # noqa: E402  (registers the models after the loader is installed)

__all__ = ['__version__', 'models']
