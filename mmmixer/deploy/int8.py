"""Post-training static int8 quantisation of a Mixer classifier for the CPU: weights and activations in int8.

The flow is torchao's PT2E with its X86 inductor quantiser (chosen by measurement over ONNX Runtime's static QDQ
and OpenVINO + NNCF; the numbers are in docs/deployment.md):

1. the classifier is captured with ``torch.export`` with the backbone's ``fast_paths`` off, so that the token-mixing
   MLP's Linear layers are ``aten.linear`` nodes a quantiser sees (the fast path runs them as a bare ``addmm``);
2. three graph edits (:func:`prepare_graph`), each keeping the function, that let inductor's oneDNN patterns
   match: a Linear whose input is a transposed view (the token-mixing ones) gets a contiguous copy in front of it
   (a quantised Linear is recognised only as quantise -> dequantise -> linear on a contiguous input); the token
   MLP's GELU, which sits between two transposes that cancel, is applied before them, next to its Linear; eval-mode
   dropouts are removed (``linear -> gelu`` and ``linear -> add`` fuse into one oneDNN call only when nothing sits
   between them);
3. ``prepare_pt2e`` inserts observers (per-tensor uint8 activations with histogram calibration, per-channel int8
   weights: the quantiser's default), the calibration images are run through it, ``convert_pt2e`` turns the
   observers into quantise/dequantise pairs;
4. the first call compiles the graph with inductor and freezing: every Linear and the patch-embedding convolution
   become oneDNN int8 kernels (AMX-INT8 / VNNI), the quantise/dequantise pairs fuse into their neighbours.

What stays in higher precision (and why) is the quantiser's choice, kept as it is: LayerNorm, GELU (fused into
the first Linear of each MLP), the residual additions and the mean pooling run in float32 on dequantised
values, because their int8 versions would either need a requantisation per element (no faster) or lose the
residual stream's range; the logits come out of the head's int8 GEMM as float32.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator

import torch
from torch import nn

from mmmixer.apis.image_batches import CALIBRATION_BATCH
from mmmixer.errors import InputError
from mmmixer.models.logits import logits_module

logger = logging.getLogger(__name__)

# Inductor's settings for the int8 graph. freezing: the weights become constants, which inductor's oneDNN int8
# patterns need (the Linear layers are packed once). realize_reads_threshold=1: a value read by more than one loop is
# written to memory once instead of recomputed in each; without it the sum (residual + token MLP output, a
# transposed read) is recomputed by scalar gathers in each of LayerNorm's three loops, and B/16 runs at 60 img/s
# instead of 80 (2 threads, batch 8, docs/deployment.md).
COMPILE_OPTIONS = {'freezing': True, 'realize_reads_threshold': 1}
# torch.export fixes a dimension traced at size 1: the batch is traced at two images at least.
MIN_TRACED_BATCH = 2
NO_CALIBRATION = 'no calibration images: give a folder of training images or a non-empty list of batches'


class Int8Error(InputError, ValueError):
    """A model, calibration set or request that int8 quantisation cannot take; the message says what to change."""


def torchao_missing() -> str | None:
    """Why torchao's PT2E quantisation cannot be imported here (None when it can)."""
    try:
        import torchao.quantization.pt2e.quantize_pt2e  # noqa: F401
        import torchao.quantization.pt2e.quantizer.x86_inductor_quantizer  # noqa: F401
    except ImportError as error:
        return f"int8 needs torchao ({error}); pip install 'mmmixer[deploy]'"
    return None


def mixer_backbones(model: nn.Module) -> list[nn.Module]:
    """The modules of ``model`` with the ``fast_paths`` switch (our MlpMixer backbones)."""
    return [module for module in model.modules() if isinstance(getattr(type(module), 'fast_paths', None), property)]


@contextlib.contextmanager
def token_linears_visible(model: nn.Module) -> Iterator[None]:
    """``fast_paths`` off while the graph is captured (the token-mixing Linear layers as modules), then restored."""
    backbones = mixer_backbones(model)
    before = [backbone.fast_paths for backbone in backbones]
    try:
        for backbone in backbones:
            backbone.fast_paths = False
        yield
    finally:
        for backbone, on in zip(backbones, before, strict=True):
            backbone.fast_paths = on


def _is_call(node, target) -> bool:
    return isinstance(node, torch.fx.Node) and node.op == 'call_function' and node.target == target


