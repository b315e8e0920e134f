# UPerNet with a Mixer-B/16 backbone (windowed token mixing) and MixerPyramidNeck on ADE20K (150 classes), 512x512
# crops, 8 GPUs x 2 images, 160k iterations. mmseg's ViT-B + UPerNet recipe (mmsegmentation
# configs/vit/vit_vit-b16_mln_upernet_8xb2-160k_ade20k-512x512.py): AdamW lr 6e-5, weight decay 0.01 and none on
# norms, 1,500 warm-up iterations then poly decay, UPerHead (512 channels, pool scales 1/2/3/6) + an auxiliary
# FCNHead on the last level, sliding-window inference over 512x512 crops. Plus layer-wise LR decay 0.9 over the 12
# blocks, as mmseg's BEiT-B UPerNet (configs/beit/beit-base_upernet_8xb2-160k_ade20k-640x640.py).
#
# Data: ADE20K in data/ade/ADEChallengeData2016 (images/ and annotations/, as mmseg's docs lay it out).
# Weights: checkpoints/mixer-b16_in1k.pth, converted from timm (../_base_/models/mixer_b16_featmap.py says how).
#   mmmixer train configs/segmentation/upernet_mixer-b16_pyramid_8xb2-160k_ade20k-512x512.py
#   bash tools/dist_train.sh configs/segmentation/upernet_mixer-b16_pyramid_8xb2-160k_ade20k-512x512.py 8
_base_ = [
    'mmseg::_base_/models/upernet_vit-b16_ln_mln.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
    '../_base_/models/mixer_b16_featmap.py',
]

crop_size = (512, 512)
num_classes = 150
model = dict(
    pretrained=None,  # the backbone loads its checkpoint through init_cfg
    # Mixer's ImageNet normalisation (timm's mixer_b16_224: mean = std = 0.5 of 255), RGB.
    data_preprocessor=dict(mean=[127.5] * 3, std=[127.5] * 3, bgr_to_rgb=True, size=crop_size),
    backbone={{_base_.mixer_backbone}},
    # Strides 4, 8, 16, 32 from the stride-16 map, 768 channels each (the place of ViT's MultiLevelNeck).
    neck=dict(
        _delete_=True,
        type='mmmixer.MixerPyramidNeck',
        in_channels=768,
        out_channels=768,
        scale_factors=(4.0, 2.0, 1.0, 0.5),
    ),
    decode_head=dict(in_channels=[768] * 4, num_classes=num_classes),
    auxiliary_head=dict(in_channels=768, in_index=3, num_classes=num_classes),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(341, 341)),
)

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    constructor='mmmixer.MixerLayerDecayOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(layer_decay_rate=0.9, norm_decay_mult=0.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, by_epoch=False, begin=1500, end=160000),
]

# 8 GPUs x 2 images (mmseg's ViT recipe); --auto-scale-lr rescales the LR for another total batch.
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
auto_scale_lr = dict(enable=False, base_batch_size=16)
