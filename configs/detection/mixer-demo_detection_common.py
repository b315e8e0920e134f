# Shared by the demo detection configs (digit canvases, `make demo-det`): the `make demo` Mixer, fine-tuned.
# The backbone and its pretrained weights: ../_base_/models/mixer_demo_featmap.py.
_base_ = ['mmdet::_base_/default_runtime.py', '../_base_/models/mixer_demo_featmap.py']

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