def _remove_eval_dropouts(graph: torch.fx.Graph) -> None:
    for node in list(graph.nodes):
        if _is_call(node, torch.ops.aten.dropout.default) and len(node.args) > 2 and node.args[2] is False:
            node.replace_all_uses_with(node.args[0])
            graph.erase_node(node)


def _activate_before_moving(graph: torch.fx.Graph) -> int:
    """``movedim(gelu(movedim(y, a, b)), b, a)`` -> ``gelu(y)``: the token MLP's GELU sits between two transposes
    that cancel; applied to ``y`` itself it follows its Linear directly, and the two fuse into one oneDNN call."""
    aten = torch.ops.aten
    rewritten = 0
    for gelu in list(graph.nodes):
        if not _is_call(gelu, aten.gelu.default) or len(gelu.users) != 1:
            continue
        moved, back = gelu.args[0], next(iter(gelu.users))
        if not (_is_call(moved, aten.movedim.int) and _is_call(back, aten.movedim.int)) or len(moved.users) != 1:
            continue
        if tuple(back.args[1:]) != tuple(moved.args[1:])[::-1]:
            continue
        with graph.inserting_before(back):
            direct = graph.call_function(aten.gelu.default, (moved.args[0], *gelu.args[1:]), dict(gelu.kwargs))
        direct.meta = {**gelu.meta, 'val': back.meta.get('val')}
        back.replace_all_uses_with(direct)
        for node in (back, gelu, moved):
            graph.erase_node(node)
        rewritten += 1
    return rewritten


def _contiguous_linear_inputs(graph: torch.fx.Graph) -> int:
    aten = torch.ops.aten
    copied = 0
    for node in list(graph.nodes):
        if not _is_call(node, aten.linear.default):
            continue
        source = node.args[0]
        value = source.meta.get('val') if isinstance(source, torch.fx.Node) else None
        if isinstance(value, torch.Tensor) and not value.is_contiguous():
            with graph.inserting_before(node):
                contiguous = graph.call_function(
                    aten.clone.default, (source,), {'memory_format': torch.contiguous_format}
                )
            contiguous.meta['val'] = value.contiguous()
            node.replace_input_with(source, contiguous)
            copied += 1
    return copied


def prepare_graph(graph: torch.fx.Graph) -> dict[str, int]:
    """The graph edits of the module's docstring, each keeping the function: eval-mode dropouts removed, the
    token MLP's GELU moved next to its Linear, every Linear given a contiguous input. Returns what was changed."""
    _remove_eval_dropouts(graph)
    changes = {'gelu_moved': _activate_before_moving(graph), 'inputs_made_contiguous': _contiguous_linear_inputs(graph)}
    graph.lint()
    return changes


def _x86_quantizer():
    import torchao.quantization.pt2e.quantizer.x86_inductor_quantizer as x86

    quantizer = x86.X86InductorQuantizer()
    quantizer.set_global(x86.get_default_x86_inductor_quantization_config())
    return quantizer


def traced_example(example_inputs) -> torch.Tensor:
    """The batch the graph is traced with: ``example_inputs`` (a tensor or a one-tensor tuple), two images at least."""
    example = example_inputs[0] if isinstance(example_inputs, (tuple, list)) else example_inputs
    if not isinstance(example, torch.Tensor) or example.ndim != 4 or example.shape[1] != 3:
        shape = tuple(example.shape) if isinstance(example, torch.Tensor) else type(example).__name__
        raise Int8Error(f'example_inputs must be an image batch (B, 3, H, W), got {shape}')
    example = example.detach().float()
    if len(example) < MIN_TRACED_BATCH:
        example = example.repeat(MIN_TRACED_BATCH, 1, 1, 1)[:MIN_TRACED_BATCH]
    return example


def quantized_graph(
    model: nn.Module, example_inputs, batches: Iterable[torch.Tensor]
) -> tuple[torch.fx.GraphModule, int]:
    """``model`` (images -> logits) as a PT2E int8 graph calibrated on ``batches``; also the number of images used."""
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    example = traced_example(example_inputs)
    batch = torch.export.Dim('batch', min=1, max=4096)
    model = model.eval()
    with torch.no_grad(), token_linears_visible(model):
        try:
            graph_module = torch.export.export(model, (example,), dynamic_shapes=({0: batch},)).module()
        except Exception as error:  # torch.export's failures are many classes; one line names the cause
            reason = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
            raise Int8Error(f'the model cannot be captured for int8 (torch.export: {reason})') from None
    prepare_graph(graph_module.graph)
    graph_module.recompile()
    prepared = prepare_pt2e(graph_module, _x86_quantizer())
    seen = 0
    with torch.no_grad():
        for images in batches:
            if images.shape[1:] != example.shape[1:]:
                raise Int8Error(
                    f'calibration batch of shape {tuple(images.shape)}: the model is traced at '
                    f'{tuple(example.shape[1:])} per image; calibrate on images of that size'
                )
            prepared(images.float())
            seen += len(images)
    if seen == 0:
        raise Int8Error(NO_CALIBRATION)
    return convert_pt2e(prepared), seen


