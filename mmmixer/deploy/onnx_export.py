"""Export a config's model to ONNX, and check the exported graph against PyTorch with ONNX Runtime.

The graph is captured with ``torch.export`` (``torch.onnx.export(dynamo=True)``), which keeps sizes symbolic:
a backbone with ``token_mixing='window'`` exported with a dynamic height and width computes the PyTorch
model's outputs at sizes it was not exported at (its window and padding arithmetic stays in the graph; see
:func:`mmmixer.models.utils.export_safe.exporting`). Global token mixing is tied to its token grid, so its
exports have a fixed height and width.

Such a graph is traced at two token-mixing windows per side (:func:`default_size`). At the model's own size the
input is one window, the windows axis of the backbone's (N, B, W, C) tokens has size 1, and torch's shape logic
branches on sizes of 1 (contiguity and reshape checks): ``torch.export`` records the guard "one window" (its range
constraints narrow the height to one window) and specialises the graph's reshapes to it, which ONNX Runtime refuses
at any other size (``Reshape node 'gemm_input_reshape' ... Input shape:{64,1,4,64}, requested shape:{64,64}``).
With two windows or more the guards are inequalities that change no operation, and the graph runs at one window
too (``tests/test_deploy/test_export.py`` runs one at 32x32, 2x2 and 8x300).

The graph's input is the normalised image batch (B, 3, H, W), float32, as the config's data preprocessor
gives it to the model; the preprocessor's mean, std and channel order are stored in the ONNX metadata.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn

from mmmixer.errors import InputError
from mmmixer.fileio import write_atomically

WHAT = ('classifier', 'backbone')
DEFAULT_TOLERANCE = 1e-4


class ExportError(InputError, ValueError):
    """A model or a request that cannot be exported as asked; the message says what to change."""


class VerificationError(ExportError):
    """The exported graph and the PyTorch model disagree by more than the tolerance."""


class Check(NamedTuple):
    shape: tuple[int, ...]  # (batch, channels, height, width)
    max_abs_diff: float


class Classifier(nn.Module):
    """An mmpretrain classifier as a graph: image batch -> (logits, scores), scores as its head predicts them:
    sigmoid for a multi-label head, softmax otherwise (mmpretrain's ``ClsHead`` predicts with softmax also when
    it is trained with a sigmoid loss, as the ImageNet recipe is)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        from mmpretrain.models.heads import MultiLabelClsHead

        self.model = model
        self.sigmoid = isinstance(model.head, MultiLabelClsHead)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.model.head(self.model.extract_feat(images))
        return logits, (logits.sigmoid() if self.sigmoid else logits.softmax(-1))


