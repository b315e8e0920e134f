# Shared by the demo detection configs (digit canvases, `make demo-det`): the `make demo` Mixer, fine-tuned.
#
# Pretrained weights: the classification checkpoint that `make demo` writes (configs/mixer-demo_digits.py: 64 channels,
# 4 blocks, patch 4, trained on 32x32 digits, i.e. an 8x8 token grid). Any mmpretrain/mmmixer Mixer checkpoint with
# this arch loads; one trained on another grid is adapted when loaded (see README, "As a detection backbone").
#
# Size handling: token_mixing='window' applies the pretrained 8x8-token MLPs inside non-overlapping 32x32-pixel
# windows of the 128x128 canvas (4x4 windows): the checkpoint loads as it is, no new parameters.
_base_ = ['mmdet::_base_/default_runtime.py']

pretrained = 'work_dirs/demo/epoch_15.pth'
custom_imports = dict(imports=['mmmixer'], allow_failed_imports=False)

mixer_backbone = dict(
    _delete_=True,
    type='mmmixer.MlpMixer',
    arch=dict(embed_dims=64, num_layers=4, tokens_mlp_dims=32, channels_mlp_dims=256),
    img_size=32,
    patch_size=4,
    token_mixing='window',
    out_indices=(-1,),
    out_type='featmap',
    init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.'),
)
# Same normalisation as the classification demo (grey canvases, so no channel swap).
mixer_data_preprocessor = dict(
    type='DetDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3, bgr_to_rgb=False, pad_size_divisor=32
)
# The slim neck and heads (64 channels instead of mmdet's 256) keep an iteration well under a second on 2 CPU cores.
neck_channels = 64

max_epochs = 8
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs, eta_min=1e-5, convert_to_iter_based=True),
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0),
    clip_grad=dict(max_norm=10.0),
)
auto_scale_lr = dict(enable=False, base_batch_size=8)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=25),
    checkpoint=dict(type='CheckpointHook', interval=max_epochs, max_keep_ckpts=1),
)
randomness = dict(seed=0)
