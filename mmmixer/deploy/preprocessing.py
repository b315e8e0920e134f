"""What an exported graph's user needs to feed it as ``mmmixer infer`` does: stored in the ONNX metadata.

The graph takes the normalised batch the config's data preprocessor makes; everything before it (decoding, the
test pipeline's resize and crop, the channel order, mean and std) and the class names are described here, in JSON,
so that a few lines of PIL and ONNX Runtime reproduce ``mmmixer infer`` (docs/deployment.md shows them).

Keys (each value JSON-encoded in ``metadata_props``):

* ``channel_order``: ``"RGB"`` or ``"BGR"``, the order of the graph's three input channels;
* ``mean``, ``std``: per channel, in that order, on 0-255 pixel values;
* ``resize``: either ``{"size": [H, W], ...}`` (the whole image to H x W, aspect ratio not kept), or
  ``{"short_side": S, "crop": [H, W], ...}`` (the shorter side to S, the longer one truncated, then the centre
  H x W crop), both with the ``interpolation`` and the library (``backend``: ``"pillow"`` or ``"cv2"``) that
  ``mmmixer infer`` resizes with; absent when the test pipeline does something else (see ``test_pipeline``);
* ``test_pipeline``: the config's test pipeline, verbatim;
* ``classes``: the class names, index by index (the checkpoint's ``dataset_meta``; ImageNet's for a 1000-class
  model without them; else the class indices as strings, as ``mmmixer infer`` prints them).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from mmmixer.class_names import class_names


def channel_order(preprocessor: dict) -> str:
    """mmcv decodes images as BGR; the data preprocessor's ``to_rgb`` / ``bgr_to_rgb`` flips them to RGB."""
    return 'RGB' if preprocessor.get('to_rgb') or preprocessor.get('bgr_to_rgb') else 'BGR'


def test_pipeline_of(cfg) -> list:
    """The pipeline ``mmmixer infer`` (mmpretrain's inferencer) runs: the test dataloader's."""
    dataloader = cfg.get('test_dataloader') or {}
    return list((dataloader.get('dataset') or {}).get('pipeline') or cfg.get('test_pipeline') or [])


def _pair(size) -> list[int]:
    return [size, size] if isinstance(size, int) else [int(side) for side in size]


def describe_resize(pipeline: Sequence[dict]) -> dict | None:
    """The resize (and crop) of a test pipeline in the form of the ``resize`` key; ``None`` for any other form."""
    steps = [dict(step) for step in pipeline if step.get('type') not in ('LoadImageFromFile', 'PackInputs')]
    types = [step['type'] for step in steps]
    if types == ['Resize'] and steps[0].get('keep_ratio') is False:
        width, height = _pair(steps[0]['scale'])  # mmcv's scale is (w, h)
        resize = {'size': [height, width]}
        step = steps[0]
    elif types == ['mmmixer.ResizeEdgeCenterCrop']:
        step = steps[0]
        resize = {'short_side': step['scale'], 'crop': _pair(step['crop_size'])}
        step = {**step, 'backend': 'pillow'}
    elif types == ['ResizeEdge', 'CenterCrop'] and steps[0].get('edge', 'short') == 'short':
        step = steps[0]
        resize = {'short_side': step['scale'], 'crop': _pair(steps[1]['crop_size'])[::-1]}  # crop_size is (w, h)
    else:
        return None
    return {**resize, 'interpolation': step.get('interpolation', 'bilinear'), 'backend': step.get('backend', 'cv2')}


def preprocessing_metadata(cfg, checkpoint_meta: dict | None = None, num_classes: int | None = None) -> dict:
    """The metadata keys above for a config (and the ``meta`` of the checkpoint exported with it)."""
    preprocessor = cfg.get('data_preprocessor') or cfg.model.get('data_preprocessor') or {}
    metadata = {'channel_order': channel_order(preprocessor)}
    # No mean / std in the preprocessor: the pixels go in unchanged.
    metadata['mean'] = [float(v) for v in preprocessor.get('mean') or (0, 0, 0)]
    metadata['std'] = [float(v) for v in preprocessor.get('std') or (1, 1, 1)]
    pipeline = test_pipeline_of(cfg)
    resize = describe_resize(pipeline)
    if resize is not None:
        metadata['resize'] = resize
    # As JSON holds it (a transform given as a class is written by name).
    metadata['test_pipeline'] = json.loads(json.dumps([dict(step) for step in pipeline], default=str))
    classes = class_names(checkpoint_meta, num_classes)
    if classes is not None:
        metadata['classes'] = classes
    return metadata