class BackboneAndNeck(nn.Module):
    """A classifier's, detector's or segmentor's backbone (and neck, if any): image batch -> feature maps."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.backbone = model.backbone
        self.neck = getattr(model, 'neck', None) if getattr(model, 'with_neck', True) else None

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        features = self.backbone(images)
        if self.neck is not None:
            features = self.neck(features)
        return tuple(features) if isinstance(features, (tuple, list)) else (features,)


def exportable(model: nn.Module, what: str) -> nn.Module:
    """The part of ``model`` to export, in eval mode."""
    if what not in WHAT:
        raise ExportError(f'--what {what!r} is not supported; choose one of {WHAT}')
    if not hasattr(model, 'backbone'):
        raise ExportError(f'{type(model).__name__} has no backbone: export needs a classifier, detector or segmentor')
    if what == 'classifier':
        if getattr(model, 'head', None) is None or not hasattr(model, 'extract_feat'):
            raise ExportError(f'{type(model).__name__} is not an image classifier; export it with --what backbone')
        return Classifier(model).eval()
    return BackboneAndNeck(model).eval()


def window_pixels(backbone: nn.Module) -> tuple[int, int] | None:
    """The input size one token-mixing window covers (its token grid times the patch); None for other backbones."""
    if getattr(backbone, 'token_mixing', None) != 'window':
        return None
    return tuple(tokens * patch for tokens, patch in zip(backbone.patch_resolution, backbone.patch_size, strict=True))


def default_size(backbone: nn.Module, dynamic_size: bool = False) -> tuple[int, int]:
    """The example size ``export`` traces at: the backbone's own, or, for a window-mixing graph of any size, two
    token-mixing windows per side (see the module's docstring)."""
    window = window_pixels(backbone)
    if dynamic_size and window is not None:
        return (2 * window[0], 2 * window[1])
    return tuple(getattr(backbone, 'img_size', (224, 224)))


def check_size(backbone: nn.Module, size: tuple[int, int], dynamic_size: bool) -> None:
    """Refuse sizes a Mixer backbone cannot take: not positive, (global token mixing) not its own size, or (a graph
    of any size) an example that is a single token-mixing window."""
    if min(size) < 1:
        raise ExportError(f'--shape {size[0]} {size[1]}: the sizes must be positive')
    window = window_pixels(backbone)
    if dynamic_size and window is not None and size[0] <= window[0] and size[1] <= window[1]:
        raise ExportError(
            f'--shape {size[0]} {size[1]} --dynamic-size: a graph traced at one token-mixing window '
            f'({window[0]}x{window[1]} px) works at that size only; trace at --shape {2 * window[0]} {2 * window[1]}, '
            'or leave --shape out'
        )
    if getattr(backbone, 'token_mixing', 'window') != 'global':
        return
    height, width = backbone.img_size
    if dynamic_size:
        raise ExportError(
            "--dynamic-size: a backbone with token_mixing='global' mixes a fixed token grid, so its graph takes "
            f"{height}x{width} only; build it with token_mixing='window' for inputs of any size"
        )
    if tuple(size) != (height, width):
        raise ExportError(
            f"--shape {size[0]} {size[1]}: a backbone with token_mixing='global' takes {height}x{width} only; "
            f"use --shape {height} {width}, or token_mixing='window' for other sizes"
        )


def verification_shapes(batch: int, size: tuple[int, int], patch: int, dynamic_batch: bool, dynamic_size: bool):
    """The export shape, plus one other batch and one other size (not a multiple of the patch) when dynamic."""
    shapes = [(batch, 3, *size)]
    other_batch = batch + 1 if dynamic_batch else batch
    if dynamic_size:
        shapes.append((other_batch, 3, size[0] + 3 * patch + 5, size[1] + 5 * patch + 3))
    elif dynamic_batch:
        shapes.append((other_batch, 3, *size))
    return shapes


def run_checks(module: nn.Module, onnx_path: str, shapes: Sequence[tuple[int, ...]]) -> list[Check]:
    """Max |ONNX Runtime (CPU) - PyTorch| over all outputs, for a random input of each shape."""
    import numpy as np
    import onnxruntime
    from onnxruntime.capi.onnxruntime_pybind11_state import Fail, RuntimeException

    session = onnxruntime.InferenceSession(onnx_path, providers=['CPUExecutionProvider'])
    input_name = session.get_inputs()[0].name
    generator = torch.Generator().manual_seed(0)
    checks = []
    for shape in shapes:
        images = torch.randn(shape, generator=generator)
        with torch.no_grad():
            expected = module(images)
        try:
            got = session.run(None, {input_name: images.numpy()})
        except (Fail, RuntimeException) as error:  # the graph does not run at a size PyTorch takes
            reason = str(error).strip().splitlines()[0][-300:]
            raise VerificationError(
                f'ONNX Runtime cannot run the graph at {shape} ({reason}); nothing was written'
            ) from None
        if len(got) != len(expected):
            raise VerificationError(f'the graph gives {len(got)} outputs for {shape}, PyTorch {len(expected)}')
        worst = 0.0
        for ours, theirs in zip(got, expected, strict=True):
            if tuple(ours.shape) != tuple(theirs.shape):
                raise VerificationError(
                    f'output shape {ours.shape} for input {shape}; PyTorch gives {tuple(theirs.shape)}'
                )
            worst = max(worst, float(np.abs(ours - theirs.numpy()).max()))
        checks.append(Check(tuple(shape), worst))
    return checks


def export_onnx(
    model: nn.Module,
    out: str | os.PathLike,
    *,
    what: str = 'classifier',
    size: tuple[int, int] = (224, 224),
    batch: int = 1,
    dynamic_batch: bool = False,
    dynamic_size: bool = False,
    opset: int = 18,
    verify: bool = True,
    tolerance: float = DEFAULT_TOLERANCE,
    metadata: dict | None = None,
) -> list[Check]:
    """Export ``model`` (a built mmpretrain/mmdet/mmseg model with a Mixer backbone) to ``out``.

    With ``verify`` the graph is run by ONNX Runtime next to PyTorch before ``out`` is written; a difference
    above ``tolerance`` raises :class:`VerificationError` and leaves no file. Returns the checks made.
    """
    module = exportable(model, what)
    check_size(model.backbone, size, dynamic_size)
    if batch < 1:
        raise ExportError(f'--batch {batch}: the batch size must be at least 1')
    dynamic = torch.export.Dim.DYNAMIC
    dims = {**({0: dynamic} if dynamic_batch else {}), **({2: dynamic, 3: dynamic} if dynamic_size else {})}
    # torch.export fixes a dimension of size 1 (or 0): a dynamic batch is traced with 2 images.
    example_batch = max(batch, 2) if dynamic_batch else batch
    example = torch.randn(example_batch, 3, *size, generator=torch.Generator().manual_seed(0))
    output_names = ['logits', 'scores'] if what == 'classifier' else None
    patch = model.backbone.patch_size[0] if hasattr(model.backbone, 'patch_size') else 16
    checks: list[Check] = []

    def write(tmp: str) -> None:
        with torch.no_grad():
            program = torch.onnx.export(
                module,
                (example,),
                dynamo=True,
                dynamic_shapes=(dims,) if dims else None,
                input_names=['images'],
                output_names=output_names,
                opset_version=opset,
                verbose=False,
            )
        if metadata:
            program.model.metadata_props.update({key: json.dumps(value) for key, value in metadata.items()})
        program.save(tmp)
        if verify:
            checks.extend(run_checks(module, tmp, verification_shapes(batch, size, patch, dynamic_batch, dynamic_size)))
            worst = max(checks, key=lambda check: check.max_abs_diff)
            if worst.max_abs_diff > tolerance:
                raise VerificationError(
                    f'ONNX Runtime and PyTorch differ by {worst.max_abs_diff:.3g} (> {tolerance:g}) at input '
                    f'{worst.shape}; nothing was written'
                )

    write_atomically(out, write)
    return checks
