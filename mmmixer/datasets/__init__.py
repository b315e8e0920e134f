"""Data sets with broken images: the checked image loader (``mmmixer.LoadImageChecked``), the report of the
images a training run skipped, and the check behind ``mmmixer check-data``."""

from .check import find_broken_images, loader_args
from .images import LoadImageChecked, read_image, record_skipped, why_unreadable

__all__ = ['LoadImageChecked', 'find_broken_images', 'loader_args', 'read_image', 'record_skipped', 'why_unreadable']
