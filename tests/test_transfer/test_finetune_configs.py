"""Every fine-tuning config builds, loads a pretrained backbone through init_cfg and trains (slow: B/16 and L/16)."""

import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from PIL import Image

from mmmixer.models import MlpMixer
from tests.helpers import REPO

CONFIGS = sorted(
    osp.relpath(path, REPO / 'configs')
    for path in glob.glob(str(REPO / 'configs/finetune/mixer-*.py'))
    if not path.endswith('_custom.py')
)


def test_every_arch_dataset_and_resolution_has_a_config():
    expected = {
        f'finetune/mixer-{arch}_in1k-pre_{data}-{res}.py'
        for arch in ('b16', 'l16')
        for data in ('cifar10', 'cifar100', 'pets', 'flowers102')
        for res in (224, 384, 448)
    }
    assert set(CONFIGS) == expected


@pytest.fixture(scope='module')
def image_folder(tmp_path_factory):
    """3 classes x 2 small images of odd sizes (the pipelines resize and crop them)."""
    root = tmp_path_factory.mktemp('images')
    for label in range(3):
        (root / f'class{label}').mkdir()
        for i in range(2):
            Image.new('RGB', (40 + 7 * i, 30), (80 * label, 60 * i, 20)).save(root / f'class{label}' / f'{i}.png')
    return str(root)


@pytest.fixture(scope='module')
def pretrained(tmp_path_factory):
    """Random B/16 and L/16 checkpoints at 224 px (14x14 token grid) with a 1000-class head, as converted."""
    root, paths = tmp_path_factory.mktemp('checkpoints'), {}

    def make(arch: str) -> tuple[str, dict]:
        if arch not in paths:
            torch.manual_seed(0)
            backbone = MlpMixer(arch=arch[0], img_size=224, patch_size=16)
            state = {f'backbone.{key}': value for key, value in backbone.state_dict().items()}
            state['head.fc.weight'] = torch.randn(1000, backbone.embed_dims)
            state['head.fc.bias'] = torch.randn(1000)
            paths[arch] = (str(root / f'{arch}.pth'), state)
            torch.save({'state_dict': state}, paths[arch][0])
        return paths[arch]

    return make


def small_run(cfg: Config, folder: str, checkpoint: str, work_dir: str) -> Config:
    """The config on the synthetic folder, 2 iterations at batch 2, validating at the end."""
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[name]
        loader.dataset = dict(type='CustomDataset', data_root=folder, pipeline=loader.dataset.pipeline)
        loader.update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.model.backbone.init_cfg.checkpoint = checkpoint
    cfg.train_cfg.update(max_iters=2, val_interval=2)
    cfg.default_hooks.checkpoint.interval = 2
    cfg.work_dir = work_dir
    return cfg


@pytest.mark.slow
@pytest.mark.parametrize('config', CONFIGS)
def test_config_trains_two_iterations_from_the_pretrained_backbone(config, image_folder, pretrained, tmp_path):
    from mmengine.runner import Runner

    import mmmixer  # noqa: F401

    cfg = Config.fromfile(REPO / 'configs' / config)
    assert cfg.load_from is None and cfg.model.backbone.init_cfg.prefix == 'backbone.'
    assert cfg.optim_wrapper.optimizer.type == 'SGD' and cfg.optim_wrapper.optimizer.weight_decay == 0
    arch = 'b16' if '-b16_' in config else 'l16'
    checkpoint, state = pretrained(arch)
    runner = Runner.from_cfg(small_run(cfg, image_folder, checkpoint, str(tmp_path)))
    runner.train()

    model = runner.model
    img_size = cfg.model.backbone.img_size
    assert model.backbone.patch_resolution == (img_size // 16,) * 2
    # The head is new (this data set's classes) and starts at zero; 2 warm-up steps barely move anything.
    assert model.head.fc.weight.shape[0] == cfg.model.head.num_classes != 1000
    assert model.head.fc.weight.abs().max() < 1e-3
    channel_mlp = model.backbone.blocks[0].mlp_channels.fc1.weight
    torch.testing.assert_close(channel_mlp, state['backbone.blocks.0.mlp_channels.fc1.weight'], atol=1e-3, rtol=0)
    token_fc1 = model.backbone.blocks[0].mlp_tokens.fc1.weight
    pretrained_fc1 = state['backbone.blocks.0.mlp_tokens.fc1.weight']
    if img_size == 224:
        torch.testing.assert_close(token_fc1, pretrained_fc1, atol=1e-3, rtol=0)
    elif img_size == 448:  # block-diagonal: window (0, 0) of the 28x28 grid holds the pretrained weights
        hidden = pretrained_fc1.shape[0]
        assert token_fc1.shape == (4 * hidden, 28 * 28)
        window = token_fc1[:hidden].reshape(hidden, 28, 28)[:, :14, :14].reshape(hidden, 196)
        torch.testing.assert_close(window, pretrained_fc1, atol=1e-3, rtol=0)
        assert token_fc1[:hidden].reshape(hidden, 28, 28)[:, 14:, :].abs().max() < 1e-3
    else:  # bilinear, the same width
        assert token_fc1.shape == (pretrained_fc1.shape[0], 24 * 24)
    assert osp.isfile(osp.join(tmp_path, 'iter_2.pth'))
