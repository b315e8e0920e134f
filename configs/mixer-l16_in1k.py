# Mixer-L/16 on ImageNet-1k (paper: https://arxiv.org/abs/2105.01601).
# timm's weights converted with tools/model_converters/timm_to_mmmixer.py are published at top-1 72.34 /
# top-5 88.02 with this test pipeline (MMClassification model zoo; see configs/metafile.yml).
_base_ = [
    '_base_/models/mixer_l16.py',
    '_base_/datasets/imagenet_bs64_mixer_224.py',
    '_base_/schedules/imagenet_bs4096_mixer_300e.py',
    '_base_/default_runtime.py',
]

model = dict(
    backbone=dict(drop_path_rate=0.1),  # stochastic depth 0.1 (paper's ImageNet-1k recipe)
    head=dict(loss=dict(type='CrossEntropyLoss', loss_weight=1.0, use_soft=True)),
    train_cfg=dict(augments=dict(type='Mixup', alpha=0.5)),
)
