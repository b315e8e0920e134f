"""The user's main job, run as users run it: tools/*.py in subprocesses."""

import json
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.helpers import REPO, TINY_DEMO_MODEL, ShellPayload, run, run_main


def make_imagenet_tree(root: Path, num_classes: int = 2, per_class: int = 2) -> Path:
    """A tiny dataset in mmpretrain's ImageNet layout: {train,val}/<wnid>/*.JPEG + meta/{train,val}.txt."""
    rng = np.random.default_rng(0)
    (root / 'meta').mkdir(parents=True)
    for split in ('train', 'val'):
        lines = []
        for label in range(num_classes):
            folder = root / split / f'n{label:08d}'
            folder.mkdir(parents=True)
            for i in range(per_class):
                pixels = rng.integers(0, 256, size=(240 + 16 * i, 260, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f'{i}.JPEG', quality=90)
                lines.append(f'n{label:08d}/{i}.JPEG {label}')
        (root / 'meta' / f'{split}.txt').write_text('\n'.join(lines) + '\n')
    return root


def imagenet_overrides(root: Path) -> list[str]:
    return [
        *(f'{loader}.dataset.data_root={root}' for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')),
        *(f'{loader}.num_workers=0' for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')),
        *(f'{loader}.batch_size=2' for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')),
    ]


# ----------------------------------------------------------------------------- B/16 config end to end
@pytest.mark.slow
def test_train_then_test_the_b16_config(tmp_path):
    data = make_imagenet_tree(tmp_path / 'imagenet')
    work_dir = tmp_path / 'work'
    overrides = [
        *imagenet_overrides(data),
        'train_cfg.max_epochs=2',
        'train_cfg.val_interval=2',
        'param_scheduler.0.end=1',  # the paper's warm-up + linear decay, shrunk to 1 + 1 epochs
        'param_scheduler.1.begin=1',
        'param_scheduler.1.end=2',
        'default_hooks.logger.interval=1',
    ]
    _, output = run(
        'tools/train.py', REPO / 'configs/mixer-b16_in1k.py', '--work-dir', work_dir, '--cfg-options', *overrides
    )
    checkpoint = work_dir / 'epoch_2.pth'
    assert checkpoint.is_file(), output
    assert 'accuracy/top1' in output  # validation ran during training

    metrics_file = tmp_path / 'metrics.json'
    _, output = run(
        'tools/test.py', REPO / 'configs/mixer-b16_in1k.py', checkpoint, '--work-dir', work_dir, '--out',
        metrics_file, '--cfg-options', *imagenet_overrides(data),
    )  # fmt: skip
    metrics = json.loads(metrics_file.read_text())
    assert set(metrics) == {'accuracy/top1', 'accuracy/top5'}
    # --out holds what the run printed; 4 validation images make top-1 a multiple of 25 %.
    printed = re.search(r'Test results for .*: accuracy/top1=([\d.]+), accuracy/top5=([\d.]+)', output)
    assert printed, output
    assert f'{metrics["accuracy/top1"]:.2f}' == printed[1] and f'{metrics["accuracy/top5"]:.2f}' == printed[2]
    assert metrics['accuracy/top1'] % 25 == 0


def test_missing_dataset_fails_fast_with_the_fix(tmp_path):
    from mmmixer.cli.train import main

    code, output = run_main(main, REPO / 'configs/mixer-b16_in1k.py', '--work-dir', tmp_path)
    assert code == 2
    assert 'dataset not found' in output
    assert os.path.abspath('data/imagenet/train') in output or 'data/imagenet/train' in output
    assert '--data-root /path/to/data' in output
    assert 'Traceback' not in output


# ----------------------------------------------------------------------------- demo config: resume, DDP
def deterministic_demo_config(tmp_path: Path, digits: Path) -> Path:
    """The demo config with its random crop removed, so that runs can be compared bit for bit."""
    config = tmp_path / 'demo_deterministic.py'
    config.write_text(
        f"_base_ = ['{REPO / 'configs/mixer-demo_digits.py'}']\n"
        "train_dataloader = dict(dataset=dict(data_root='{digits}', pipeline=[dict(type='LoadImageFromFile'), "
        "dict(type='PackInputs')]), sampler=dict(shuffle=True))\n".format(digits=digits)
        + f"val_dataloader = dict(dataset=dict(data_root='{digits}'))\n"
        + f"test_dataloader = dict(dataset=dict(data_root='{digits}'))\n"
        + "param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=3, eta_min=1e-5)]\n"
        + 'train_cfg = dict(max_epochs=3, val_interval=10)\n'
        + 'default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=5))\n'
    )
    return config


def load_state(path: Path) -> dict:
    from mmmixer.checkpoint import load_checkpoint_safely  # a Runner checkpoint needs our allow-list

    return load_checkpoint_safely(path, map_location='cpu')['state_dict']


@pytest.mark.slow
def test_resume_gives_identical_weights(tmp_path, digits_dir):
    config = deterministic_demo_config(tmp_path, digits_dir)
    straight, interrupted = tmp_path / 'straight', tmp_path / 'interrupted'
    run('tools/train.py', config, '--work-dir', straight, '--cfg-options', *TINY_DEMO_MODEL)
    run(
        'tools/train.py', config, '--work-dir', interrupted, '--cfg-options', *TINY_DEMO_MODEL, 'train_cfg.max_epochs=2'
    )
    assert not (interrupted / 'epoch_3.pth').exists()
    _, output = run(
        'tools/train.py', config, '--work-dir', interrupted, '--resume', interrupted / 'epoch_2.pth',
        '--cfg-options', *TINY_DEMO_MODEL,
    )  # fmt: skip
    assert 'resumed epoch: 2' in output.lower() or 'Load checkpoint from' in output
    expected, actual = load_state(straight / 'epoch_3.pth'), load_state(interrupted / 'epoch_3.pth')
    assert expected.keys() == actual.keys()
    for key in expected:
        assert torch.equal(expected[key], actual[key]), key
    # And it really trained: the weights moved away from the first epoch's.
    assert not torch.equal(load_state(straight / 'epoch_1.pth')['head.fc.weight'], expected['head.fc.weight'])

    # The trained checkpoint also serves demo/image_demo.py: five ranked classes with the dataset's names.
    image = sorted((digits_dir / 'val' / '3').glob('*.png'))[0]
    _, output = run('demo/image_demo.py', image, config, straight / 'epoch_3.pth', '--cfg-options', *TINY_DEMO_MODEL)
    ranked = re.findall(r'([1-5])\. (\S+) \(class (\d)\): ([\d.]+)', output)
    assert [rank for rank, *_ in ranked] == ['1', '2', '3', '4', '5']
    assert all(name == label for _, name, label, _ in ranked)  # the digits' class names are their labels


@pytest.mark.slow
def test_two_process_ddp_matches_one_process(tmp_path, digits_dir):
    config = deterministic_demo_config(tmp_path, digits_dir)
    # SGD: Adam's normalised steps would turn rounding noise in near-zero gradients into lr-sized
    # differences, hiding whether the two runs really computed the same gradients.
    common = [
        *TINY_DEMO_MODEL,
        'train_cfg.max_epochs=1',
        'train_dataloader.sampler.shuffle=False',
        'optim_wrapper.optimizer.type=SGD',
        'optim_wrapper.optimizer.lr=0.05',
        'optim_wrapper.optimizer.momentum=0.9',
    ]
    run('tools/train.py', config, '--work-dir', tmp_path / 'single', '--cfg-options', *common,
        'train_dataloader.batch_size=32')  # fmt: skip
    _, output = run(
        'bash', 'tools/dist_train.sh', config, 2, '--work-dir', tmp_path / 'ddp', '--cfg-options', *common,
        'train_dataloader.batch_size=16', env={'PYTHON': sys.executable, 'PORT': '29731', 'OMP_NUM_THREADS': '1'},
    )  # fmt: skip
    assert 'Distributed training: True' in output and 'GPU number: 2' in output  # mmengine's words for 2 processes
    single, ddp = load_state(tmp_path / 'single' / 'epoch_1.pth'), load_state(tmp_path / 'ddp' / 'epoch_1.pth')
    for key in single:
        assert torch.allclose(single[key], ddp[key], atol=1e-5, rtol=1e-4), key


# ----------------------------------------------------------------------------- safe checkpoints
@pytest.mark.slow
@pytest.mark.parametrize('tool', ['test', 'train --resume'])
def test_malicious_checkpoint_is_refused_and_never_runs(tmp_path, digits_dir, tool):
    marker = tmp_path / 'pwned'
    evil = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': ShellPayload(marker)}, evil)
    data = [f'{loader}.dataset.data_root={digits_dir}' for loader in ('train_dataloader', 'val_dataloader')]
    data.append(f'test_dataloader.dataset.data_root={digits_dir}')
    config = REPO / 'configs/mixer-demo_digits.py'
    command = ['tools/test.py', config, evil] if tool == 'test' else ['tools/train.py', config, '--resume', evil]
    code, output = run(*command, '--work-dir', tmp_path / 'w', '--cfg-options', *data, check=False)
    assert code == 2, output
    assert 'refusing to load' in output and 'posix.system' in output and 'Traceback' not in output
    assert not marker.exists()


def test_publish_model_strips_training_state(tmp_path):
    source = tmp_path / 'epoch_1.pth'
    torch.save(
        {'meta': {'epoch': 1}, 'state_dict': {'w': torch.ones(2)}, 'optimizer': {'x': 1}, 'message_hub': {}}, source
    )
    from mmmixer.cli.publish import main

    code, output = run_main(main, source, tmp_path / 'mixer.pth')
    assert code == 0, output
    (published,) = tmp_path.glob('mixer-*.pth')
    assert published.name in output and len(published.stem.split('-')[-1]) == 8
    content = torch.load(published, weights_only=True)
    assert set(content) == {'meta', 'state_dict'}


# ----------------------------------------------------------------------------- analysis
# FLOPs here are multiply-adds (one multiply-add = 1 FLOP), as in OpenMMLab's model zoos.
ARCH_DIMS = {'b': (768, 12, 384, 3072), 'l': (1024, 24, 512, 4096), 'tiny': (64, 2, 32, 128)}


def analytic_flops(arch: str, patch: int, ops_per_norm_element: int, size: int = 224, classes: int = 1000) -> int:
    """Multiply-adds of the stem convolution, the token and channel MLPs and the head, plus
    ``ops_per_norm_element`` for each element that a LayerNorm normalises (2L + 1 norms of N x C)."""
    channels, layers, tokens_hidden, channels_hidden = ARCH_DIMS[arch]
    tokens = (size // patch) ** 2
    stem = tokens * channels * 3 * patch * patch
    token_mlp = channels * (tokens * tokens_hidden + tokens_hidden * tokens)
    channel_mlp = tokens * (channels * channels_hidden + channels_hidden * channels)
    head = channels * classes
    norm_elements = (2 * layers + 1) * tokens * channels
    return stem + layers * (token_mlp + channel_mlp) + head + ops_per_norm_element * norm_elements


def printed_counts(output: str) -> dict[str, float | int]:
    """get_flops.py's 'Params: 59.88 M (59,880,472)' and 'FLOPs: 12.62 G (12,619,...)' lines."""
    params = re.search(r'Params: ([\d.]+) M \(([\d,]+)\)', output)
    flops = re.search(r'FLOPs: ([\d.]+) G \(([\d,]+)\)', output)
    assert params and flops, output
    return dict(
        params_m=float(params[1]),
        params=int(params[2].replace(',', '')),
        gflops=float(flops[1]),
        flops=int(flops[2].replace(',', '')),
    )


def metafile_models() -> dict[str, dict]:
    import yaml

    return {m['Name']: m for m in yaml.safe_load((REPO / 'configs/metafile.yml').read_text())['Models']}


def readme_table_row(config: str) -> list[str]:
    readme = (REPO / 'README.md').read_text()
    row = re.search(rf'^\| `{re.escape(config)}` \|(.*)\|$', readme, flags=re.MULTILINE)
    assert row, f'no README table row for {config}'
    return [cell.strip() for cell in row[1].split('|')]


def test_mmengine_counts_multiply_adds_and_five_ops_per_norm_element():
    """The rule get_flops.py follows, measured on a small Mixer with the counter it uses."""
    from mmengine.config import Config

    from mmmixer.analysis import measure_complexity

    cfg = Config.fromfile(REPO / 'configs/mixer-b16_in1k.py', import_custom_modules=False)
    channels, layers, tokens_hidden, channels_hidden = ARCH_DIMS['tiny']  # quick to trace; B/16 is the slow test
    cfg.model.backbone.arch = dict(
        embed_dims=channels, num_layers=layers, tokens_mlp_dims=tokens_hidden, channels_mlp_dims=channels_hidden
    )
    cfg.model.head.in_channels = channels
    assert measure_complexity(cfg).flops == analytic_flops('tiny', 16, ops_per_norm_element=5)


def test_mmclassifications_published_flops_are_the_same_multiply_adds_with_two_ops_per_norm_element():
    """The published 12.61 G / 44.57 G (MMClassification 0.x, mmcv 1.x's counter; mmpretrain's metafile
    still carries them) are the same multiply-adds with 2 ops per LayerNorm element, to their 2 decimals."""
    import mmpretrain
    import yaml

    metafile = Path(mmpretrain.__file__).parent / '.mim/configs/mlp_mixer/metafile.yml'
    published = {m['Name']: m['Metadata']['FLOPs'] for m in yaml.safe_load(metafile.read_text())['Models']}
    for size, arch in [('base', 'b'), ('large', 'l')]:
        name = f'mlp-mixer-{size}-p16_3rdparty_64xb64_in1k'
        assert abs(analytic_flops(arch, 16, ops_per_norm_element=2) - published[name]) <= 0.005e9, name


@pytest.mark.slow
@pytest.mark.parametrize(
    ('config', 'name', 'arch'),
    [
        ('configs/mixer-b16_in1k.py', 'mixer-b16_in1k', 'b'),
        ('configs/mixer-l16_in1k.py', 'mixer-l16_in1k', 'l'),
    ],
)
def test_metafile_and_readme_state_what_get_flops_prints(config, name, arch):
    _, output = run('tools/analysis_tools/get_flops.py', config)
    printed = printed_counts(output)
    assert printed['flops'] == analytic_flops(arch, 16, ops_per_norm_element=5)
    metadata = metafile_models()[name]['Metadata']
    assert (metadata['Parameters'], metadata['FLOPs']) == (printed['params'], printed['flops'])
    params_cell, flops_cell, _ = readme_table_row(config)
    assert params_cell == f'{printed["params_m"]:.2f} M'
    assert flops_cell == f'{printed["gflops"]:.2f} G'


def analytic_params(arch: str, patch: int, size: int = 224, classes: int = 1000) -> int:
    """Weights and biases of the stem, the blocks (two LayerNorms, two MLPs), the final LayerNorm and the head."""
    channels, layers, tokens_hidden, channels_hidden = ARCH_DIMS[arch]
    tokens = (size // patch) ** 2

    def mlp(features: int, hidden: int) -> int:
        return 2 * features * hidden + hidden + features

    block = 2 * 2 * channels + mlp(tokens, tokens_hidden) + mlp(channels, channels_hidden)
    return (3 * patch * patch + 1) * channels + layers * block + 2 * channels + (channels + 1) * classes


def test_metafile_matches_the_configs_and_mmclassifications_published_results():
    """Our metafile's accuracies are MMClassification's for the converted timm weights (mmpretrain ships its
    table), and its parameter counts are the architecture's."""
    import mmpretrain

    index = yaml_load(REPO / 'model-index.yml')
    assert index['Import'] == ['configs/metafile.yml']
    ours = metafile_models()
    published = yaml_load(Path(mmpretrain.__file__).parent / '.mim/configs/mlp_mixer/metafile.yml')['Models']
    published = {m['Name']: m for m in published}
    for name, their_name, arch in [
        ('mixer-b16_in1k', 'mlp-mixer-base-p16_3rdparty_64xb64_in1k', 'b'),
        ('mixer-l16_in1k', 'mlp-mixer-large-p16_3rdparty_64xb64_in1k', 'l'),
    ]:
        assert (REPO / ours[name]['Config']).is_file()
        assert ours[name]['Metadata']['Parameters'] == analytic_params(arch, 16)
        assert ours[name]['Results'][0]['Metrics'] == published[their_name]['Results'][0]['Metrics']
        assert ours[name]['Weights'] == published[their_name]['Weights']  # the file those results were measured on


def yaml_load(path: Path):
    import yaml

    return yaml.safe_load(path.read_text())


def test_no_validate_accepts_options_for_the_validation_it_removes():
    # Used to be a raw TypeError from mmengine: the val_dataloader option was merged into None.
    from mmmixer.cli.train import apply_flags, build_parser
    from mmmixer.config.read import load_config

    config = str(REPO / 'configs/mixer-demo_digits.py')
    args = build_parser().parse_args([config, '--no-validate', '--cfg-options', 'val_dataloader.batch_size=4'])
    cfg = load_config(config)
    apply_flags(cfg, args)
    assert cfg.val_dataloader is None and cfg.val_cfg is None and cfg.val_evaluator is None
