"""The Markdown table (and summary lines) of a benchmark report."""

from __future__ import annotations

from mmmixer.benchmark.settings import CHECKPOINTED, CONFIG_STEP


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
