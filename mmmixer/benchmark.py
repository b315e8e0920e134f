"""Throughput and memory of Mixer implementations (mmmixer, timm, mmpretrain), measured fairly.

All implementations run the same arch, batch, dtype and thread count, interleaved (A B C A B C ...)
after a warm-up, and the median of the repeats is reported. A large matrix product (2048^2 on CPU,
8192^2 on GPUs, big enough to reach their peak) takes its turn in the same rotation, so the table also
says what fraction of the device's matmul rate each model reaches.

The training rows time a bare step (forward, cross-entropy, backward, fused AdamW) for each
implementation and, as ``mmmixer config-step``, the step `tools/train.py` runs: ``model.train_step``
of the classifier built from ``configs/mixer-b16_in1k.py`` (or L/16) with its data preprocessor
(uint8 batch -> normalised float), Mixup, soft-label loss and optimizer wrapper (gradient clipping,
mixed precision as ``--amp`` sets it, fused AdamW as ``tools/train.py`` sets it).
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

# name -> (arch, patch)
VARIANTS = {
    's32': ('s', 32),
    's16': ('s', 16),
    'b32': ('b', 32),
    'b16': ('b', 16),
    'l32': ('l', 32),
    'l16': ('l', 16),
    # Seconds-long smoke runs (CI): a tiny custom arch.
    'tiny': (dict(embed_dims=64, num_layers=2, tokens_mlp_dims=32, channels_mlp_dims=256), 16),
}
IMPLEMENTATIONS = ('mmmixer', 'timm', 'mmpretrain')
CHECKPOINTED = '+cp'  # suffix: the same model with activation checkpointing (mmmixer's with_cp, timm's)
CONFIG_STEP = 'mmmixer config-step'  # the training step of tools/train.py, built from a config
DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16, 'fp16': torch.float16}
AMP_DTYPE_NAMES = {'bf16': 'bfloat16', 'fp16': 'float16'}
CONFIGS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'configs')


@dataclass
class Settings:
    variant: str = 'b16'
    batch_size: int = 8
    img_size: int = 224
    device: str = 'cpu'
    dtype: str = 'fp32'
    threads: int = 2
    warmup: int = 2
    repeats: int = 5
    channels_last: bool = False
    compile: bool = False
    with_cp: bool = False  # also time mmmixer+cp and timm+cp in training
    config_step: bool = True  # also time `mmmixer config-step` in training
    fused_adamw: bool = True
    modes: tuple[str, ...] = ('inference', 'train')
    implementations: tuple[str, ...] = IMPLEMENTATIONS


@dataclass
class Result:
    implementation: str
    mode: str
    images_per_second: float
    seconds_per_batch: list[float]
    peak_memory_mb: float
    matmul_fraction: float | None = None
    extra: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- models
def _spec(variant: str):
    from mmmixer.converters.mixer import MixerSpec
    from mmmixer.models.backbones.mlp_mixer import ARCH_ZOO

    arch, patch = VARIANTS[variant]
    dims = ARCH_ZOO[arch] if isinstance(arch, str) else arch
    return MixerSpec(**dims, patch_size=patch, grid=(224 // patch, 224 // patch), in_channels=3, num_classes=1000)


class _TensorMode(nn.Module):
    """An mmpretrain classifier called like a plain module (images -> logits)."""

    def __init__(self, classifier: nn.Module):
        super().__init__()
        self.classifier = classifier

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(images, mode='tensor')


def build_model(implementation: str, settings: Settings) -> nn.Module:
    """The same classifier (1000 classes) from each implementation; ``NAME+cp`` checkpoints activations."""
    spec = _spec(settings.variant)
    name, with_cp = implementation.removesuffix(CHECKPOINTED), implementation.endswith(CHECKPOINTED)
    if name == 'timm':
        from mmmixer.converters.mixer import build_timm_reference

        model = build_timm_reference(spec)
        model.set_grad_checkpointing(with_cp)
        return model
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    from mmmixer.converters.mixer import classifier_config

    config = classifier_config(spec)
    if name == 'mmpretrain':
        arch = spec.arch_name or spec.arch
        config['backbone'] = dict(type='MlpMixer', arch=arch, img_size=224, patch_size=spec.patch_size)
        config['neck'] = dict(type='GlobalAveragePooling', dim=1)  # its output is (B, C, N)
    else:
        config['backbone']['with_cp'] = with_cp
    init_default_scope('mmpretrain')
    return _TensorMode(MODELS.build(config))


def implementations_to_run(settings: Settings, mode: str) -> list[str]:
    names = list(settings.implementations)
    if settings.config_step and mode == 'train' and 'mmmixer' in names:
        names.insert(names.index('mmmixer') + 1, CONFIG_STEP)
    if settings.with_cp and mode == 'train':
        names += [name + CHECKPOINTED for name in settings.implementations if name in ('mmmixer', 'timm')]
    return names


def config_train_step(settings: Settings, device: torch.device) -> Callable[[], None]:
    """``model.train_step`` exactly as ``tools/train.py`` runs it, on one collated batch.

    The batch is what the configs' ``default_collate`` gives: one uint8 image tensor (pinned on
    CUDA, copied to the device inside the step) and fresh ``DataSample`` labels for every call.
    """
    from mmengine.config import Config
    from mmengine.logging import MMLogger
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    from mmpretrain.structures import DataSample

    from mmmixer.models.backbones.mlp_mixer import ARCH_ZOO
    from mmmixer.runtime.fast_training import compile_in_place, use_amp, use_fused_optimizer

    arch, patch = VARIANTS[settings.variant]
    config_name = 'mixer-l16_in1k.py' if arch == 'l' else 'mixer-b16_in1k.py'
    cfg = Config.fromfile(os.path.join(CONFIGS, config_name))
    cfg.model.backbone.update(arch=arch, patch_size=patch, img_size=settings.img_size)
    cfg.model.head.in_channels = (ARCH_ZOO[arch] if isinstance(arch, str) else arch)['embed_dims']
    cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    init_default_scope('mmpretrain')
    model = MODELS.build(cfg.model)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('WARNING')  # init_weights logs a line per parameter
    model.init_weights()
    logger.setLevel(level)
    model.to(device)
    if settings.compile:
        compile_in_place(model, {})

    optim_cfg = cfg.optim_wrapper.to_dict()
    if settings.dtype in AMP_DTYPE_NAMES:
        use_amp(optim_cfg, AMP_DTYPE_NAMES[settings.dtype], device.type)
    if settings.fused_adamw:
        use_fused_optimizer(optim_cfg, device.type)
    else:
        optim_cfg['optimizer']['foreach'] = True
    optim_wrapper = build_optim_wrapper(model, optim_cfg)

    images = torch.randint(0, 256, (settings.batch_size, 3, settings.img_size, settings.img_size), dtype=torch.uint8)
    if device.type == 'cuda':
        images = images.pin_memory()
    labels = torch.randint(0, 1000, (settings.batch_size,)).tolist()
    # One fresh set of labels per call, made beforehand (the dataloader workers make them in training).
    calls = settings.warmup + settings.repeats + 1  # + the untimed memory-peak step
    sample_sets = [[DataSample().set_gt_label(label) for label in labels] for _ in range(calls)]

    def step():
        samples = sample_sets.pop() if sample_sets else [DataSample().set_gt_label(label) for label in labels]
        model.train_step(dict(inputs=images, data_samples=samples), optim_wrapper)

    return step


# ----------------------------------------------------------------------------- measuring
def peak_memory_bytes(step: Callable[[], None], device: torch.device) -> int:
    """Peak of the tensor memory that one call of ``step`` allocates beyond what was live before it.

    On CUDA this is the caching allocator's ``max_memory_allocated``. On CPU, where PyTorch keeps no
    such statistic, it is the largest running sum of the profiler's allocation and free events; the
    kernel's RSS would also count freed memory that malloc keeps, which depends on fragmentation.
    The profiled call is not one of the timed ones.
    """
    if device.type == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        step()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as profiler:
        step()
    events = [e for e in profiler.profiler.kineto_results.events() if e.name() == '[memory]']
    live = peak = 0
    for event in sorted(events, key=lambda e: e.start_ns()):
        live += event.nbytes()
        peak = max(peak, live)
    return peak


def _synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize()


MATMUL = 'matmul'  # the device's reference rate, timed in the same rotation as the models


def matmul_size(device: torch.device) -> int:
    """Side of the reference product: 2048 reaches a CPU's peak; a GPU needs 8192 (2048^2 reaches only
    47-100 of an H100's ~790 bf16 TFLOP/s, which made models look faster than the device)."""
    return 2048 if device.type == 'cpu' else 8192


