from .backbones import MlpMixer
from .necks import LayerNorm2d, MixerPyramidNeck
from .utils import resize_token_mixing

__all__ = ['LayerNorm2d', 'MixerPyramidNeck', 'MlpMixer', 'resize_token_mixing']
