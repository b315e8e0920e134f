"""MlpMixer against its references: timm's function, mmpretrain's weights and configs, the registry."""

import copy
from pathlib import Path

import pytest
import timm
import torch
from mmengine.registry import init_default_scope
from torch import nn

from mmmixer.models import MlpMixer
from mmmixer.models.utils import rename_mmpretrain_key
from tests.helpers import REPO, randomize_
from tests.test_models.tiny import TINY_ARCH, mmpretrain_classifier, tiny_mixer

# ----------------------------------------------------------------------------- parity
TIMM_VARIANTS = [
    ('mixer_s32_224', 's', 32),
    ('mixer_s16_224', 's', 16),
    ('mixer_b32_224', 'b', 32),
    ('mixer_b16_224', 'b', 16),
    ('mixer_l32_224', 'l', 32),
    ('mixer_l16_224', 'l', 16),
]


@pytest.mark.slow
@pytest.mark.parametrize(('timm_name', 'arch', 'patch'), TIMM_VARIANTS)
def test_matches_timm_final_features(timm_name, arch, patch):
    reference = randomize_(timm.create_model(timm_name, pretrained=False)).eval()
    ours = MlpMixer(arch=arch, patch_size=patch, out_type='raw').eval()
    backbone_state = {k: v for k, v in reference.state_dict().items() if not k.startswith('head.')}
    ours.load_state_dict(backbone_state, strict=True)

    images = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        expected = reference.forward_features(images)
        (actual,) = ours(images)
    assert actual.shape == expected.shape
    assert (actual - expected).abs().max().item() <= 1e-5


def test_default_numerics_follow_the_published_weights():
    model = MlpMixer(arch='s', patch_size=32)
    norms = [m for m in model.modules() if isinstance(m, nn.LayerNorm)]
    assert norms and all(norm.eps == 1e-6 for norm in norms)
    gelus = [m for m in model.modules() if isinstance(m, nn.GELU)]
    assert gelus and all(gelu.approximate == 'none' for gelu in gelus)
    tanh = MlpMixer(arch='s', patch_size=32, act_cfg=dict(type='GELU', approximate='tanh'))
    assert all(m.approximate == 'tanh' for m in tanh.modules() if isinstance(m, nn.GELU))


def test_mmpretrain_state_dict_loads_strictly_and_computes_the_same():
    """mmpretrain's own Mixer classifier (eps 1e-5, its key names) -> ours with its norm config."""
    theirs = randomize_(mmpretrain_classifier(dict(type='MlpMixer', arch=TINY_ARCH, img_size=32, patch_size=8))).eval()
    ours = mmpretrain_classifier(
        dict(type='mmmixer.MlpMixer', arch=TINY_ARCH, img_size=32, patch_size=8, norm_cfg=dict(type='LN'))
    ).eval()
    assert any(key.startswith('backbone.layers.0.token_mix') for key in theirs.state_dict())
    ours.load_state_dict(theirs.state_dict(), strict=True)

    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        (their_tokens,) = theirs.backbone(images)  # (B, C, N)
        (our_tokens,) = ours.backbone(images)  # the same layout by default
        assert our_tokens.shape == their_tokens.shape
        assert (our_tokens - their_tokens).abs().max() <= 1e-6
        assert torch.allclose(ours(images, mode='tensor'), theirs(images, mode='tensor'), atol=1e-6)


def test_docs_name_table_is_the_rename_applied_on_load():
    """Every row of the name table in docs/mmpretrain.md, read from the file: what the table promises is what loads."""
    import re

    rows = re.findall(r'^\| `([\w.]+)` \| `([\w.]+)` \|$', (REPO / 'docs' / 'mmpretrain.md').read_text(), re.M)
    assert len(rows) == 9
    for theirs, ours in rows:
        for suffix in ('weight', 'bias'):
            assert rename_mmpretrain_key(f'{theirs.replace("N", "7")}.{suffix}') == f'{ours.replace("N", "7")}.{suffix}'