def matmul_step(device: torch.device, dtype: torch.dtype, size: int = 2048) -> tuple[Callable[[], None], float]:
    """One size x size matrix product (sgemm for fp32) and its FLOPs."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    return lambda: torch.mm(a, b), 2.0 * size**3


def forward_flops_per_image(variant: str) -> float:
    """Multiply-adds x 2 of one forward pass at 224 px (stem, blocks, head)."""
    spec = _spec(variant)
    n, c = spec.grid[0] * spec.grid[1], spec.embed_dims
    macs = n * c * 3 * spec.patch_size**2  # stem
    macs += spec.num_layers * (2 * n * spec.tokens_mlp_dims * c + 2 * n * spec.channels_mlp_dims * c)
    macs += c * spec.num_classes
    return 2.0 * macs


def _step_function(model: nn.Module, mode: str, settings: Settings, device: torch.device) -> Callable[[], None]:
    images = torch.randn(settings.batch_size, 3, settings.img_size, settings.img_size, device=device)
    if settings.channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    dtype = DTYPES[settings.dtype]
    autocast = torch.autocast(device_type=device.type, dtype=dtype) if dtype != torch.float32 else nullcontext()
    if mode == 'inference':
        model.eval()

        def step():
            with torch.no_grad(), autocast:
                model(images)

        return step
    model.train()
    labels = torch.randint(0, 1000, (settings.batch_size,), device=device)
    # fused: one kernel per parameter, no model-sized temporaries (foreach AdamW's would dominate the peak).
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=settings.fused_adamw)

    def step():
        with autocast:
            loss = nn.functional.cross_entropy(model(images).float(), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def run_benchmark(settings: Settings, log=print) -> dict:
    torch.set_num_threads(settings.threads)
    device = torch.device(settings.device)
    dtype = DTYPES[settings.dtype]
    flops = forward_flops_per_image(settings.variant)
    log(f'forward {flops / 1e9:.2f} GFLOP/image')
    size = matmul_size(device)
    matmul, matmul_flops = matmul_step(device, dtype, size)

    results, rates = [], {}
    for mode in settings.modes:
        steps = {}
        for name in implementations_to_run(settings, mode):
            torch.manual_seed(0)
            if name == CONFIG_STEP:
                steps[name] = config_train_step(settings, device)
                continue
            model = build_model(name, settings).to(device)
            if settings.channels_last:
                model = model.to(memory_format=torch.channels_last)
            if settings.compile:
                model = torch.compile(model)
            steps[name] = _step_function(model, mode, settings, device)
        steps[MATMUL] = matmul
        for step in steps.values():
            for _ in range(settings.warmup):
                step()
        times = {name: [] for name in steps}
        for _ in range(settings.repeats):
            for name, step in steps.items():  # interleaved: A B C A B C ..., so drift hits all alike
                _synchronize(device)
                start = time.perf_counter()
                step()
                _synchronize(device)
                times[name].append(time.perf_counter() - start)
        rate = rates[mode] = matmul_flops / statistics.median(times.pop(MATMUL))
        del steps[MATMUL]
        log(f'{mode}: matmul rate ({settings.dtype}, {size}^2) {rate / 1e9:.1f} GFLOP/s')
        peaks = {name: peak_memory_bytes(step, device) / 2**20 for name, step in steps.items()}
        for name, seconds_per_batch in times.items():
            throughput = settings.batch_size / statistics.median(seconds_per_batch)
            work = flops * (3 if mode == 'train' else 1)  # backward ~ 2x forward
            results.append(
                Result(name, mode, throughput, seconds_per_batch, peaks[name], matmul_fraction=throughput * work / rate)
            )
        del steps
    return dict(
        settings={k: list(v) if isinstance(v, tuple) else v for k, v in asdict(settings).items()},
        torch=torch.__version__,
        matmul_gflops={mode: rate / 1e9 for mode, rate in rates.items()},
        matmul_size=size,
        forward_gflop_per_image=flops / 1e9,
        results=[asdict(r) for r in results],
    )


def _is_variant_row(name: str) -> bool:
    """Rows that are another way of running an implementation, not another implementation."""
    return name.endswith(CHECKPOINTED) or name == CONFIG_STEP


def format_table(report: dict) -> str:
    """Markdown table; "x fastest other" compares against the other implementations as bare models."""
    lines = [
        '| implementation | mode | img/s | x fastest other | peak MB | % of matmul rate |',
        '|---|---|---|---|---|---|',
    ]
    results = report['results']
    by_name = {(r['implementation'], r['mode']): r for r in results}
    for r in results:
        name = r['implementation']
        others = [
            o['images_per_second']
            for o in results
            if o['mode'] == r['mode'] and not _is_variant_row(o['implementation']) and o['implementation'] != name
        ]
        ratio = f'{r["images_per_second"] / max(others):.2f}' if others and not _is_variant_row(name) else '-'
        lines.append(
            f'| {name} | {r["mode"]} | {r["images_per_second"]:.2f} | {ratio} | '
            f'{r["peak_memory_mb"]:.0f} | {100 * r["matmul_fraction"]:.0f}% |'
        )
    summaries = [f'{mode}: matmul rate {gflops:.1f} GFLOP/s' for mode, gflops in report['matmul_gflops'].items()]
    for (name, mode), r in by_name.items():
        base = by_name.get((name.removesuffix(CHECKPOINTED), mode))
        if name.endswith(CHECKPOINTED) and base:
            summaries.append(
                f'{name}: peak memory {r["peak_memory_mb"] / base["peak_memory_mb"]:.2f}x and time per step '
                f'{base["images_per_second"] / r["images_per_second"]:.2f}x of {base["implementation"]}'
            )
    bare = by_name.get(('mmmixer', 'train'))
    config_step = by_name.get((CONFIG_STEP, 'train'))
    if bare and config_step:
        batch = report['settings']['batch_size']
        bare_ms, config_ms = (1e3 * batch / x['images_per_second'] for x in (bare, config_step))
        summaries.append(
            f'{CONFIG_STEP}: {config_step["images_per_second"] / bare["images_per_second"]:.3f}x the throughput of '
            f'the bare mmmixer step ({config_ms:.1f} vs {bare_ms:.1f} ms per batch of {batch})'
        )
    return '\n'.join([*lines, '', *summaries])


def write_json(report: dict, path: str) -> None:
    tmp = f'{path}.tmp-{os.getpid()}'
    with open(tmp, 'w') as f:
        json.dump(report, f, indent=2)
    os.replace(tmp, path)


# ----------------------------------------------------------------------------- data side
class _PipelineDataset(torch.utils.data.Dataset):
    def __init__(self, paths: list[str], pipeline_cfg: list):
        self.paths, self.pipeline_cfg, self.pipeline = paths, pipeline_cfg, None

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, index):
        if self.pipeline is None:  # built in the worker process
            from mmengine.dataset import Compose
            from mmengine.registry import init_default_scope

            init_default_scope('mmpretrain')
            self.pipeline = Compose(self.pipeline_cfg)
        return self.pipeline(dict(img_path=self.paths[index]))['inputs']


def pipeline_throughput(config: str, num_images: int = 64, workers: int = 2, size=(375, 500)) -> float:
    """Images/s of a config's test pipeline (decode + resize + crop) on JPEGs of ImageNet's typical size."""
    import tempfile

    import numpy as np
    from mmengine.config import Config
    from PIL import Image

    pipeline = Config.fromfile(config).test_dataloader.dataset.pipeline
    with tempfile.TemporaryDirectory() as folder:
        rng = np.random.default_rng(0)
        paths = []
        for i in range(8):  # a few distinct files, read repeatedly
            path = os.path.join(folder, f'{i}.JPEG')
            # Smooth content compresses like a photo; pure noise would make decoding unrealistically slow.
            base = rng.integers(0, 256, (size[0] // 25, size[1] // 25, 3), dtype=np.uint8)
            Image.fromarray(base).resize(size[::-1], Image.BICUBIC).save(path, quality=90)
            paths.append(path)
        dataset = _PipelineDataset([paths[i % 8] for i in range(num_images)], pipeline)
        loader = torch.utils.data.DataLoader(dataset, batch_size=8, num_workers=workers, collate_fn=list)
        iterator = iter(loader)
        next(iterator)  # start-up of the workers is not throughput
        start = time.perf_counter()
        count = sum(len(batch) for batch in iterator)
        return count / (time.perf_counter() - start)


# ----------------------------------------------------------------------------- detection-sized inputs
def detection_backbone_cost(variant: str = 'b16', size: int = 1024, repeats: int = 3, threads: int = 2) -> dict:
    """Forward seconds of the backbone at ``size`` x ``size``: windowed vs a bilinear-resized global model.

    ``'window'`` keeps the 224 px token-mixing MLPs and tiles the input (padding it to whole windows);
    the global model gets token-mixing weights resized to the full grid with
    :func:`mmmixer.models.resize_token_mixing` (``mode='bilinear'``).
    """
    from mmmixer.models import MlpMixer, resize_token_mixing

    torch.set_num_threads(threads)
    spec = _spec(variant)
    arch = spec.arch_name or spec.arch
    windowed = MlpMixer(arch=arch, patch_size=spec.patch_size, token_mixing='window').eval()
    grid = (size // spec.patch_size, size // spec.patch_size)
    resized = resize_token_mixing(windowed.state_dict(), spec.grid, grid, mode='bilinear')
    global_model = MlpMixer(arch=arch, patch_size=spec.patch_size, img_size=size).eval()
    global_model.load_state_dict(resized)
    images = torch.randn(1, 3, size, size)
    seconds = {}
    with torch.no_grad():
        for name, model in (('window', windowed), ('bilinear_global', global_model)):
            model(images)  # warm-up
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                model(images)
                times.append(time.perf_counter() - start)
            seconds[name] = statistics.median(times)
    return dict(variant=variant, size=size, forward_seconds=seconds)
