"""The benchmark tool (smoke mode: its output, not speed), the token-mixing picture, the digits data."""

import json

import pytest
import torch
from PIL import Image

from mmmixer.benchmark import forward_flops_per_image, peak_memory_bytes
from mmmixer.dataset_writers import prepare_digits
from tests.helpers import randomize_, run, run_main


@pytest.mark.slow
def test_benchmark_smoke_prints_a_table_and_writes_json(tmp_path):
    out = tmp_path / 'bench.json'
    _, output = run(
        'tools/analysis_tools/benchmark.py', '--smoke', '--pipeline', '--detection-cost', '--with-cp', '--json', out
    )
    rows = [line for line in output.splitlines() if line.startswith('| ') and 'implementation' not in line]
    # 3 implementations x (inference, train) + the config-built step + 2 checkpointed training steps
    assert len(rows) == 9
    assert 'mmmixer+cp: peak memory' in output and 'timm+cp: peak memory' in output
    assert 'mmmixer config-step: ' in output and 'the throughput of the bare mmmixer step' in output
    report = json.loads(out.read_text())
    assert set(report['matmul_gflops']) == {'inference', 'train'} and min(report['matmul_gflops'].values()) > 0
    assert report['test_pipeline_images_per_second'] > 0 and report['train_pipeline_images_per_second'] > 0
    assert 'train pipeline (decode + inception crop + flip + RandAugment, 2 workers)' in output
    assert set(report['detection_cost']['forward_seconds']) == {'window', 'bilinear_global'}
    assert 'backbone forward at 256x256' in output
    assert {(r['implementation'], r['mode']) for r in report['results']} == {
        (impl, mode) for impl in ('mmmixer', 'timm', 'mmpretrain') for mode in ('inference', 'train')
    } | {('mmmixer+cp', 'train'), ('timm+cp', 'train'), ('mmmixer config-step', 'train')}
    for result in report['results']:
        assert result['images_per_second'] > 0 and len(result['seconds_per_batch']) == 1
        assert 0 < result['matmul_fraction'] < 2
        assert result['peak_memory_mb'] > 0


def test_peak_memory_is_the_most_live_at_once_not_the_total_allocated():
    mib = 2**20

    def step():
        first = torch.ones(4 * mib, dtype=torch.uint8)
        second = torch.ones(2 * mib, dtype=torch.uint8)
        del first, second
        third = torch.ones(5 * mib, dtype=torch.uint8)
        del third

    peak = peak_memory_bytes(step, torch.device('cpu'))
    assert 6 * mib <= peak < 6 * mib + 4096


def test_forward_flops_match_the_published_count():
    # 2 x 12.61 G multiply-adds for B/16 at 224 (mmengine's counter, which skips norms and GELU).
    assert forward_flops_per_image('b16') / 2 == pytest.approx(12.61e9, rel=2e-3)


def test_vis_token_mixing_draws_the_units(tmp_path):
    from mmmixer.cli.vis_token_mixing import main
    from mmmixer.models import MlpMixer

    model = randomize_(MlpMixer(arch=dict(embed_dims=16, num_layers=2, tokens_mlp_dims=8, channels_mlp_dims=32)))
    checkpoint = tmp_path / 'model.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in model.state_dict().items()}}, checkpoint)
    png = tmp_path / 'units.png'
    code, output = run_main(main, checkpoint, '--out', png, '--block', 1)
    assert code == 0 and f'wrote {png}' in output
    with Image.open(png) as image:
        assert image.format == 'PNG' and image.width > 400
    code, output = run_main(main, checkpoint, '--out', tmp_path / 'x.png', '--block', 5)
    assert code == 2 and 'no token-mixing weights for block 5' in output and 'Traceback' not in output
    assert not (tmp_path / 'x.png').exists()


def test_prepare_digits_is_reused_and_never_clobbers(tmp_path):
    first = prepare_digits(str(tmp_path / 'digits'))
    assert prepare_digits(str(tmp_path / 'digits')) == first
    assert len(list((tmp_path / 'digits' / 'val').glob('*/*.png'))) == first['num_val'] == 359
    foreign = tmp_path / 'other'
    foreign.mkdir()
    (foreign / 'keep.txt').write_text('mine')
    with pytest.raises(FileExistsError, match='not a digits split'):
        prepare_digits(str(foreign))
    assert (foreign / 'keep.txt').read_text() == 'mine'
