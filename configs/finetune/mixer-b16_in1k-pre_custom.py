# Mixer-B/16 pretrained on ImageNet-1k (converted: docs/converters.md), fine-tuned on your own folder of images with
# big_vision's transfer protocol (docs/transfer.md) at 384 px.
#
#   mmmixer finetune checkpoints/mixer-b16_in1k.pth data/my_images [--val data/my_images_val] [--steps N]
#
# sets the folders, the number of classes (one per sub-folder: data/my_images/<class>/<image>), the backbone that
# the checkpoint holds, and steps and warm-up scaled to the folder's size (mmmixer/transfer/schedule.py). Without
# the command, set them yourself:
#   mmmixer train configs/finetune/mixer-b16_in1k-pre_custom.py --auto-scale-lr --cfg-options model.head.num_classes=K \
#       train_dataloader.dataset.data_root=DIR val_dataloader.dataset.data_root=VAL \
#       test_dataloader.dataset.data_root=VAL
_base_ = [
    '../_base_/models/mixer_b16.py',
    '_base_/transfer_protocol.py',
    '_base_/res384.py',
]
pretrained = 'checkpoints/mixer-b16_in1k.pth'
data_root = 'data/my_images'
val_root = 'data/my_images_val'
model = dict(
    backbone=dict(
        img_size=_base_.img_size,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.'),
    ),
    head=dict(num_classes=2),
)
train_dataloader = dict(
    batch_size=64,  # x 8 GPUs = 512; on other hardware, --auto-scale-lr scales the lr to the batch
    num_workers=4,
    dataset=dict(type='CustomDataset', data_root=data_root, pipeline=_base_.train_pipeline),
    # Iterations, not epochs: mmengine's loop pauses 2 s after every pass through a finite sampler (a small folder's
    # pass is a step or two).
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=4,
    dataset=dict(type='CustomDataset', data_root=val_root, pipeline=_base_.test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
)
test_dataloader = val_dataloader

# big_vision's small-data preset (Pets, Flowers: configs/transfer.py:75-77): 500 steps, 100 warm-up.
max_iters = 500
warmup_iters = 100
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters // 10)
param_scheduler = [
    dict(type='LinearLR', start_factor=1 / warmup_iters, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=False, begin=warmup_iters, end=max_iters),
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
