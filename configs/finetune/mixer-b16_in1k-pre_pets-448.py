# Mixer-B/16 pretrained on ImageNet-1k (timm's or Google's weights, converted: docs/converters.md), fine-tuned on
# Oxford-IIIT Pets at 448 px with big_vision's transfer protocol (docs/transfer.md).
# At 448 px the 28x28 token grid is 2 x 14, so the block-diagonal init of the paper's higher-resolution
# fine-tuning applies.
# The token-mixing MLPs are 4 times wider: one copy of the pretrained weights per 14x14 window, made when they load.
_base_ = [
    '../_base_/models/mixer_b16.py',
    '_base_/transfer_protocol.py',
    '_base_/pets.py',
    '_base_/res448.py',
]
# The backbone only (prefix backbone.): the head is new, zero-initialised, with this data set's classes.
pretrained = 'checkpoints/mixer-b16_in1k.pth'
model = dict(
    backbone=dict(
        arch=dict(_delete_=True, embed_dims=768, num_layers=12, tokens_mlp_dims=4 * 384, channels_mlp_dims=3072),
        img_size=_base_.img_size,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.'),
    ),
    head=dict(num_classes=_base_.num_classes),
)
train_dataloader = dict(dataset=dict(pipeline=_base_.train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=_base_.test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=_base_.test_pipeline))
