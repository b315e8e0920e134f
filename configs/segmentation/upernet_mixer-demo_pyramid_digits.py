# UPerNet on the digit canvases with the `make demo` Mixer (windowed token mixing) and MixerPyramidNeck:
# 11 classes (background + the 10 digits) per pixel. `make demo-seg` trains and tests it; see README,
# "As a segmentation backbone". mmseg's ViT + UPerNet layout (configs/vit/ in mmsegmentation), slimmed for 2 CPU cores.
_base_ = [
    'mmseg::_base_/models/upernet_vit-b16_ln_mln.py',
    'mmseg::_base_/default_runtime.py',
    './_base_/datasets/digits_segmentation.py',
    '../_base_/models/mixer_demo_featmap.py',
]

num_classes = 11
channels = 64  # neck and heads: mmseg's 512/768 would cost 60x more per iteration
norm_cfg = dict(type='BN', requires_grad=True)
# The classifiers start from PyTorch's default init, without dropout: with mmseg's Normal(std=0.01) init and dropout
# 0.1 the heads learned the background but not one digit class in 2,400 iterations (docs/segmentation.md).
head_cfg = dict(num_classes=num_classes, norm_cfg=norm_cfg, dropout_ratio=0.0, init_cfg=None)
model = dict(
    pretrained=None,  # the backbone loads its checkpoint through init_cfg
    data_preprocessor=dict(mean=[127.5] * 3, std=[127.5] * 3, bgr_to_rgb=False, size=(128, 128)),
    backbone={{_base_.mixer_backbone}},
    # Strides 4, 8, 16, 32 from the stride-4 map (the last two by pooling): digits are 16-48 px tall.
    neck=dict(
        _delete_=True,
        type='mmmixer.MixerPyramidNeck',
        in_channels=64,
        out_channels=channels,
        scale_factors=(1.0, 0.5),
        num_extra_levels=2,
    ),
    decode_head=dict(in_channels=[channels] * 4, channels=channels, **head_cfg),
    auxiliary_head=dict(in_channels=channels, in_index=2, channels=channels // 2, **head_cfg),
    test_cfg=dict(mode='whole'),
)

max_iters = 1000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0),
    clip_grad=dict(max_norm=10.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=100, end=max_iters, eta_min=1e-5),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1),
    visualization=dict(type='SegVisualizationHook', draw=False),
)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
