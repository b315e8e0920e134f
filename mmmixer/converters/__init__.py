"""Weight converters: timm / Google .npz -> mmmixer, mmmixer -> timm, with numerical verification.

Data flows one way: :mod:`.errors` <- :mod:`.names` (timm <-> mmmixer key names) <- :mod:`.formats`
(reading each file kind as timm-named tensors, with :mod:`.progress` bars) <- :mod:`.architecture`
(the :class:`~mmmixer.models.spec.MixerSpec` of those tensors) <- :mod:`.verify` <- :mod:`.conversions`
(``to_mmmixer`` / ``to_timm``). The models themselves are built by :mod:`mmmixer.models.builders`.
"""

from .architecture import infer_spec
from .conversions import to_mmmixer, to_timm
from .errors import ConversionError
from .formats import source_format
from .names import mmmixer_to_timm_names, timm_to_mmmixer_names
from .verify import verify

__all__ = [
    'ConversionError',
    'infer_spec',
    'mmmixer_to_timm_names',
    'source_format',
    'timm_to_mmmixer_names',
    'to_mmmixer',
    'to_timm',
    'verify',
]
