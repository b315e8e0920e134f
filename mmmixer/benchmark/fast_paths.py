"""The model's fast path on and off: Mixer-B/16, batch 8, 2 threads, the two variants interleaved, median of 7, and
the peak tensor memory of one call (docs/benchmark.md, "The block's fast path").

    python -m mmmixer.benchmark.fast_paths

The fast path is the token-mixing MLP as one GEMM per Linear on the token-major layout
(:class:`mmmixer.models.utils.layers.Mlp`); ``MlpMixer.fast_paths = False`` calls the Linear modules on a transposed
view instead. Three precisions: fp32, bf16 autocast (fp32 weights) and bf16 weights (``model.to(torch.bfloat16)``).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

from mmmixer.benchmark.measure import peak_memory_bytes
from mmmixer.models import MlpMixer

PRECISIONS = ('fp32', 'bf16 autocast', 'bf16 weights')


def steps(model: MlpMixer, images: torch.Tensor) -> tuple[dict[tuple[str, str], Callable[[], None]], dict]:
    """(mode, precision) -> one call (inference under no_grad, or a forward and backward pass), and the models."""
    bf16_model = MlpMixer(arch='b').to(torch.bfloat16)
    bf16_model.load_state_dict(model.state_dict())
    models = {'fp32': model, 'bf16 autocast': model, 'bf16 weights': bf16_model}

    def inference(precision: str) -> None:
        inputs = images.to(torch.bfloat16) if precision == 'bf16 weights' else images
        with torch.no_grad(), torch.autocast('cpu', torch.bfloat16, enabled=precision == 'bf16 autocast'):
            models[precision].eval()(inputs)

    def train(precision: str) -> None:
        with torch.autocast('cpu', torch.bfloat16, enabled=precision == 'bf16 autocast'):
            model.train()(images)[0].float().sum().backward()
        model.zero_grad(set_to_none=True)

    calls = {('inference', p): (lambda p=p: inference(p)) for p in PRECISIONS}
    calls |= {('train', p): (lambda p=p: train(p)) for p in ('fp32', 'bf16 autocast')}
    return calls, models


def main(repeats: int = 7) -> None:
    torch.set_num_threads(2)
    model = MlpMixer(arch='b')
    images = torch.randn(8, 3, 224, 224)
    calls, models = steps(model, images)

    def use(fast: bool) -> None:
        for each in models.values():
            each.fast_paths = fast

    times: dict[tuple[str, str, bool], list[float]] = {}
    for _ in range(repeats + 1):  # the first round warms up
        for key, call in calls.items():
            for fast in (True, False):
                use(fast)
                start = time.perf_counter()
                call()
                times.setdefault((*key, fast), []).append(time.perf_counter() - start)
    print('| mode | precision | token-mixing GEMM | median ms | min | max | peak MB |')
    print('|---|---|---|---|---|---|---|')
    for (mode, precision, fast), seconds in times.items():
        use(fast)
        peak = peak_memory_bytes(calls[mode, precision], torch.device('cpu')) / 2**20
        ms = [s * 1000 for s in seconds[1:]]
        print(
            f'| {mode} | {precision} | {"on" if fast else "off"} | {statistics.median(ms):.0f} | {min(ms):.0f} | '
            f'{max(ms):.0f} | {peak:.1f} |'
        )
    use(True)


if __name__ == '__main__':
    main()
