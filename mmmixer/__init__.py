"""MLP-Mixer for OpenMMLab: backbone, configs, weight converters, detection and segmentation support.

Importing mmmixer registers its models and makes mmengine load checkpoints safely, whatever their
scheme (local, ``http(s)://``, ``torchvision://``, ``open-mmlab://`` ...): ``weights_only`` with an
explicit allow-list that is active only during those loads (see :mod:`mmmixer.checkpoint`).
It also puts mmmixer's models into mmpretrain's model zoo (``get_model('mixer-b16_in1k')``,
``list_models``, the inferencers), when mmpretrain's API is imported (:mod:`mmmixer.hub`).
"""

from .checkpoint import install_safe_loaders
from .version import __version__

install_safe_loaders()

from . import models, transforms  # noqa: E402  (registers models and transforms after the loader is installed)
from .hub import register_when_mmpretrain_is_imported  # noqa: E402

register_when_mmpretrain_is_imported()

__all__ = ['__version__', 'models', 'transforms']
