"""A batch of images of different sizes, said in one line: ``mmmixer.default_collate`` is mmengine's
``default_collate`` (the same batch), which a command line puts in place of it in every dataloader.

torch's ``stack`` otherwise stops the run with ``RuntimeError: stack expects each tensor to be equal size`` from
inside a dataloader, after a whole epoch of training when it is the validation set that holds them.
"""

from __future__ import annotations

from mmengine.dataset import default_collate as mmengine_default_collate

from mmmixer.errors import InputSizeError
from mmmixer.registry import FUNCTIONS

STACK_ERROR = 'stack expects each tensor to be equal size'


def _input_sizes(data_batch) -> list[str]:
    sizes = []
    for sample in data_batch:
        inputs = sample.get('inputs') if isinstance(sample, dict) else None
        size = 'x'.join(map(str, inputs.shape)) if hasattr(inputs, 'shape') else None
        if size and size not in sizes:
            sizes.append(size)
    return sizes


@FUNCTIONS.register_module()
def default_collate(data_batch, loader: str = 'a dataloader'):
    """mmengine's ``default_collate``; images of different sizes raise :class:`~mmmixer.errors.InputSizeError`
    naming the sizes, the dataloader and the fix."""
    try:
        return mmengine_default_collate(data_batch)
    except RuntimeError as error:
        if STACK_ERROR not in str(error):
            raise
        sizes = _input_sizes(data_batch)
        shown = ', '.join(sizes[:4]) + (f' (+{len(sizes) - 4} more)' if len(sizes) > 4 else '')
        raise InputSizeError(
            f'{loader} batches images of different sizes ({shown}), which cannot be stacked into one tensor: give its '
            "pipeline a transform that brings every image to the model's input size (e.g. dict(type='Resize', "
            "scale=(H, W)) or ResizeEdge + CenterCrop), or collate_fn=dict(type='pseudo_collate')"
        ) from None
