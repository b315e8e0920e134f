"""`mmmixer demo-transfer` runs end to end (a shortened run: 1 shot, 1 seed, 2 steps) and ends with its line, its plot
and every number in a JSON file."""

import json

import pytest
import torch

from mmmixer.cli import demo_transfer
from mmmixer.models import MlpMixer
from tests.helpers import run_main

DEMO_ARCH = dict(embed_dims=64, num_layers=4, tokens_mlp_dims=32, channels_mlp_dims=256)  # configs/mixer-demo_digits.py


@pytest.mark.slow
def test_demo_transfer_ends_with_a_line_a_plot_and_the_numbers(tmp_path, digits_dir):
    backbone = MlpMixer(arch=DEMO_ARCH, img_size=32, patch_size=4)
    state = {f'backbone.{key}': value for key, value in backbone.state_dict().items()}
    torch.save({'state_dict': state}, tmp_path / 'pretrained.pth')
    work_dir = tmp_path / 'work'
    code, output = run_main(
        demo_transfer.main,
        *('--work-dir', work_dir, '--data-dir', digits_dir, '--pretrained', tmp_path / 'pretrained.pth'),
        *('--shots', 1, 2, '--seeds', 1, '--steps', 2),
    )
    assert code == 0, output
    last = output.strip().splitlines()[-1]
    assert last.startswith('Demo done in') and '1-shot upside-down digits: few-shot' in last, last
    assert (work_dir / 'transfer.png').read_bytes()[:4] == b'\x89PNG'
    results = json.loads((work_dir / 'results.json').read_text())
    for method in ('few-shot', 'fine-tuned'):
        for init in ('pretrained', 'random'):
            accuracies = results['accuracy'][method][init]
            assert sorted(accuracies) == ['1', '2'] and all(0 <= a[0] <= 1 for a in accuracies.values())
