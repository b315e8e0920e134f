from .mixer_pyramid_neck import LayerNorm2d, MixerPyramidNeck

__all__ = ['LayerNorm2d', 'MixerPyramidNeck']
