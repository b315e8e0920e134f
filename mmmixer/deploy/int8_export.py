"""The int8 classifier as a file (``mmmixer export ... --dtype int8 --calibration DIR``), checked against fp32.

The file is the calibrated PT2E graph saved with ``torch.export.save`` (``.pt2``): images (B, 3, H, W) -> logits,
any batch size, the quantisation parameters in it as constants. :func:`load_int8` loads it into the callable
:func:`~mmmixer.deploy.int8.quantize_int8` returns (inductor compiles it with freezing on the first call), so the
deployed runtime is PyTorch with torchao installed, as measured in docs/deployment.md.

An int8 graph does not reproduce fp32 to a float tolerance; it is checked by what a deployment cares about: the
top-1 class agrees with fp32 on the check images and the logits point the same way (cosine similarity).
"""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import zipfile
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn

from mmmixer.deploy.int8 import Int8Classifier, Int8Error, quantized_graph, traced_example
from mmmixer.fileio import write_atomically

MIN_COSINE = 0.98
MIN_AGREEMENT = 0.9
CHECK_IMAGES = 64


class Int8Check(NamedTuple):
    images: int
    top1_agreement: float  # fraction of images whose int8 top-1 class is fp32's
    mean_cosine: float  # mean over images of the cosine similarity of int8 and fp32 logits
    min_cosine: float


def compare_logits(int8_logits: torch.Tensor, fp32_logits: torch.Tensor) -> Int8Check:
    """Top-1 agreement and logits cosine of int8 against fp32, image by image."""
    cosine = nn.functional.cosine_similarity(int8_logits.double(), fp32_logits.double(), dim=1)
    agreement = (int8_logits.argmax(1) == fp32_logits.argmax(1)).double().mean()
    return Int8Check(len(fp32_logits), float(agreement), float(cosine.mean()), float(cosine.min()))


def check_against_fp32(predict, fp32_model: nn.Module, images: torch.Tensor) -> Int8Check:
    with torch.no_grad():
        return compare_logits(predict(images), fp32_model(images))


# The members of a .pt2 that torch.export.load reads without running a pickle (JSON, raw tensor bytes, the
# sample inputs, which are checked with torch's weights_only unpickler first): see check_code_free.
CODE_FREE_MEMBERS = re.compile(
    r'(archive_format|archive_version|byteorder|\.data/version|\.data/serialization_id|models/[^/]+\.json'
    r'|data/weights/[^/]+_weights_config\.json|data/weights/weight_\d+|data/constants/[^/]+_constants_config\.json'
    r'|data/constants/tensor_\d+|data/sample_inputs/[^/]+\.pt)'
)


def check_code_free(path: str | os.PathLike) -> None:
    """Raise :class:`Int8Error` unless loading the ``.pt2`` at ``path`` runs no pickle that could call code.

    ``torch.export.load`` (torch 2.14, ``torch/export/pt2_archive/_package.py`` and
    ``torch/_export/serde/serialize.py``) unpickles with ``weights_only=False`` a tensor stored with
    ``use_pickle``, opaque and custom objects, legacy weight files, and sample inputs that torch's safe unpickler
    refuses; an AOTInductor member is a compiled library. A file :func:`export_int8` writes has none of these."""
    try:
        with zipfile.ZipFile(path) as archive:
            inner = {name.split('/', 1)[1]: name for name in archive.namelist() if '/' in name.rstrip('/')}
            unexpected = sorted(name for name in inner if not CODE_FREE_MEMBERS.fullmatch(name))
            if unexpected or 'archive_version' not in inner:
                what = f'members such as {unexpected[0]}' if unexpected else 'no archive_version'
                raise Int8Error(f'{path} is not an int8 graph written by mmmixer export ({what}); nothing was run')
            for name, member in inner.items():
                if name.endswith('_config.json'):
                    entries = json.loads(archive.read(member)).get('config', {}).values()
                    if any(entry.get('use_pickle') for entry in entries):
                        raise Int8Error(f'{path}: {name} stores pickled tensors, which could run code; not loaded')
                elif name.startswith('data/sample_inputs/'):
                    torch.load(io.BytesIO(archive.read(member)), weights_only=True)
    except Int8Error:
        raise
    except (OSError, zipfile.BadZipFile, ValueError, pickle.UnpicklingError, RuntimeError) as error:
        reason = (str(error).strip().splitlines() or [''])[0][:200]
        raise Int8Error(f'{path} is not a readable int8 .pt2 graph ({type(error).__name__}: {reason})') from None


def load_int8(path: str | os.PathLike) -> Int8Classifier:
    """A ``.pt2`` written by :func:`export_int8` as a callable images -> logits (compiled on its first call).
    Raises :class:`Int8Error` (one line) for a file that is not one, or whose loading could run code
    (:func:`check_code_free`)."""
    import torchao.quantization.pt2e.quantize_pt2e  # noqa: F401  (the quantised ops and inductor's int8 patterns)

    check_code_free(path)
    with open(path, 'rb') as file:  # a file object: torch.export.load would insist on the .pt2 suffix otherwise
        program = torch.export.load(file)
    return Int8Classifier(program.module(), calibration_images=0, calibration_seconds=0.0)


def export_int8(
    model: nn.Module,
    out: str | os.PathLike,
    calibration: Sequence[torch.Tensor],
    *,
    min_cosine: float = MIN_COSINE,
    min_agreement: float = MIN_AGREEMENT,
) -> Int8Check:
    """Quantise ``model`` (images -> logits) on the ``calibration`` batches and save the int8 graph to ``out``.

    Before ``out`` is written, the saved graph is loaded back and run next to ``model`` on up to 64 calibration
    images: a mean logits cosine below ``min_cosine`` or a top-1 agreement below ``min_agreement`` raises
    :class:`Int8Error` and leaves no file. Returns the check.
    """
    batches = list(calibration)
    if not batches:
        raise Int8Error('no calibration images: give a folder of training images')
    example = traced_example(batches[0])
    graph_module, _ = quantized_graph(model, example, batches)
    check_images = torch.cat(batches)[:CHECK_IMAGES].float()
    checks: list[Int8Check] = []

    def write(tmp: str) -> None:
        batch = torch.export.Dim('batch', min=1, max=4096)
        with torch.no_grad():
            program = torch.export.export(graph_module, (example,), dynamic_shapes=({0: batch},))
        with open(tmp, 'wb') as file:  # torch.export.save names its format by the file's suffix otherwise
            torch.export.save(program, file)
        check = check_against_fp32(load_int8(tmp), model, check_images)
        checks.append(check)
        if check.mean_cosine < min_cosine or check.top1_agreement < min_agreement:
            raise Int8Error(
                f'the int8 graph is too far from fp32 on {check.images} calibration images (top-1 agreement '
                f'{check.top1_agreement:.1%}, mean logits cosine {check.mean_cosine:.4f}; needed {min_agreement:.0%} '
                f'and {min_cosine}): calibrate on more images of the training set; nothing was written'
            )

    write_atomically(out, write)
    return checks[0]
