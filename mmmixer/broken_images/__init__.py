"""Data sets with broken images: the checked image loader (``mmmixer.LoadImageChecked``), the report of the
images a training run skipped, and the check behind ``mmmixer check-data``."""

from .loader import LoadImageChecked, read_image, record_skipped, why_unreadable
from .scan import find_broken_images, loader_args

__all__ = ['LoadImageChecked', 'find_broken_images', 'loader_args', 'read_image', 'record_skipped', 'why_unreadable']
