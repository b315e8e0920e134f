from .checkpoint_compat import backbone_key, rename_mmpretrain_key
from .token_mixing_resize import resize_token_mixing, token_mixing_grid

__all__ = ['backbone_key', 'rename_mmpretrain_key', 'resize_token_mixing', 'token_mixing_grid']
