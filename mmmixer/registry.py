"""mmmixer's registries: its own scope, direct children of mmengine's root registries.

Being a direct child of the root is what lets configs of any scope name our classes with the
``mmmixer.`` prefix: ``dict(type='mmmixer.MlpMixer')`` works under ``default_scope='mmpretrain'``
and ``default_scope='mmdet'`` alike, and mmengine imports ``mmmixer.registry`` (and through
``locations`` the models) on first use. Keep ``default_scope`` at mmpretrain/mmdet: a sibling
scope is never searched for unprefixed names.
"""

from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='mmmixer', locations=['mmmixer.models'])
# Functions configs name (collate_fn=dict(type='mmmixer.default_collate')): mmmixer.engine.collate.
FUNCTIONS = Registry('function', parent=MMENGINE_FUNCTIONS, scope='mmmixer', locations=['mmmixer.engine.collate'])
# Hooks: the checkpoint hook that writes atomically (mmmixer.engine.checkpoint_saving).
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='mmmixer', locations=['mmmixer.engine.checkpoint_saving'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    scope='mmmixer',
    locations=['mmmixer.engine.layer_decay'],
)
OPTIM_WRAPPERS = Registry(
    'optim_wrapper',
    parent=MMENGINE_OPTIM_WRAPPERS,
    scope='mmmixer',
    locations=['mmmixer.engine.autocast_optim_wrapper'],
)
# Data transforms: the checked image loader (mmmixer.broken_images) and the ImageNet recipe's (mmmixer.transforms).
TRANSFORMS = Registry(
    'transform', parent=MMENGINE_TRANSFORMS, scope='mmmixer', locations=['mmmixer.broken_images', 'mmmixer.transforms']
)