def calibration_tensors(model: nn.Module, calibration, config=None) -> list[torch.Tensor]:
    """``calibration`` as a list of (B, 3, H, W) batches: a tensor (split into batches), an iterable of tensors, or
    a folder of images put through the config's test pipeline and data preprocessor (:func:`folder_batches`)."""
    if isinstance(calibration, torch.Tensor):
        if calibration.ndim != 4:
            raise Int8Error(f'a calibration tensor must be (N, 3, H, W), got shape {tuple(calibration.shape)}')
        return list(calibration.split(CALIBRATION_BATCH))
    if isinstance(calibration, (str, os.PathLike)):
        return folder_batches(model, os.fspath(calibration), config)
    batches = list(calibration)
    for images in batches:
        if not isinstance(images, torch.Tensor) or images.ndim != 4:
            what = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
            raise Int8Error(f'calibration batches must be image tensors (B, 3, H, W), got {what}')
    return batches


def _classifier_inside(model: nn.Module) -> nn.Module:
    """The mmengine classifier of ``model`` (``model`` itself or the one a tensor-mode wrapper holds)."""
    for module in (model, getattr(model, 'model', None), getattr(model, 'classifier', None)):
        if module is not None and hasattr(module, 'data_preprocessor'):
            return module
    raise Int8Error(
        'calibrating on a folder needs an mmpretrain classifier (its data preprocessor normalises the images); '
        'for another module give the calibration images as tensors'
    )


def folder_batches(model: nn.Module, folder: str, config=None) -> list[torch.Tensor]:
    """The images of ``folder`` (searched deeply) as ``mmmixer infer`` feeds them to the model: decoded as the
    config's test loader decodes, through its test pipeline (without the file loader) and the config's data
    preprocessor (the model's where the config has none), in batches of 16."""
    from mmcv.transforms import Compose
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import TRANSFORMS

    from mmmixer.apis.image_files import decode_image, find_images
    from mmmixer.broken_images.scan import LOADER_TYPES, loader_args
    from mmmixer.errors import BrokenImageError

    if not os.path.isdir(folder):
        raise Int8Error(
            f'calibration folder {folder} does not exist or is not a folder; give a folder of training images'
        )
    try:
        paths, skipped = find_images([folder])
    except InputError:  # a folder without image files: said below, for calibration
        paths, skipped = [], []
    if not paths:
        why = f' ({len(skipped)} other files, e.g. {skipped[0].path}: {skipped[0].reason})' if skipped else ''
        raise Int8Error(f'calibration folder {folder} has no images{why}; give a folder of training images')
    classifier = _classifier_inside(model)
    config = config if config is not None else getattr(classifier, 'cfg', None)
    if config is None:
        raise Int8Error(
            'calibrating on a folder needs the config of the model (its test pipeline): pass config=, or build the '
            'model with mmpretrain.apis.init_model'
        )
    dataset = (config.get('test_dataloader') or {}).get('dataset') or {}
    # Without the file loader (mmcv's, or the checked one a command's Runner has in its place): images come decoded.
    loaders = (*LOADER_TYPES, 'mmmixer.LoadImageChecked')
    pipeline_cfg = dataset.get('pipeline') or config.get('test_pipeline') or []
    steps = [step for step in pipeline_cfg if step['type'] not in loaders]
    with DefaultScope.overwrite_default_scope(config.get('default_scope', 'mmpretrain')):
        pipeline = Compose([TRANSFORMS.build(step) for step in steps])
    decoding = loader_args(dataset.get('pipeline'))
    preprocessor = _config_preprocessor(config) or classifier.data_preprocessor
    batches = []
    for start in range(0, len(paths), CALIBRATION_BATCH):
        samples = []
        for path in paths[start : start + CALIBRATION_BATCH]:
            try:
                image = decode_image(path, decoding)
            except BrokenImageError as error:
                raise Int8Error(f'calibration folder {folder}: {error}') from None
            samples.append(pipeline(dict(img=image, img_shape=image.shape[:2], ori_shape=image.shape[:2])))
        inputs = [sample['inputs'] for sample in samples]
        if len({tuple(image.shape) for image in inputs}) > 1:
            raise Int8Error(
                f'calibration folder {folder}: the test pipeline gives images of several sizes; calibrate with a '
                'config whose test pipeline resizes every image to one size'
            )
        with torch.no_grad():
            batches.append(preprocessor({'inputs': inputs}, False)['inputs'])
    return batches


