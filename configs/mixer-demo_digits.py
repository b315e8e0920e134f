# The embedded demo (`make demo`): a small Mixer trained on scikit-learn's real handwritten digits,
# written as an ImageNet-style folder tree by tools/dataset_converters/prepare_digits.py.
# 1,438 training and 359 held-out 32x32 images, 10 classes; about a minute on 2 CPU cores.
_base_ = ['_base_/default_runtime.py']

custom_imports = dict(imports=['mmmixer'], allow_failed_imports=False)
data_root = 'data/digits'
img_size = 32

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='mmmixer.MlpMixer',
        arch=dict(embed_dims=64, num_layers=4, tokens_mlp_dims=32, channels_mlp_dims=256),
        img_size=img_size,
        patch_size=4,
    ),
    neck=dict(type='GlobalAveragePooling', dim=1),  # the backbone returns (B, C, N) tokens
    head=dict(type='LinearClsHead', num_classes=10, in_channels=64, loss=dict(type='CrossEntropyLoss')),
)
data_preprocessor = dict(num_classes=10, mean=[127.5] * 3, std=[127.5] * 3, to_rgb=False)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=img_size, crop_ratio_range=(0.8, 1.0), aspect_ratio_range=(0.9, 1.1)),
    dict(type='PackInputs'),
]
# Any image becomes the model's 32x32 as the scans were made: the whole image resized, its aspect ratio not kept
# (bilinear, as RandomResizedCrop resizes in training); a 32x32 scan passes unchanged. Any mode (RGBA, 16-bit,
# CMYK, palette ...) is decoded to 3 channels by the command lines' image loader (mmmixer.images).
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(img_size, img_size), keep_ratio=False, interpolation='bilinear'),
    dict(type='PackInputs'),
]
# No worker processes (the data is small): persistent_workers stays False, which mmpretrain's own tools/train.py would
# otherwise turn on for every loader (torch refuses it with num_workers=0).
train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,
    collate_fn=dict(type='default_collate'),  # one uint8 batch tensor, normalised at once
    dataset=dict(type='CustomDataset', data_root=data_root, data_prefix='train', pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=120,
    num_workers=0,
    persistent_workers=False,
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='CustomDataset', data_root=data_root, data_prefix='val', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1,))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05), clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=2, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=2, end=15, eta_min=1e-5),
]
train_cfg = dict(by_epoch=True, max_epochs=15, val_interval=5)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=15),
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=1),
)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0, deterministic=True)
