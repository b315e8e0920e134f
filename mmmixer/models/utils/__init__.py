from .token_mixing import resize_token_mixing, token_mixing_grid

__all__ = ['resize_token_mixing', 'token_mixing_grid']