def test_mmpretrain_key_renames():
    """Names as mmpretrain's checkpoints hold them, at several block indices; ours pass through."""
    assert rename_mmpretrain_key('patch_embed.projection.weight') == 'stem.proj.weight'
    assert rename_mmpretrain_key('patch_embed.norm.weight') == 'stem.norm.weight'
    assert rename_mmpretrain_key('layers.2.ln1.weight') == 'blocks.2.norm1.weight'
    assert rename_mmpretrain_key('layers.4.token_mix.layers.1.weight') == 'blocks.4.mlp_tokens.fc2.weight'
    assert rename_mmpretrain_key('layers.5.channel_mix.layers.0.0.weight') == 'blocks.5.mlp_channels.fc1.weight'
    assert rename_mmpretrain_key('layers.11.token_mix.layers.0.0.bias') == 'blocks.11.mlp_tokens.fc1.bias'
    assert rename_mmpretrain_key('layers.3.channel_mix.layers.1.weight') == 'blocks.3.mlp_channels.fc2.weight'
    assert rename_mmpretrain_key('layers.0.ln2.weight') == 'blocks.0.norm2.weight'
    assert rename_mmpretrain_key('ln1.bias') == 'norm.bias'
    assert rename_mmpretrain_key('blocks.0.norm1.weight') == 'blocks.0.norm1.weight'


# ----------------------------------------------------------------------------- registry
@pytest.mark.parametrize('scope', ['mmpretrain', 'mmdet'])
def test_builds_by_prefixed_name_from_other_scopes(scope):
    import mmdet.registry
    import mmpretrain.registry

    registry = {'mmpretrain': mmpretrain.registry.MODELS, 'mmdet': mmdet.registry.MODELS}[scope]
    init_default_scope(scope)
    model = registry.build(dict(type='mmmixer.MlpMixer', arch=TINY_ARCH, img_size=32, patch_size=8))
    assert isinstance(model, MlpMixer)


# ----------------------------------------------------------------------------- drop-in for mmpretrain
def mmpretrain_mixer_configs() -> list[Path]:
    import mmpretrain

    return sorted((Path(mmpretrain.__file__).parent / '.mim/configs/_base_/models').glob('mlp_mixer_*.py'))


def test_mmpretrain_ships_the_mixer_configs_we_test():
    assert [path.stem for path in mmpretrain_mixer_configs()] == ['mlp_mixer_base_patch16', 'mlp_mixer_large_patch16']


@pytest.mark.slow
@pytest.mark.parametrize('config', mmpretrain_mixer_configs(), ids=lambda path: path.stem)
def test_mmpretrains_own_mixer_configs_run_with_only_the_type_changed(config):
    from mmengine.config import Config
    from mmpretrain.registry import MODELS
    from mmpretrain.structures import DataSample

    cfg = Config.fromfile(config)
    their_model = copy.deepcopy(cfg.model)
    cfg.model.backbone.type = 'mmmixer.MlpMixer'
    init_default_scope('mmpretrain')
    ours, theirs = MODELS.build(cfg.model), MODELS.build(their_model)
    assert isinstance(ours.backbone, MlpMixer)
    ours.init_weights()  # their init_cfg (Kaiming on the stem) applies to ours too

    images = torch.randn(1, 3, 224, 224)
    samples = [DataSample().set_gt_label(3)]
    loss = ours.train()(images, samples, mode='loss')['loss']
    loss.backward()
    assert torch.isfinite(loss) and ours.backbone.stem.proj.weight.grad is not None

    # The same function as theirs, given their weights and the same LayerNorm eps (they build 1e-5, our
    # default is the 1e-6 the published weights were trained with).
    randomize_(theirs)
    for module in theirs.modules():
        if isinstance(module, nn.LayerNorm):
            module.eps = 1e-6
    ours.load_state_dict(theirs.state_dict(), strict=True)
    with torch.no_grad():
        expected = theirs.eval()(images, mode='tensor')
        actual = ours.eval()(images, mode='tensor')
    assert (actual - expected).abs().max() <= 1e-4 * expected.abs().max()


def test_a_partial_act_cfg_override_keeps_gelu():
    """`--cfg-options model.backbone.act_cfg.approximate=tanh` (README, docs) merges into no act_cfg at all."""
    backbone = tiny_mixer(act_cfg=dict(approximate='tanh'))
    acts = {type(m.act).__name__ + ':' + m.act.approximate for m in backbone.modules() if hasattr(m, 'act')}
    assert acts == {'GELU:tanh'}
