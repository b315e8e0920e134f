"""MLP-Mixer for OpenMMLab: backbone, configs, weight converters, detection and segmentation support.

Importing mmmixer registers its models and transforms and applies :mod:`mmmixer.patches` (every change it makes to
other packages, listed there and by ``mmmixer env``): mmengine loads checkpoints safely, whatever their scheme
(``weights_only`` with an explicit allow-list, active only during those loads), and mmpretrain's model zoo knows
mmmixer's models once ``mmpretrain.apis`` is imported.
"""

from .patches import apply_patches
from .version import __version__

apply_patches()

from . import models, transforms  # noqa: E402  (registers models and transforms after the loader is installed)

__all__ = ['__version__', 'models', 'transforms']
