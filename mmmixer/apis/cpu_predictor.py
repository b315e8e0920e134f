"""A classifier's logits on the CPU in the number format the processor computes fastest: :func:`cpu_predictor`.

::

    from mmmixer.apis import cpu_predictor

    predict = cpu_predictor(classifier, dtype='bf16', compile=True)  # or 'auto', 'fp32', 'int8'
    logits = predict(images)  # images: (B, 3, H, W) float32, normalised as the data preprocessor hands them over

``fp32`` is the model as it is. ``bf16`` converts a copy of the model's weights to bfloat16 once (the model passed in
stays float32 and untouched), so that every matrix product runs on the processor's bf16 units (AMX-BF16,
AVX512-BF16) without re-casting weights on each call as autocast does; inputs are cast to bf16 on the way in and the
logits returned as float32. ``compile=True`` adds ``torch.compile`` with inductor's freezing (weights folded into the
graph as constants; the first call compiles, which takes tens of seconds for a B/16). ``int8`` is the post-training
static quantisation of :mod:`mmmixer.deploy` (``calibration``: the images it calibrates on). ``auto`` is bf16 where
the processor has bf16 instructions, else fp32, and logs which.

:class:`PredictingClassifier` puts a predictor in a classifier's place where mmengine and mmpretrain call
``test_step`` (``mmmixer test``'s Runner, ``mmmixer infer``).
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Iterable

import torch
from torch import nn

from mmmixer.errors import InputError
from mmmixer.models.logits import logits_module

DTYPES = ('fp32', 'bf16', 'int8', 'auto')
# The x86 and Arm capability names of torch.cpu.get_capabilities() that mean bf16 arithmetic in hardware.
BF16_CAPABILITIES = ('amx_bf16', 'avx512_bf16', 'bf16', 'sve_bf16')
INT8_MODULE = 'mmmixer.deploy.int8'  # the int8 quantisation this module calls (lazily: it needs optional packages)

logger = logging.getLogger(__name__)


class UnsupportedDtypeError(InputError):
    """A number format this processor or installation cannot run; the message names what can."""


def bf16_capabilities() -> list[str]:
    """The processor's bf16 instruction sets that torch detected (empty where it has none)."""
    capabilities = torch.cpu.get_capabilities()
    return [name for name in BF16_CAPABILITIES if capabilities.get(name)]


def resolve_dtype(dtype: str) -> str:
    """``dtype`` as it will run: ``auto`` becomes bf16 where the processor has bf16 instructions, else fp32.
    Raises :class:`UnsupportedDtypeError` for an unknown name and for bf16 on a processor without bf16."""
    if dtype not in DTYPES:
        raise UnsupportedDtypeError(f'dtype {dtype!r} is not one of {", ".join(DTYPES)}')
    found = bf16_capabilities()
    if dtype == 'auto':
        chosen = 'bf16' if found else 'fp32'
        reason = f'the processor has {"/".join(found)}' if found else 'the processor has no bf16 instructions'
        logger.warning('dtype auto: %s (%s)', chosen, reason)
        return chosen
    if dtype == 'bf16' and not found:
        raise UnsupportedDtypeError(
            f'this processor ({torch.cpu.get_capabilities().get("cpu_name", "unknown")}) has no bf16 instructions '
            f'({"/".join(BF16_CAPABILITIES)}): bf16 would be emulated and slower than fp32; use dtype fp32, or auto '
            'to take bf16 where the processor has it'
        )
    return dtype


def _freezing(on: bool):
    import contextlib

    if not on:
        return contextlib.nullcontext()
    from torch._inductor import config

    return config.patch(freezing=True)


class CpuPredictor:
    """images (B, 3, H, W) float -> logits (B, classes) float32, without gradients, in the number format ``dtype``.

    ``description`` says which path runs (for logs); ``first_call_seconds`` is the time of the first call (the
    compilation, with ``compile=True``), None before it.
    """

    def __init__(
        self, module: Callable, dtype: str, description: str, input_dtype: torch.dtype | None, compiled: bool = False
    ):
        self.module = module
        self.dtype = dtype
        self.description = description
        self.input_dtype = input_dtype
        self.compiled = compiled
        self.first_call_seconds: float | None = None
        self._compiled_batch: int | None = None  # the batch size the compiled graph was built for

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        start = time.perf_counter()
        count = len(images)
        if self.compiled:
            # A smaller batch (a data set's last) is padded to the compiled one: one graph, no recompilation.
            self._compiled_batch = self._compiled_batch or count
            if count < self._compiled_batch:
                padding = images.new_zeros((self._compiled_batch - count, *images.shape[1:]))
                images = torch.cat([images, padding])
        # no_grad, not inference_mode: inductor freezes (folds the weights into the graph) only under no_grad. The
        # freezing flag is inductor's config, set around the calls (it is read when a call compiles):
        # torch.compile(options={'freezing': True}) leaves the weights as graph inputs in torch 2.14 (extern addmm
        # kernels instead of oneDNN's packed linear with the GELU fused).
        with torch.no_grad(), _freezing(self.compiled):
            inputs = images.to(self.input_dtype) if self.input_dtype is not None else images
            logits = self.module(inputs).float()[:count]
        if self.first_call_seconds is None:
            self.first_call_seconds = time.perf_counter() - start
        return logits

    def __repr__(self) -> str:
        return f'CpuPredictor({self.description})'


