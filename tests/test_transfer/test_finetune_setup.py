"""What ``mmmixer finetune`` makes of a checkpoint and a folder: the same backbone, the folder's classes, pipelines
at the resolution, token-mixing widths that let the pretrained weights load."""

import pytest
import torch
from mmengine.config import Config

from mmmixer.checkpoint import CheckpointError, load_checkpoint_safely
from mmmixer.models import MlpMixer
from mmmixer.transfer import finetune_overrides, read_pretrained_mixer, transfer_pipelines
from mmmixer.transfer.finetune import fine_tuning_arch
from mmmixer.transfer.folders import ClassFolders
from tests.helpers import REPO

ARCH = dict(embed_dims=24, num_layers=3, tokens_mlp_dims=12, channels_mlp_dims=48)


def save_mixer(path, head_classes=1000, img_size=32, patch_size=4):
    backbone = MlpMixer(arch=ARCH, img_size=img_size, patch_size=patch_size)
    state = {f'backbone.{key}': value for key, value in backbone.state_dict().items()}
    state['head.fc.weight'] = torch.zeros(head_classes, ARCH['embed_dims'])
    torch.save({'state_dict': state, 'meta': {}}, path)
    return str(path)


def test_the_backbone_is_read_from_the_weights(tmp_path):
    pretrained = read_pretrained_mixer(save_mixer(tmp_path / 'm.pth', head_classes=7, img_size=32, patch_size=4))
    assert pretrained.arch == ARCH and pretrained.patch_size == 4 and pretrained.img_size == 32
    assert pretrained.head_classes == 7


def test_a_checkpoint_of_another_model_is_refused(tmp_path):
    torch.save({'state_dict': {'backbone.conv1.weight': torch.zeros(3)}}, tmp_path / 'resnet.pth')
    with pytest.raises(CheckpointError, match='holds no Mixer backbone'):
        read_pretrained_mixer(str(tmp_path / 'resnet.pth'))


@pytest.mark.parametrize(('img_size', 'tokens_mlp_dims'), [(32, 12), (48, 12), (64, 48), (96, 108)])
def test_token_mixing_widens_only_for_whole_multiples_of_the_grid(tmp_path, img_size, tokens_mlp_dims):
    """8x8 pretrained grid: 12x12 keeps the width (bilinear), 16x16 and 24x24 widen 4 and 9 times (block-diagonal)."""
    pretrained = read_pretrained_mixer(save_mixer(tmp_path / 'm.pth'))
    arch = fine_tuning_arch(pretrained, img_size)
    assert arch == {**ARCH, 'tokens_mlp_dims': tokens_mlp_dims}
    model = MlpMixer(arch=arch, img_size=img_size, patch_size=4)
    incompatible = model.load_state_dict(
        {
            k[len('backbone.') :]: v
            for k, v in load_checkpoint_safely(tmp_path / 'm.pth')['state_dict'].items()
            if 'head' not in k
        }
    )
    assert not incompatible.missing_keys and not incompatible.unexpected_keys


@pytest.mark.parametrize('img_size', [224, 384, 448])
def test_pipelines_are_those_of_the_resolution_configs(img_size):
    base = Config.fromfile(REPO / f'configs/finetune/_base_/res{img_size}.py')
    assert transfer_pipelines(img_size) == (base.train_pipeline, base.test_pipeline)


def test_overrides_set_classes_folders_and_a_schedule_for_the_folder(tmp_path):
    pretrained = read_pretrained_mixer(save_mixer(tmp_path / 'm.pth'))
    train = ClassFolders(str(tmp_path / 'train'), ['a', 'b', 'c'], [10, 10, 10])
    val = ClassFolders(str(tmp_path / 'val'), ['a', 'b', 'c'], [2, 2, 2])
    overrides, schedule = finetune_overrides('m.pth', pretrained, train, val, img_size=32, batch_size=64)
    assert overrides['model.head.num_classes'] == 3 and overrides['model.head.in_channels'] == 24
    assert overrides['train_dataloader']['batch_size'] == 30  # the whole folder, not more
    assert tuple(schedule) == (500 * 512 // 30 + 1, 100 * 512 // 30 + 1)
    assert overrides['val_dataloader']['dataset']['data_root'] == val.root
    no_val, _ = finetune_overrides('m.pth', pretrained, train, None, img_size=32, batch_size=8, steps=20)
    assert 'val_dataloader' not in no_val and no_val['train_cfg']['max_iters'] == 20
