# Mixer-B/16 pretrained on ImageNet-1k (timm's or Google's weights, converted: docs/converters.md), fine-tuned on
# Oxford Flowers-102 at 384 px with big_vision's transfer protocol (docs/transfer.md).
# At 384 px the 24x24 token grid is no multiple of the pretrained 14x14, so the token-mixing weights are
# resampled bilinearly when they load (docs/transfer.md says why not token_mixing='window').
_base_ = [
    '../_base_/models/mixer_b16.py',
    '_base_/transfer_protocol.py',
    '_base_/flowers102.py',
    '_base_/res384.py',
]
# The backbone only (prefix backbone.): the head is new, zero-initialised, with this data set's classes.
pretrained = 'checkpoints/mixer-b16_in1k.pth'
model = dict(
    backbone=dict(
        img_size=_base_.img_size,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.'),
    ),
    head=dict(num_classes=_base_.num_classes),
)
train_dataloader = dict(dataset=dict(pipeline=_base_.train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=_base_.test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=_base_.test_pipeline))
