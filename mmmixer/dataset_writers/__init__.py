from .digit_detection import prepare_digit_detection
from .digits import prepare_digits

__all__ = ['prepare_digit_detection', 'prepare_digits']
