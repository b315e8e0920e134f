# Shared by the Mixer-B/16 detection configs in this folder (mmdet 3.3, COCO).
# The backbone (windowed token mixing) and its pretrained weights: ../_base_/models/mixer_b16_featmap.py.
_base_ = ['../_base_/models/mixer_b16_featmap.py']

mixer_data_preprocessor = dict(
    type='DetDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3, bgr_to_rgb=True, pad_size_divisor=32
)
# AdamW with layer-wise LR decay over the 12 Mixer blocks (ViTDet-style fine-tuning).
mixer_optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    constructor='mmmixer.MixerLayerDecayOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.1),
    paramwise_cfg=dict(layer_decay_rate=0.7, norm_decay_mult=0.0, bias_decay_mult=0.0),
    clip_grad=dict(max_norm=1.0),
)
