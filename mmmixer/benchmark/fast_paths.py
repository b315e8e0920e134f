"""Each fast path of the Mixer block on and off: Mixer-B/16, batch 8, 2 threads, the variants run interleaved,
median of 7, and the peak tensor memory of one call (docs/benchmark.md, "The block's fast paths, one by one").

    python -m mmmixer.benchmark.fast_paths

A variant switches fast paths off by putting the plain computation in their place: in-place inference
(``MixerBlock.can_update_in_place``), GELU written into fc1's output (``layers.activate``) and the token-mixing
GEMM (``layers.linear_over_tokens``).
"""

import statistics
import time

import torch

import mmmixer.models.backbones.mlp_mixer as mlp_mixer
import mmmixer.models.utils.layers as layers
from mmmixer.benchmark.measure import peak_memory_bytes
from mmmixer.models import MlpMixer

FAST = dict(
    in_place=mlp_mixer.MixerBlock.can_update_in_place,
    gelu_=layers.activate,
    gemm=layers.linear_over_tokens,
)
PLAIN = dict(
    in_place=lambda block: False,
    gelu_=lambda act, fc1, hidden: act(hidden),
    gemm=lambda fc, x: fc(x.movedim(0, -1)).movedim(-1, 0),
)
VARIANTS = {
    'all': (),
    'no in-place': ('in_place',),
    'no gelu_': ('gelu_',),
    'no GEMM': ('gemm',),
    'none': ('in_place', 'gelu_', 'gemm'),
}


def use(variant: str) -> None:
    off = VARIANTS[variant]
    paths = {name: (PLAIN if name in off else FAST)[name] for name in FAST}
    mlp_mixer.MixerBlock.can_update_in_place = paths['in_place']
    layers.activate = paths['gelu_']
    layers.linear_over_tokens = paths['gemm']


def main() -> None:
    torch.set_num_threads(2)
    model = MlpMixer(arch='b', img_size=224, patch_size=16).eval()
    images = torch.randn(8, 3, 224, 224)

    def inference(dtype: str) -> None:
        with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16, enabled=dtype == 'bf16'):
            model(images)

    def train(dtype: str) -> None:
        model.train()
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=dtype == 'bf16'):
            model(images)[0].float().sum().backward()
        model.zero_grad(set_to_none=True)
        model.eval()

    steps = [('inference', inference, list(VARIANTS)), ('train', train, ['all', 'no GEMM'])]
    times: dict[tuple[str, str, str], list[float]] = {}
    for _ in range(7):
        for mode, step, variants in steps:
            for dtype in ('fp32', 'bf16'):
                for variant in variants:
                    use(variant)
                    start = time.perf_counter()
                    step(dtype)
                    times.setdefault((mode, dtype, variant), []).append(time.perf_counter() - start)
    functions = dict(inference=inference, train=train)
    print('| mode | dtype | fast paths | median ms | min | max | peak MB |')
    print('|---|---|---|---|---|---|---|')
    for (mode, dtype, variant), seconds in times.items():
        use(variant)
        peak = peak_memory_bytes(lambda step=functions[mode], dtype=dtype: step(dtype), torch.device('cpu')) / 2**20
        ms = [s * 1000 for s in seconds]
        print(
            f'| {mode} | {dtype} | {variant} | {statistics.median(ms):.0f} | {min(ms):.0f} | {max(ms):.0f} | '
            f'{peak:.1f} |'
        )
    use('all')


if __name__ == '__main__':
    main()
