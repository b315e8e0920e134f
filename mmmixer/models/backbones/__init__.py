from .mlp_mixer import MlpMixer

__all__ = ['MlpMixer']