def cpu_predictor(
    model: nn.Module,
    dtype: str = 'fp32',
    example_inputs: torch.Tensor | None = None,
    calibration: str | Iterable[torch.Tensor] | None = None,
    compile: bool = False,
) -> CpuPredictor:
    """A callable that gives ``model``'s logits for a batch of normalised images, on the CPU, in ``dtype``.

    Args:
        model: an mmpretrain classifier (called with ``mode='tensor'``) or a plain module images -> logits, on the
            CPU. It is put in eval mode and otherwise not changed: bf16 converts a copy of it.
        dtype: ``fp32`` (the model as it is), ``bf16`` (weights converted to bfloat16 once; needs a processor with
            bf16 instructions), ``int8`` (static quantisation, calibrated on ``calibration``), ``auto`` (bf16 where
            the processor has it, else fp32).
        example_inputs: a batch as the callable will get it; int8 traces with it (default: the first calibration
            batch).
        calibration: int8 only: the images to calibrate on (a folder, or batches as the callable takes them),
            never the ones it is scored on.
        compile: ``torch.compile`` with freezing (fp32 and bf16); the first call compiles.

    Raises :class:`UnsupportedDtypeError` (one line) for an unknown dtype, bf16 on a processor without it, int8
    without calibration images or where the int8 quantisation is not installed, and a model not on the CPU.
    """
    asked, dtype = dtype, resolve_dtype(dtype)
    devices = {parameter.device.type for parameter in model.parameters()}
    if devices - {'cpu'}:
        raise UnsupportedDtypeError(
            f'cpu_predictor runs on the CPU and the model is on {", ".join(sorted(devices))}: move it with .cpu()'
        )
    if dtype != 'int8' and calibration is not None:
        raise UnsupportedDtypeError(f'calibration images are for dtype int8, not {dtype}: leave them out')
    if dtype == 'int8':
        return _int8_predictor(model, example_inputs, calibration, compile)
    module = logits_module(model)
    input_dtype = None
    description = 'fp32 (eager)'
    if dtype == 'bf16':
        # The copy, not the caller's model, loses its gradients (fp32 runs under no_grad and needs no flag).
        module = copy.deepcopy(module).to(torch.bfloat16).requires_grad_(False)
        input_dtype = torch.bfloat16
        description = 'bf16 (weights converted once, logits float32)'
    if compile:
        module = torch.compile(module, dynamic=False)
        description = description.replace(' (eager)', '') + ', torch.compile with freezing'
    if asked == 'auto':
        description = f'auto: {description}'
    logger.info('cpu_predictor: %s', description)
    return CpuPredictor(module, dtype, description, input_dtype, compiled=compile)


def _int8_predictor(model, example_inputs, calibration, compile: bool) -> CpuPredictor:
    if calibration is None:
        raise UnsupportedDtypeError('dtype int8 needs calibration images (training images, not the scored ones)')
    import importlib

    try:
        quantize_int8 = importlib.import_module(INT8_MODULE).quantize_int8
    except (ImportError, AttributeError) as error:
        raise UnsupportedDtypeError(
            f'int8 is unavailable in this installation ({INT8_MODULE}.quantize_int8: {error}); use dtype bf16 or fp32'
        ) from None
    module = logits_module(model)
    start = time.perf_counter()
    quantized = quantize_int8(module, example_inputs, calibration)
    description = f'int8 (static quantisation, calibrated in {time.perf_counter() - start:.1f} s)'
    logger.info('cpu_predictor: %s', description)
    return CpuPredictor(quantized, 'int8', description, None)


class PredictingClassifier(nn.Module):
    """A classifier whose ``test_step`` / ``val_step`` take their logits from ``predictor``: the data preprocessor
    and the predictions (softmax scores and the top label, as mmpretrain's ``ClsHead`` predicts) are the
    classifier's own, so metrics and printed scores are comparable with the model's fp32 ``test_step``."""

    def __init__(self, classifier: nn.Module, predictor: Callable[[torch.Tensor], torch.Tensor]):
        super().__init__()
        from mmpretrain.models.heads import ClsHead

        head = getattr(classifier, 'head', None)
        if not isinstance(head, ClsHead):
            raise UnsupportedDtypeError(
                f'{type(head).__name__} is not a single-label classification head (ClsHead): only fp32 predicts '
                'with it; use dtype fp32'
            )
        self.classifier = classifier
        self.data_preprocessor = classifier.data_preprocessor
        self.predictor = predictor

    def test_step(self, data: dict | tuple | list) -> list:
        from mmpretrain.structures import DataSample

        data = self.data_preprocessor(data, False)
        logits = self.predictor(data['inputs'])
        scores = torch.softmax(logits, dim=1)
        labels = scores.argmax(dim=1, keepdim=True)
        samples = data.get('data_samples') or [DataSample() for _ in range(len(scores))]
        return [
            sample.set_pred_score(score).set_pred_label(label)
            for sample, score, label in zip(samples, scores, labels, strict=True)
        ]

    val_step = test_step