def _config_preprocessor(config) -> nn.Module | None:
    """The data preprocessor the config trains and tests with (its top-level ``data_preprocessor``, which a Runner
    gives the model; a model built from ``config.model`` alone has mmpretrain's default, without mean and std)."""
    settings = config.get('data_preprocessor') or (config.get('model') or {}).get('data_preprocessor')
    if not settings:
        return None
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS

    with DefaultScope.overwrite_default_scope(config.get('default_scope', 'mmpretrain')):
        return MODELS.build({'type': 'ClsDataPreprocessor', **dict(settings)})


class Int8Classifier:
    """images (B, 3, H, W) float -> logits float32, through the int8 graph compiled by inductor with freezing.

    The graph is compiled for one batch size, the first one it gets (tens of seconds for a B/16 on 2 cores); a
    smaller batch is padded to it and a larger one is split, so that no call recompiles.
    """

    def __init__(self, graph_module: torch.fx.GraphModule, calibration_images: int, calibration_seconds: float):
        self.graph_module = graph_module
        self.calibration_images = calibration_images
        self.calibration_seconds = calibration_seconds
        self.compile_seconds: float | None = None
        self._compiled: Callable | None = None
        self._batch: int | None = None

    def _compile(self, images: torch.Tensor) -> None:
        from torch._inductor import config

        start = time.perf_counter()
        self._batch = len(images)
        self._compiled = torch.compile(self.graph_module, dynamic=False)
        with torch.no_grad(), config.patch(COMPILE_OPTIONS):
            self._compiled(images)
        self.compile_seconds = time.perf_counter() - start
        logger.info('int8: compiled for batch %d in %.1f s', self._batch, self.compile_seconds)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        images = images.float()
        if self._compiled is None:
            self._compile(images)
        outputs = []
        with torch.no_grad():
            for chunk in images.split(self._batch):
                count = len(chunk)
                if count < self._batch:
                    chunk = torch.cat([chunk, chunk.new_zeros((self._batch - count, *chunk.shape[1:]))])
                outputs.append(self._compiled(chunk)[:count].float())
        return torch.cat(outputs)

    def __repr__(self) -> str:
        return f'Int8Classifier(calibrated on {self.calibration_images} images, compiled batch {self._batch})'


def quantize_int8(model: nn.Module, example_inputs, calibration, *, config=None) -> Int8Classifier:
    """``model`` (images -> logits, e.g. a classifier called with ``mode='tensor'``) quantised to int8, weights
    and activations, calibrated on ``calibration``: a folder of training images (never the scored ones; put
    through the test pipeline of ``config``, or of ``model.cfg``), a tensor (N, 3, H, W) or an iterable of batches.

    ``example_inputs`` (None: the first calibration batch) is the batch the graph is traced with. Returns a callable
    images (B, 3, H, W) float -> logits float32 whose first call compiles. ``model`` is put in eval mode and
    otherwise not changed. Raises :class:`Int8Error` (one line) for an empty or unreadable calibration set, images
    of another size than ``example_inputs``, a model that cannot be captured, or a missing torchao.
    """
    missing = torchao_missing()
    if missing:
        raise Int8Error(missing)
    start = time.perf_counter()
    batches = calibration_tensors(model, calibration, config)
    if example_inputs is None:  # traced at the calibration images' size, which a folder's test pipeline decides
        if not batches:
            raise Int8Error(NO_CALIBRATION)
        example_inputs = batches[0]
    graph_module, seen = quantized_graph(logits_module(model), example_inputs, batches)
    seconds = time.perf_counter() - start
    logger.info('int8: calibrated on %d images in %.1f s', seen, seconds)
    return Int8Classifier(graph_module, seen, seconds)
