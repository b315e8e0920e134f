from .digit_detection import prepare_digit_detection
from .digit_segmentation import prepare_digit_segmentation
from .digits import prepare_digits

__all__ = ['prepare_digit_detection', 'prepare_digit_segmentation', 'prepare_digits']
