from .token_mixing_units import draw_token_mixing, token_mixing_units

__all__ = ['draw_token_mixing', 'token_mixing_units']
