"""Data transforms of the paper's ImageNet recipe (big_vision), registered in mmmixer's scope."""

from .tf_augment import InceptionCrop, TFAutoContrast, TFCutout, TFEnhance, TFGeometric, TFSolarizeAdd

__all__ = ['InceptionCrop', 'TFAutoContrast', 'TFCutout', 'TFEnhance', 'TFGeometric', 'TFSolarizeAdd']
