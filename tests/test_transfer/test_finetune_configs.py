"""Every fine-tuning config builds, loads a pretrained backbone through init_cfg and trains 2 iterations.

B/16 runs at full size at 224 and 384 px; the other configs (L/16, 448 px) with a tiny width and depth but their
own patch, resolution, token-mixing growth, data pipelines, head and protocol: at full size they take minutes each on
2 CPU cores (L/16 at 448 px about 4 minutes)."""

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


TINY = dict(embed_dims=16, num_layers=2, tokens_mlp_dims=8, channels_mlp_dims=32)
FULL_SIZE = {'finetune/mixer-b16_in1k-pre_cifar10-224.py', 'finetune/mixer-b16_in1k-pre_cifar10-384.py'}


def tiny_arch(cfg: Config) -> dict:
    """TINY, with the token-mixing width grown as much as the config grows its arch's (4x at 448 px)."""
    arch = cfg.model.backbone.arch
    growth = (
        1
        if isinstance(arch, str)
        else arch['tokens_mlp_dims'] // MlpMixer.arch_zoo[cfg_arch_name(cfg)]['tokens_mlp_dims']
    )
    return {**TINY, 'tokens_mlp_dims': TINY['tokens_mlp_dims'] * growth}


def cfg_arch_name(cfg: Config) -> str:
    return 'b' if cfg.model.head.in_channels == 768 else 'l'


@pytest.fixture(scope='module')
def pretrained(tmp_path_factory):
    """Random checkpoints at 224 px (14x14 token grid) with a 1000-class head, as the converters write them."""
    root, paths = tmp_path_factory.mktemp('checkpoints'), {}

    def make(arch) -> tuple[str, dict]:
        name = arch if isinstance(arch, str) else 'tiny'
        if name not in paths:
            torch.manual_seed(0)
            backbone = MlpMixer(arch=arch, img_size=224, patch_size=16)
            state = {f'backbone.{key}': value for key, value in backbone.state_dict().items()}
            state['head.fc.weight'] = torch.randn(1000, backbone.embed_dims)
            state['head.fc.bias'] = torch.randn(1000)
            paths[name] = (str(root / f'{name}.pth'), state)
            torch.save({'state_dict': state}, paths[name][0])
        return paths[name]

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
    assert cfg_arch_name(cfg) == config.split('-')[1][0]  # b16 -> B, l16 -> L
    if config in FULL_SIZE:  # B/16 itself at 224 and 384 px; the others at a tiny width and depth (2 CPU cores)
        checkpoint, state = pretrained(cfg_arch_name(cfg))
    else:
        cfg.model.backbone.arch = tiny_arch(cfg)
        cfg.model.head.in_channels = TINY['embed_dims']
        checkpoint, state = pretrained(TINY)
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
